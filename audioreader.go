package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// ErrNoAudio: the source exists and was read, but holds no audio stream.
var ErrNoAudio = errors.New("mpegserver: no audio stream in the source")

// AudioReaderConfig says how OpenAudioReader reads a source. The zero
// value reads 48 kHz stereo with the default bounds.
type AudioReaderConfig struct {
	// Rate and Channels are the samples Read gives (0: 48000 Hz, 2
	// channels): the source is converted and resampled to them.
	Rate, Channels int
	// OpenTimeout bounds OpenAudioReader (probing the source and
	// decoding its first samples); 0: DefaultProbeTimeout.
	OpenTimeout time.Duration
	// ReadTimeout bounds the wait for samples; 0: DefaultReadTimeout.
	ReadTimeout time.Duration
}

// AudioReader gives a source's first audio stream as interleaved signed
// 16-bit little-endian samples (what ServeAudio takes): a file, or a
// stream (rtsp://, http(s)://), decoded by whatever GStreamer has
// installed. Its methods are safe to call from several goroutines; Close
// ends a Read waiting on another.
type AudioReader struct {
	uri      string // redacted
	cfg      AudioReaderConfig
	frame    int // bytes a sample takes on every channel
	p        *gstpipe.Reader
	mu       sync.Mutex // one Read at a time; guards rest and samples
	rest     []byte     // decoded, not yet read
	samples  int64
	closeOne sync.Once
}

// OpenAudioReader probes the source, starts decoding its audio and waits
// for the first samples, all within cfg.OpenTimeout and ctx. A missing
// file matches os.ErrNotExist, a source without audio ErrNoAudio, one
// that gives nothing in time ErrUnreachable.
func OpenAudioReader(ctx context.Context, source string, cfg AudioReaderConfig) (*AudioReader, error) {
	a := AudioConfig{Source: ServedAudio, Rate: cfg.Rate, Channels: cfg.Channels}
	if err := a.validate(); err != nil {
		return nil, err
	}
	if err := readerTimeouts(&cfg.OpenTimeout, &cfg.ReadTimeout); err != nil {
		return nil, err
	}
	cfg.Rate, cfg.Channels = a.rate(), a.channels()
	ctx, cancel := context.WithTimeout(ctx, cfg.OpenTimeout)
	defer cancel()
	uri, m, err := discover(ctx, source, ErrNoAudio)
	if err != nil {
		return nil, err
	}
	shown := Redact(uri)
	if !m.Audio {
		return nil, fmt.Errorf("%w: %s", ErrNoAudio, shown)
	}
	p, err := gstpipe.OpenAudioReader(uri, cfg.Rate, cfg.Channels, rtspReadLatency)
	if err != nil {
		return nil, fmt.Errorf("mpegserver: reading %s: %w", shown, err)
	}
	r := &AudioReader{uri: shown, cfg: cfg, frame: a.frameBytes(), p: p}
	dl, _ := ctx.Deadline()
	first, err := p.Pull(time.Until(dl), ctx.Done())
	if err == nil && first == nil {
		err = fmt.Errorf("%w: %s ended before its first samples", ErrNoAudio, shown)
	} else {
		err = pullFailure(ctx, err, true, "samples", shown, cfg.OpenTimeout, func(err error) error { return sourceError(shown, m.Live, err) })
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	r.rest = first.Bytes()
	first.Free()
	return r, nil
}

// SampleSize is the bytes one sample takes on every channel: Read gives
// whole samples.
func (r *AudioReader) SampleSize() int { return r.frame }

// Read fills p with the next samples, as many whole ones as fit (p must
// hold one), and says how many bytes. At the end of the source it
// returns io.EOF; a source that gives nothing for ReadTimeout is
// ErrStalled; after Close, ErrClosed.
func (r *AudioReader) Read(p []byte) (int, error) { return r.ReadContext(context.Background(), p) }

// ReadContext is Read with a context that can end the wait: when ctx
// ends first, it returns ctx's error and reads nothing.
func (r *AudioReader) ReadContext(ctx context.Context, p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) < r.frame {
		return 0, fmt.Errorf("%w: %d bytes hold no whole sample (%d bytes each)", ErrFrameSize, len(p), r.frame)
	}
	for len(r.rest) == 0 {
		s, err := r.p.Pull(r.cfg.ReadTimeout, ctx.Done())
		switch {
		case err != nil:
			return 0, pullFailure(ctx, err, false, "samples", r.uri, r.cfg.ReadTimeout, func(err error) error { return sourceError(r.uri, false, err) })
		case s == nil:
			return 0, io.EOF
		}
		r.rest = s.Bytes()
		s.Free()
	}
	n := copy(p[:len(p)/r.frame*r.frame], r.rest)
	r.rest = r.rest[n:]
	r.samples += int64(n / r.frame)
	return n, nil
}

// Position is how far into the source the samples read reach.
func (r *AudioReader) Position() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return samplesDuration(r.samples, r.cfg.Rate)
}

// Close stops reading and frees the decoder. A Read waiting on another
// goroutine returns ErrClosed. Safe to call more than once.
func (r *AudioReader) Close() error {
	r.closeOne.Do(func() { r.p.Close() })
	return nil
}
