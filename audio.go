package mpegserver

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// AudioSource says where a stream's audio track comes from.
type AudioSource int

const (
	// NoAudio: the stream has no audio track (the default).
	NoAudio AudioSource = iota
	// SilentAudio: a silent track the library makes itself, on the
	// stream's time line, as long as the video: for servers and platforms
	// that refuse a stream without audio.
	SilentAudio
	// ServedAudio: samples the program serves with ServeAudio, on the
	// same time line as the frames; silence fills in where none come in
	// time.
	ServedAudio
)

func (a AudioSource) String() string {
	switch a {
	case NoAudio:
		return "none"
	case SilentAudio:
		return "silent"
	case ServedAudio:
		return "served"
	}
	return fmt.Sprintf("AudioSource(%d)", int(a))
}

// AudioConfig describes a stream's audio track. The track is encoded at
// 48 kHz with Channels channels: AAC-LC, or Opus where the output wants
// it (WebM); docs/outputs.md has the codec of each output.
type AudioConfig struct {
	Source AudioSource
	// Rate is the sample rate of the samples ServeAudio takes, 8000 to
	// 96000 (0: 48000); they are resampled to 48 kHz.
	Rate int
	// Channels is how many channels the samples interleave, 1 or 2
	// (0: 2), and the track has.
	Channels int
	// BitRate is the audio encoder's, in kbit/s, 8 to 320 (0: 128).
	BitRate int
}

// Audio track defaults and bounds.
const (
	DefaultAudioRate     = 48000
	DefaultAudioChannels = 2
	DefaultAudioBitRate  = 128 // kbit/s
	// maxAudioChunk bounds the samples one ServeAudio call may hand
	// over: they are copied at once.
	maxAudioChunk = 10 * time.Second
)

// Silence is a silent audio track made by the library: Audio(Silence()).
func Silence() AudioConfig { return AudioConfig{Source: SilentAudio} }

// Samples is an audio track of samples served with ServeAudio,
// interleaved signed 16-bit little-endian at rate with channels:
// Audio(Samples(48000, 2)).
func Samples(rate, channels int) AudioConfig {
	return AudioConfig{Source: ServedAudio, Rate: rate, Channels: channels}
}

// Audio sets the stream's audio track (default: none); see AudioConfig.
func Audio(a AudioConfig) Option { return func(c *Config) { c.Audio = a } }

// on says whether the stream has an audio track.
func (a AudioConfig) on() bool { return a.Source != NoAudio }

func (a AudioConfig) rate() int     { return cmp.Or(a.Rate, DefaultAudioRate) }
func (a AudioConfig) channels() int { return cmp.Or(a.Channels, DefaultAudioChannels) }
func (a AudioConfig) bitRate() int  { return cmp.Or(a.BitRate, DefaultAudioBitRate) }

// frameBytes is the size of one sample of every channel.
func (a AudioConfig) frameBytes() int { return 2 * a.channels() }

// duration is how long samples of this track's layout last.
func (a AudioConfig) duration(pcm []byte) time.Duration {
	return samplesDuration(int64(len(pcm)/a.frameBytes()), a.rate())
}

// validate says what is wrong with the audio settings, nil if nothing.
func (a AudioConfig) validate() error {
	if a.Source < NoAudio || a.Source > ServedAudio {
		return fmt.Errorf("%w: audio source %v", ErrBadParameter, a.Source)
	}
	if !a.on() {
		return nil
	}
	if r := a.rate(); r < 8000 || r > 96000 {
		return fmt.Errorf("%w: audio rate %d Hz out of range [8000, 96000]", ErrBadParameter, r)
	}
	if ch := a.channels(); ch < 1 || ch > 2 {
		return fmt.Errorf("%w: %d audio channels: 1 (mono) or 2 (stereo)", ErrBadParameter, ch)
	}
	if b := a.bitRate(); b < 8 || b > 320 {
		return fmt.Errorf("%w: audio bit rate %d kbit/s out of range [8, 320]", ErrBadParameter, b)
	}
	return nil
}

// String describes the track as the command and String() print it.
func (a AudioConfig) String() string {
	switch a.Source {
	case SilentAudio:
		return fmt.Sprintf("silent, %d channels, %d kbit/s", a.channels(), a.bitRate())
	case ServedAudio:
		return fmt.Sprintf("served at %d Hz, %d channels, %d kbit/s", a.rate(), a.channels(), a.bitRate())
	}
	return "none"
}

