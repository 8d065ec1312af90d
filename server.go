// Package mpegserver pushes frames that a program makes in memory through
// GStreamer to a live video stream (RTSP, RTMP, SRT, MPEG-TS over UDP, HLS)
// or to a file, whichever the address names. It is the Go successor of the
// Python class mpegCoder.MpegServer, with the same parameters and the same
// two ways to serve a frame: blocking (ServeFrameBlock), which waits while
// the stream is far enough ahead of play time, and non-blocking
// (ServeFrame), which returns at once and leaves pacing to the caller
// through WaitRef.
//
// The parameters compile into the pipeline
//
//	appsrc ! videoconvert ! <encoder> ! <parser> ! <output>
//
// where the output's elements (a muxer, a sink) follow from the address;
// for the default address and codec that is
//
//	appsrc ! videoconvert ! x264enc ! h264parse ! rtspclientsink
//
// Frames are converted to I420 (or copied, when they are 4:2:0 already)
// and scaled to the output size by libyuv as they are handed over, so
// videoconvert only passes them on (it converts for encoders that want
// another layout).
//
// LaunchLine prints the pipeline as a gst-launch-1.0 line. Setup checks,
// within the setup timeout, that the output can take a stream (a server
// answers, a file can be written), and Outputs says where the stream goes
// and how to watch it. Record adds a second output fed by the same
// encoder. Audio adds an audio track, silent (Silence) or served by the
// program in step with the frames (Samples, ServeAudio, ServeAudioBlock).
// The original's parameter names work too (SetParameters, Parameter,
// Parameters).
//
// # Reading sources
//
// OpenReader decodes a file or a stream into packed RGB frames, or the
// decoder's own YUV (the original's MpegDecoder and MpegClient),
// AudioReader decodes its audio into samples, Probe reads a source's settings,
// and Decoder and ConfigDict copy them into a Server, as the original's
// setParameter(decoder=..., configDict=...). docs/migrating.md maps the
// whole original API.
//
// # Concurrency
//
// Every method is safe to call from several goroutines. Frames served
// concurrently are stamped and queued in the order their calls take the
// stream, one at a time. Setup, Close and Clear wait for each other. A
// ServeFrameBlock waiting when Close starts returns ErrClosed.
package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/netip"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// Server pushes frames to one stream at a time. Create it with New.
type Server struct {
	life sync.Mutex // serializes Setup, Close and Clear

	mu   sync.Mutex // guards the fields below; held only briefly
	cfg  Config
	sess *session // from Setup to Close
	last Stats    // of the last closed session

	events chan Event
	clk    clock         // the real one; tests set their own
	checks encoderChecks // encoder settings already brought up
}

// New returns a Server with the default configuration (see DefaultConfig).
func New() *Server {
	return &Server{cfg: DefaultConfig(), events: make(chan Event, eventBuffer), clk: realClock{}}
}

// SetParameter applies options in order; they take effect at the next
// Setup. Nothing changes if the result is invalid.
func (s *Server) SetParameter(opts ...Option) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.cfg.with(opts)
	if err != nil {
		return err
	}
	s.cfg = c
	return nil
}

// Config returns a copy of the current configuration.
func (s *Server) Config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// ResetPath sets the default address without connecting.
func (s *Server) ResetPath(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Address = addr
}

// LaunchLine returns the gst-launch-1.0 line of the configured pipeline,
// with any password replaced by REDACTED. It does not connect anywhere.
func (s *Server) LaunchLine() (string, error) {
	d, err := compile(s.Config(), gstpipe.Installed)
	if err != nil {
		return "", err
	}
	return d.launchLine(), nil
}

// Setup opens the stream at addr ("" = the configured address, which addr
// otherwise replaces), closing any open stream first. It returns once the
// server has answered, or fails within the setup timeout: it never hangs.
func (s *Server) Setup(addr string) error { return s.SetupContext(context.Background(), addr) }

