// Package mpegserver pushes frames that a program makes in memory to a live
// video stream (RTSP) through GStreamer. It is the Go successor of the
// Python class mpegCoder.MpegServer, with the same parameters and the same
// two ways to serve a frame: blocking (ServeFrameBlock), which waits while
// the stream is far enough ahead of play time, and non-blocking
// (ServeFrame), which returns at once and leaves pacing to the caller
// through WaitRef.
//
// The parameters compile into the pipeline
//
//	appsrc ! videoconvert ! videoscale ! <encoder> ! <parser> ! rtspclientsink
//
// whose gst-launch-1.0 form LaunchLine prints.
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
	"fmt"
	"image"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// sinkFlushGrace bounds the wait for rtspclientsink to finish sending what
// it queued. Without it about 1 close in 200 lost its last frame; with it,
// none in 212 (see docs/design.md).
const sinkFlushGrace = 300 * time.Millisecond

// Server pushes frames to one stream at a time. Create it with New.
type Server struct {
	life sync.Mutex // serializes Setup, Close and Clear

	mu   sync.Mutex // guards the fields below; held only briefly
	cfg  Config
	st   *stream
	last Stats // of the last closed stream
}

// New returns a Server with the default configuration (see DefaultConfig).
func New() *Server {
	return &Server{cfg: DefaultConfig()}
}

// SetParameter applies options in order; they take effect at the next
// Setup. Nothing changes if any option fails or the result is invalid.
func (s *Server) SetParameter(opts ...Option) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cfg
	for _, o := range opts {
		if err := o(&c); err != nil {
			return err
		}
	}
	if err := c.Validate(); err != nil {
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
	d, err := Compile(s.Config())
	if err != nil {
		return "", err
	}
	return d.LaunchLine(), nil
}

// Setup opens the stream at addr ("" = the configured address, which addr
// otherwise replaces), closing any open stream first. It returns once the
// server has answered, or fails within the setup timeout: it never hangs.
func (s *Server) Setup(addr string) error {
	s.life.Lock()
	defer s.life.Unlock()
	_ = s.closeLocked() // a failed old stream must not block the new one

	s.mu.Lock()
	if addr != "" {
		s.cfg.Address = addr
	}
	cfg := s.cfg
	s.mu.Unlock()

	desc, err := Compile(cfg)
	if err != nil {
		return err
	}
	if err := checkInstalled(desc, cfg.Codec); err != nil {
		return err
	}
	t, _ := parseAddress(cfg.Address) // Compile checked it
	if t.Live() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.SetupTimeout)
		defer cancel()
		if err := probeRTSP(ctx, t); err != nil {
			return err
		}
	} else if f, err := os.OpenFile(t.Location, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
		return fmt.Errorf("%w: cannot write %s: %v", ErrUnsupportedAddress, t.Location, err)
	} else {
		f.Close()
	}
	st := &stream{cfg: cfg, desc: desc, flow: newFlow(), done: make(chan struct{}), eos: make(chan struct{}), pipeEOS: make(chan struct{})}
	st.soft, st.hard = queueBounds(cfg, t.Live())
	st.tl = clockTimeline{rate: cfg.FrameRate, ahead: cfg.FrameAhead, offline: !t.Live()}
	st.lp, err = build(desc, st.flow, cfg.FrameSize(), st.hard+2)
	if err != nil {
		return err
	}
	if err := st.lp.start(st.onEvent); err != nil {
		st.lp.release()
		return err
	}
	st.started = time.Now()
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	return nil
}

// Close sends end-of-stream, waits (up to the close timeout) until every
// queued frame has left, and releases the connection. Closing a server
// that is not set up does nothing; Close is idempotent.
func (s *Server) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	return s.closeLocked()
}