// ServeAudio queues samples for the audio track without blocking:
// interleaved signed 16-bit little-endian at the configured rate and
// channels (Audio(Samples(rate, channels))), any whole number of samples
// up to 10 s. They follow the samples served before, on the time line
// the frames are on: served in step with the frames, they play in step
// with them. If the pipeline already holds its hard cap of audio the
// samples are refused with ErrQueueFull; AudioWaitRef says when to serve.
func (s *Server) ServeAudio(pcm []byte) error { return s.serveAudio(context.Background(), pcm, false) }

// ServeAudioBlock is ServeAudio, first waiting while the audio track is
// more than FrameAhead frames' time ahead of play time (for a file: of
// the frames served), or the pipeline holds enough: serving as fast as
// possible thus plays in real time.
func (s *Server) ServeAudioBlock(pcm []byte) error {
	return s.serveAudio(context.Background(), pcm, true)
}

// ServeAudioContext is ServeAudioBlock with a context that can cancel the
// wait; samples whose wait is cancelled are not queued.
func (s *Server) ServeAudioContext(ctx context.Context, pcm []byte) error {
	return s.serveAudio(ctx, pcm, true)
}

func (s *Server) serveAudio(ctx context.Context, pcm []byte, blocking bool) error {
	sess, err := s.current()
	if err != nil {
		return err
	}
	if err := sess.cfg.Audio.check(pcm); err != nil {
		return err
	}
	return sess.audio.serve(ctx, pcm, blocking)
}

// check says why samples cannot be served to the track, nil if they can.
func (a AudioConfig) check(pcm []byte) error {
	if a.Source != ServedAudio {
		return fmt.Errorf("%w: ServeAudio needs Audio(Samples(rate, channels)); the stream's audio is %s", ErrBadParameter, a)
	}
	if n := len(pcm); n == 0 || n%a.frameBytes() != 0 {
		return fmt.Errorf("%w: audio: %d bytes is not a whole number of samples (%d bytes each: S16LE × %d channels)",
			ErrFrameSize, n, a.frameBytes(), a.channels())
	}
	if d := a.duration(pcm); d > maxAudioChunk {
		return fmt.Errorf("%w: audio: %v of samples in one call; serve at most %v at a time", ErrFrameSize, d, maxAudioChunk)
	}
	return nil
}

// AudioWaitRef is how long to wait before serving more samples so that
// the audio track stays within FrameAhead frames' time of play time (0
// when not set up, or without served audio).
func (s *Server) AudioWaitRef() time.Duration {
	sess, err := s.current()
	if err != nil {
		return 0
	}
	return sess.audio.waitRef()
}

// sessionAudio is a session's side of the audio track: samples handed to
// the stream that is up, and dropped at their pace while none is.
type sessionAudio struct {
	s     *session
	drops pacer
}

// serve hands samples to the stream that is up, or drops them while none
// is.
func (a *sessionAudio) serve(ctx context.Context, pcm []byte, blocking bool) error {
	s := a.s
	s.mu.Lock()
	st, refusal, trial := s.st, s.refusal, s.trial
	s.mu.Unlock()
	drop := func() error {
		return a.drops.dropFor(ctx, blocking, s.closing, s.cfg.Audio.duration(pcm))
	}
	switch {
	case refusal != nil:
		return refusal
	case st != nil && trial:
		// As frames: a new stream not yet delivering never holds the
		// producer; what it cannot take is dropped at its pace.
		if st.audio.serve(ctx, pcm, false) == nil {
			return nil
		}
		return drop()
	case st != nil:
		if err := st.audio.serve(ctx, pcm, blocking); !s.lost(st, err) {
			return err
		}
	}
	return drop()
}

// waitRef is AudioWaitRef: the stream's while up; while down, the time
// to the next samples' slot.
func (a *sessionAudio) waitRef() time.Duration {
	s := a.s
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if st == nil {
		return a.drops.wait()
	}
	if st.audio == nil || s.cfg.Audio.Source != ServedAudio {
		return 0
	}
	return st.audio.waitRef()
}