// SetupContext is Setup with a context that can end it sooner (a signal,
// a caller giving up): the encoder's bring-up and the checks of the
// outputs end with ctx, and Setup then returns ctx's error.
func (s *Server) SetupContext(ctx context.Context, addr string) error {
	s.life.Lock()
	defer s.life.Unlock()
	_ = s.closeLocked(ctx) // a failed old stream must not block the new one

	s.mu.Lock()
	if addr != "" {
		s.cfg.Address = addr
	}
	cfg := s.cfg
	s.mu.Unlock()

	// The encoder check and the outputs' answers share SetupTimeout.
	bounded, cancel := context.WithTimeout(ctx, cfg.SetupTimeout)
	defer cancel()
	stopped := func(err error) error {
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("mpegserver: Setup of %s stopped: %w", Redact(cfg.Address), ctx.Err())
		}
		return err
	}
	d, err := setupEncoder(bounded, cfg, &s.checks)
	var alts []description
	if err == nil {
		alts, err = alternatives(cfg, d)
	}
	if err == nil {
		var peer netip.AddrPort
		var cur int
		peer, cur, err = reachFirst(ctx, bounded, alts, cfg)
		if err == nil {
			var st *stream
			if st, err = openStream(cfg, alts[cur], s.clk, peer, s.emit); err == nil {
				s.mu.Lock()
				s.sess = newSession(cfg, alts, cur, s.clk, st, s.emit)
				s.mu.Unlock()
			}
		}
	}
	err = stopped(err)
	logSetup(cfg, d, err)
	return err
}

// setupEncoder compiles the configuration and brings its encoder up. A
// hardware encoder that does not start (no device, a driver refusing the
// settings) gives way to the codec's next one, in the end the software
// encoder; the reason stays in the error if none starts.
func setupEncoder(ctx context.Context, cfg Config, checks *encoderChecks) (description, error) {
	var skip []string
	var hwErrs []error
	for {
		d, err := compile(cfg, gstpipe.Installed, skip...)
		if err != nil {
			return d, err
		}
		if err := checkInstalled(d); err != nil {
			return d, err
		}
		err = checks.check(ctx, d)
		if err == nil {
			return d, nil
		}
		if !d.enc.Hardware || ctx.Err() != nil {
			return d, errors.Join(append(hwErrs, err)...)
		}
		hwErrs = append(hwErrs, err)
		skip = append(skip, d.enc.Element)
	}
}

// Close sends end-of-stream, waits (up to the close timeout) until every
// queued frame has left, and releases the connection. Closing a server
// that is not set up does nothing; Close is idempotent.
func (s *Server) Close() error { return s.CloseContext(context.Background()) }

// CloseContext is Close with a context that can cut the wait short: when
// ctx ends before every queued frame has left, the stream is released at
// once and the error says what was cut short, wrapping ctx's error.
func (s *Server) CloseContext(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()
	return s.closeLocked(ctx)
}

func (s *Server) closeLocked(ctx context.Context) error {
	s.mu.Lock()
	sess := s.sess
	s.sess = nil
	s.mu.Unlock()
	if sess == nil {
		return nil
	}
	err := sess.close(ctx)
	st := sess.stats()
	s.mu.Lock()
	s.last = st
	s.mu.Unlock()
	logClose(sess.cfg, st, err)
	return err
}

// Clear closes any open stream and resets every parameter to its default,
// the address included.
func (s *Server) Clear() error {
	s.life.Lock()
	defer s.life.Unlock()
	err := s.closeLocked(context.Background())
	s.mu.Lock()
	s.cfg = DefaultConfig()
	s.mu.Unlock()
	return err
}

func (s *Server) current() (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil, ErrNotSetUp
	}
	return s.sess, nil
}