func (s *Server) closeLocked() error {
	s.mu.Lock()
	st := s.st
	s.st = nil
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	st.pushMu.Lock()
	st.closing = true
	st.doneOne.Do(func() { close(st.done) })
	pushed := st.pushed
	if pushed > 0 && st.failure() == nil {
		st.lp.endOfStream()
	}
	st.pushMu.Unlock()

	var err error
	if pushed > 0 && st.failure() == nil {
		timer := time.NewTimer(st.cfg.CloseTimeout)
		select {
		case <-st.eos:
			if !st.desc.Live {
				// A file is complete only when its sink has EOS: muxers
				// write their index then.
				select {
				case <-st.pipeEOS:
				case <-timer.C:
					err = fmt.Errorf("%w: %s was not finished within %v", ErrPipeline, st.cfg.Address, st.cfg.CloseTimeout)
				}
				break
			}
			// Every frame has reached the sink, which still sends from its
			// own queue; its EOS message says it is done. That message came
			// within 1 ms in 208 of 214 closes measured here and never in the
			// rest, so wait for it only briefly.
			grace := time.NewTimer(sinkFlushGrace)
			select {
			case <-st.pipeEOS:
			case <-grace.C:
			}
			grace.Stop()
		case <-timer.C:
			err = fmt.Errorf("%w: %d frames had not all left after %v; the rest were dropped",
				ErrPipeline, pushed, st.cfg.CloseTimeout)
		}
		timer.Stop()
	}
	if e := st.failure(); e != nil && err == nil {
		err = e
	}
	st.lp.release()
	st.finished = time.Now()
	s.mu.Lock()
	s.last = st.stats()
	s.mu.Unlock()
	return err
}

// Clear closes any open stream and resets every parameter to its default,
// the address included.
func (s *Server) Clear() error {
	s.life.Lock()
	defer s.life.Unlock()
	err := s.closeLocked()
	s.mu.Lock()
	s.cfg = DefaultConfig()
	s.mu.Unlock()
	return err
}

func (s *Server) current() (*stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == nil {
		return nil, ErrNotSetUp
	}
	return s.st, nil
}

// ServeFrame pushes one frame of packed RGB (heightSrc × widthSrc × 3
// bytes) without blocking. Pace calls with WaitRef; if the pipeline already
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
	st, err := s.current()
	if err != nil {
		return err
	}
	w, h := st.cfg.SourceSize()
	fr, err := rgbFrame(b, w, h)
	if err != nil {
		return err
	}
	return st.serve(ctx, fr, blocking)
}

// ServeImage is ServeFrame for an image of widthSrc × heightSrc.
// *image.RGBA and *image.NRGBA are copied straight into the stream (alpha
// dropped); other types are converted first.
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
	st, err := s.current()
	if err != nil {
		return err
	}
	w, h := st.cfg.SourceSize()
	fr, done, err := imageFrame(img, w, h)
	if err != nil {
		return err
	}
	defer done()
	return st.serve(ctx, fr, blocking)
}

// WaitRef is how long to wait before serving the next frame so that no
// more than FrameAhead frames are ahead of play time (0 when not set up).
func (s *Server) WaitRef() time.Duration {
	st, err := s.current()
	if err != nil {
		return 0
	}
	return st.waitRef()
}

// Stats describes a stream's life so far.
type Stats struct {
	Pushed   int64         // frames accepted
	Refused  int64         // frames ServeFrame refused at the hard cap
	Queued   int           // frames in appsrc not yet taken by the encoder
	Ahead    int64         // frames whose play time is still to come
	MaxAhead int64         // the most frames ever ahead right after a push
	Slips    int64         // times the time line moved forward after a stall
	Encoded  int64         // frames the encoder has handed to the sink
	Bytes    int64         // encoded bytes handed to the sink (bit rate = Bytes×8/Elapsed)
	Warnings int64         // GStreamer warnings seen
	Elapsed  time.Duration // since Setup (until Close once closed)
}