// stream is the stream that is up now.
func (s *Server) stream() (*stream, error) {
	sess, err := s.current()
	if err != nil {
		return nil, err
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.st == nil {
		return nil, fmt.Errorf("%w: the stream is down, reconnecting", ErrNotSetUp)
	}
	return sess.st, nil
}

// ServeFrame pushes one frame without blocking: widthSrc × heightSrc
// pixels in SourceFormat (packed RGB by default, heightSrc × widthSrc × 3
// bytes; Config.FrameSize gives the length), rows SourceStride bytes apart
// when that is set. Pace calls with WaitRef; if the pipeline already
// holds its hard cap of frames, the frame is refused with ErrQueueFull.
func (s *Server) ServeFrame(frame []byte) error {
	return s.serveBytes(context.Background(), frame, false)
}

// ServeFrameBlock pushes one frame, first waiting while the stream is more
// than FrameAhead frames ahead of play time or the pipeline holds enough.
// Pushing as fast as possible thus yields frames at the frame rate.
func (s *Server) ServeFrameBlock(frame []byte) error {
	return s.serveBytes(context.Background(), frame, true)
}

// ServeFrameContext is ServeFrameBlock with a context that can cancel the
// wait; a cancelled frame is not queued.
func (s *Server) ServeFrameContext(ctx context.Context, frame []byte) error {
	return s.serveBytes(ctx, frame, true)
}

func (s *Server) serveBytes(ctx context.Context, b []byte, blocking bool) error {
	sess, err := s.current()
	if err != nil {
		return err
	}
	fr, err := bytesFrame(b, sourceOf(sess.cfg))
	if err != nil {
		return err
	}
	return sess.serve(ctx, fr, blocking)
}

// ServeImage is ServeFrame for an image of widthSrc × heightSrc, whatever
// SourceFormat says. *image.RGBA, *image.NRGBA, *image.Gray and
// *image.YCbCr (4:2:0, 4:2:2, 4:4:4, as image/jpeg decodes) are read
// in their own memory, with their strides, and converted as they are
// copied in (alpha dropped); a YCbCr 4:2:0 image goes in as it is, one
// copy, into a YUVJ420P stream (its range is JPEG's: full). Other types
// are drawn into an RGBA image first.
func (s *Server) ServeImage(img image.Image) error {
	return s.serveImage(context.Background(), img, false)
}

// ServeImageBlock is ServeFrameBlock for an image.
func (s *Server) ServeImageBlock(img image.Image) error {
	return s.serveImage(context.Background(), img, true)
}

// ServeImageContext is ServeFrameContext for an image.
func (s *Server) ServeImageContext(ctx context.Context, img image.Image) error {
	return s.serveImage(ctx, img, true)
}

func (s *Server) serveImage(ctx context.Context, img image.Image, blocking bool) error {
	sess, err := s.current()
	if err != nil {
		return err
	}
	w, h := sess.cfg.SourceSize()
	fr, release, err := imageFrame(img, w, h)
	if err != nil {
		return err
	}
	defer release()
	return sess.serve(ctx, fr, blocking)
}

// WaitRef is how long to wait before serving the next frame so that no
// more than FrameAhead frames are ahead of play time (0 when not set up).
func (s *Server) WaitRef() time.Duration {
	sess, err := s.current()
	if err != nil {
		return 0
	}
	return sess.waitRef()
}

// reachFirst reaches the first of the stream's addresses that answers: the
// address within bounded, then each backup within a SetupTimeout of its
// own. A refusal ends the search: the server answered.
func reachFirst(ctx, bounded context.Context, alts []description, cfg Config) (netip.AddrPort, int, error) {
	var errs []error
	for i, d := range alts {
		c := bounded
		if i > 0 {
			var cancel context.CancelFunc
			c, cancel = context.WithTimeout(ctx, cfg.SetupTimeout)
			defer cancel()
		}
		peer, err := reachAll(c, d, cfg)
		if err == nil {
			return peer, i, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, ErrUnreachable) {
			break
		}
	}
	return netip.AddrPort{}, 0, errors.Join(errs...)
}