func (st *stream) stats() Stats {
	st.pushMu.Lock()
	defer st.pushMu.Unlock()
	end := st.finished
	if end.IsZero() {
		end = time.Now()
	}
	s := Stats{Pushed: st.pushed, Refused: st.refused, MaxAhead: st.tl.maxAhead, Slips: st.tl.slips,
		Warnings: st.warns.Load(), Elapsed: end.Sub(st.started)}
	s.Encoded, s.Bytes = st.lp.encoded()
	if st.finished.IsZero() {
		s.Queued = st.queued()
		s.Ahead = st.tl.unplayed(st.lp.runningTime())
	}
	return s
}

// Stats returns the open stream's figures, or the last closed one's.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st, last := s.st, s.last
	s.mu.Unlock()
	if st == nil {
		return last
	}
	return st.stats()
}

// String is the status report: configuration, state and figures, with any
// password in the address redacted.
func (s *Server) String() string {
	c := s.Config()
	s.mu.Lock()
	open := s.st != nil
	s.mu.Unlock()
	ws, hs := c.SourceSize()
	enc := c.Codec
	if cd, ok := lookupCodec(c.Codec); ok {
		enc += " (" + cd.Encoder + ")"
	}
	state := "closed"
	if open {
		state = "streaming"
	}
	st := s.Stats()
	lines := [][2]string{
		{"Address", Redact(c.Address)},
		{"State", state},
		{"(Width, Height)", fmt.Sprintf("(%d, %d)", c.Width, c.Height)},
		{"(WidthSrc, HeightSrc)", fmt.Sprintf("(%d, %d)", ws, hs)},
		{"Encoder", enc},
		{"Stream format", formatName(c.Address)},
		{"Threads", threadsText(c.Threads)},
		{"Bit rate", fmt.Sprintf("%g Kb/s", c.BitRate)},
		{"Frame rate", fmt.Sprintf("%s (%.3f fps)", c.FrameRate, c.FrameRate.Float())},
		{"Frames ahead", fmt.Sprintf("%d", c.FrameAhead)},
		{"GOP size", fmt.Sprintf("%d", c.GOPSize)},
		{"Max B-frames", fmt.Sprintf("%d", c.MaxBFrames)},
		{"Frames pushed", fmt.Sprintf("%d (refused %d)", st.Pushed, st.Refused)},
	}
	var b strings.Builder
	b.WriteString("----------- MpegServer -----------\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "%-22s %s\n", l[0]+":", l[1])
	}
	b.WriteString("----------------------------------")
	return b.String()
}

func threadsText(n int) string {
	if n == 0 {
		return "auto"
	}
	return fmt.Sprint(n)
}

// DumpFile writes a readable description of the running stream: each
// element with its settings as they are now, and the caps it negotiated.
func (s *Server) DumpFile(w io.Writer) error {
	st, err := s.current()
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Stream to %s (%s)\n", Redact(st.cfg.Address), formatName(st.cfg.Address))
	st.lp.describe(st.desc, &b)
	stats := st.stats()
	fmt.Fprintf(&b, "Frames: %d pushed, %d queued, %d ahead of play time, %d refused\n",
		stats.Pushed, stats.Queued, stats.Ahead, stats.Refused)
	_, err = io.WriteString(w, b.String())
	return err
}

// Dot returns the running pipeline as a Graphviz graph.
func (s *Server) Dot() (string, error) {
	st, err := s.current()
	if err != nil {
		return "", err
	}
	return st.lp.dot(), nil
}

// DotGraph builds the pipeline for c, sets it to READY (which connects to
// nothing) and returns its Graphviz graph.
func DotGraph(c Config) (string, error) {
	desc, err := Compile(c)
	if err != nil {
		return "", err
	}
	if err := checkInstalled(desc, c.Codec); err != nil {
		return "", err
	}
	lp, err := build(desc, newFlow(), 0, 0)
	if err != nil {
		return "", err
	}
	defer lp.release()
	return lp.readyDot()
}

// AvailableCodecs lists the codec names whose encoder is installed here.
func AvailableCodecs() []string {
	out := availableCodecs()
	sort.Strings(out)
	return out
}
