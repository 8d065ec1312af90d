package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// ReaderConfig says how OpenReader reads a source. The zero value reads
// frames at the source's size with the default bounds.
type ReaderConfig struct {
	// Width and Height, when both set, are the size of the frames Read
	// gives (the original decoder's widthDst and heightDst): the source is
	// scaled (stretched) to it.
	Width, Height int
	// Format is the layout of the frames Read gives: RGB24 (the default),
	// BGR24, RGBA or BGRA, converted by libyuv as each frame is copied out
	// of GStreamer, with the matrix and range the source declares; or
	// YUV420P or NV12, the decoder's own samples copied as they are (in
	// the source's matrix and range, commonly BT.709 limited range for
	// HD video).
	Format PixelFormat
	// OpenTimeout bounds OpenReader (probing the source and decoding its
	// first frame); 0: DefaultProbeTimeout.
	OpenTimeout time.Duration
	// ReadTimeout bounds the wait for one frame; 0: DefaultReadTimeout.
	ReadTimeout time.Duration
}

// DefaultReadTimeout is how long Read waits for a frame before it reports
// the source as stalled.
const DefaultReadTimeout = 5 * time.Second

// rtspReadLatency is the reader's jitter buffer on RTSP sources (rtspsrc
// holds 2 s by default): a reader wants the newest frame.
const rtspReadLatency = 200 * time.Millisecond

// Reader gives a video's frames, as packed RGB or as ReaderConfig.Format
// says: a file, or a live stream
// (rtsp://, http(s)://), decoded by whatever GStreamer has installed. It is
// the Go side of the original's MpegDecoder and MpegClient, and its
// Parameters feed Decoder. Its methods are safe to call from several
// goroutines; Close ends a Read waiting on another.
type Reader struct {
	src      SourceInfo
	cfg      ReaderConfig
	p        *gstpipe.Reader
	mu       sync.Mutex // one Read at a time; guards pending and frames
	pending  *gstpipe.Sample
	w, h     int
	frames   int64
	end      time.Duration // the time stamp of the last frame read, plus its period
	ended    bool          // Read has returned io.EOF
	closeOne sync.Once
}

// OpenReader probes the source (see Probe), starts decoding it and waits
// for its first frame, all within cfg.OpenTimeout and ctx. Errors are
// Probe's (os.ErrNotExist, ErrNoVideo, ErrUnreachable), or ErrUnreachable
// when no frame comes in time.
func OpenReader(ctx context.Context, source string, cfg ReaderConfig) (*Reader, error) {
	if cfg.Width < 0 || cfg.Height < 0 || cfg.Width > maxDimension || cfg.Height > maxDimension || (cfg.Width == 0) != (cfg.Height == 0) {
		return nil, fmt.Errorf("%w: reader size %dx%d (want both in [1, %d], or both 0)", ErrBadParameter, cfg.Width, cfg.Height, maxDimension)
	}
	if _, ok := readLayout(cfg.Format); !ok {
		return nil, fmt.Errorf("%w: reader format %v (want rgb24, bgr24, rgba, bgra, yuv420p or nv12)", ErrBadParameter, cfg.Format)
	}
	if err := readerTimeouts(&cfg.OpenTimeout, &cfg.ReadTimeout); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.OpenTimeout)
	defer cancel()
	info, err := Probe(ctx, source)
	if err != nil {
		return nil, err
	}
	shown := Redact(info.URI)
	p, err := gstpipe.OpenReader(info.URI, cfg.Width, cfg.Height, rtspReadLatency)
	if err != nil {
		return nil, fmt.Errorf("mpegserver: reading %s: %w", shown, err)
	}
	r := &Reader{src: info, cfg: cfg, p: p}
	dl, _ := ctx.Deadline()
	first, err := p.Pull(time.Until(dl), ctx.Done())
	if err == nil && first == nil {
		err = fmt.Errorf("%w: %s ended before its first frame", ErrNoVideo, shown)
	} else {
		err = pullFailure(ctx, err, true, "frame", shown, cfg.OpenTimeout, r.readError)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	r.pending, r.w, r.h = first, first.Width, first.Height
	// Later frames keep this size even if the source changes its own.
	p.FixSize(r.w, r.h)
	if r.src.FrameRate.Num == 0 && first.FPSNum > 0 && first.FPSDen > 0 {
		r.src.FrameRate = Rational{first.FPSNum, first.FPSDen}
	}
	return r, nil
}

// readerTimeouts checks a reader's bounds and puts the defaults in for
// those not given.
func readerTimeouts(open, read *time.Duration) error {
	if *open < 0 || *read < 0 {
		return fmt.Errorf("%w: negative reader timeout", ErrBadParameter)
	}
	if *open == 0 {
		*open = DefaultProbeTimeout
	}
	if *read == 0 {
		*read = DefaultReadTimeout
	}
	return nil
}

// readError names the source and says what kind of failure it was.
func (r *Reader) readError(err error) error { return sourceError(Redact(r.src.URI), r.src.Live, err) }

// pullFailure is what a reader's failed pull means (nil when err is):
// what says what was waited for ("frame", "samples"), shown the source,
// wait how long it was waited for. Opening, a pull that times out (or
// whose ctx reaches its deadline) finds the source unreachable; later, a
// time-out is a stall. Any other failure is other's to name.
func pullFailure(ctx context.Context, err error, opening bool, what, shown string, wait time.Duration, other func(error) error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gstpipe.ErrReaderClosed):
		return ErrClosed
	case opening && (errors.Is(err, gstpipe.ErrReadTimeout) ||
		errors.Is(err, gstpipe.ErrPullCancelled) && errors.Is(ctx.Err(), context.DeadlineExceeded)):
		return fmt.Errorf("%w: no %s from %s within %v", ErrUnreachable, what, shown, wait)
	case errors.Is(err, gstpipe.ErrPullCancelled):
		return ctx.Err()
	case errors.Is(err, gstpipe.ErrReadTimeout):
		return fmt.Errorf("%w: no %s from %s for %v", ErrStalled, what, shown, wait)
	}
	return other(err)
}

// sourceError names a source (shown, redacted) and says what kind of
// failure a reader's error is.
func sourceError(shown string, live bool, err error) error {
	var re *gstpipe.ReadError
	if errors.As(err, &re) {
		msg := re.Message
		if re.Source != "" {
			msg = re.Source + ": " + msg
		}
		switch {
		case re.OpenFailed:
			return fmt.Errorf("%w: %s: %s", ErrUnreachable, shown, msg)
		case re.IOFailed || live:
			return fmt.Errorf("%w: %s: %s", ErrDisconnected, shown, msg)
		}
		return fmt.Errorf("%w: reading %s: %s", ErrPipeline, shown, msg)
	}
	return fmt.Errorf("mpegserver: reading %s: %w", shown, err)
}

// Source is what the source is: its own size, frame rate, codec, bit
// rate, duration, and whether it is live.
func (r *Reader) Source() SourceInfo { return r.src }

// Size is the size of the frames Read gives.
func (r *Reader) Size() (w, h int) { return r.w, r.h }

// FrameSize is the byte length of one frame Read gives: w × h × 3 for
// packed RGB, and Format.FrameSize(w, h) for any format.
func (r *Reader) FrameSize() int { return r.cfg.Format.FrameSize(r.w, r.h) }

// readLayout is the converter's layout for a format Read gives.
func readLayout(f PixelFormat) (gstpipe.Format, bool) {
	if f < 0 || f >= numPixelFormats {
		return 0, false
	}
	l := pixelFormats[f].layout
	return l, slices.Contains(gstpipe.ReadFormats, l)
}

// Frames is how many frames Read has given so far.
func (r *Reader) Frames() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames
}

// Read fills frame (at least FrameSize bytes) with the next frame, as
// packed RGB or in ReaderConfig.Format. At the end of a file it returns
// io.EOF (Stats then says whether the file ended short of its declared
// duration). A source that gives no frame for ReadTimeout is ErrStalled;
// a live source that ends or breaks is ErrDisconnected; after Close,
// ErrClosed.
func (r *Reader) Read(frame []byte) error {
	return r.ReadContext(context.Background(), frame)
}

// ReadContext is Read with a context that can end the wait: when ctx
// ends first, it returns ctx's error and the frame is not read.
func (r *Reader) ReadContext(ctx context.Context, frame []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(frame) < r.FrameSize() {
		return fmt.Errorf("%w: %d bytes, a %dx%d %s frame needs %d", ErrFrameSize, len(frame), r.w, r.h, r.cfg.Format, r.FrameSize())
	}
	s := r.pending
	r.pending = nil
	if s == nil {
		var err error
		s, err = r.p.Pull(r.cfg.ReadTimeout, ctx.Done())
		switch {
		case err != nil:
			return pullFailure(ctx, err, false, "frame", Redact(r.src.URI), r.cfg.ReadTimeout, r.readError)
		case s == nil && r.src.Live:
			return fmt.Errorf("%w: %s ended the stream", ErrDisconnected, Redact(r.src.URI))
		case s == nil:
			r.ended = true
			return io.EOF
		}
	}
	defer s.Free()
	layout, _ := readLayout(r.cfg.Format)
	if s.Width != r.w || s.Height != r.h || !s.Copy(layout, frame) {
		// Only while the size fix reaches the scaler.
		return fmt.Errorf("%w: the source gave a %dx%d frame, not %dx%d", ErrFrameSize, s.Width, s.Height, r.w, r.h)
	}
	r.frames++
	if s.PTS >= 0 && r.src.FrameRate.Num > 0 {
		r.end = s.PTS + time.Duration(float64(time.Second)/r.src.FrameRate.Float())
	}
	return nil
}

// ReaderStats is what a Reader has read.
type ReaderStats struct {
	Frames int64 // frames Read has given
	// Position is how far into the source the frames read reach: the
	// last one's time stamp plus its period (0 when the source gives no
	// time stamps).
	Position time.Duration
	// Duration is the source's declared duration (0 for a live source or
	// one that declares none).
	Duration time.Duration
	// Short is true once Read has returned io.EOF well before Duration
	// (more than a second and a tenth of it): a file cut off, or a
	// download broken off, rather than a whole source.
	Short bool
}

// Stats says how much the reader has read, and whether a source that has
// ended ended short.
func (r *Reader) Stats() ReaderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := ReaderStats{Frames: r.frames, Position: r.end}
	if !r.src.Live && r.src.Duration > 0 {
		s.Duration = r.src.Duration
	}
	s.Short = r.ended && s.Duration > 0 && s.Duration-s.Position > max(time.Second, s.Duration/10)
	return s
}

// ReadFrame is Read into a new slice.
func (r *Reader) ReadFrame() ([]byte, error) {
	f := make([]byte, r.FrameSize())
	if err := r.Read(f); err != nil {
		return nil, err
	}
	return f, nil
}

// Parameters gives the reader's settings in the keys of the original
// decoder's getParameter() dict, for Decoder, ConfigDict and
// Server.SetParameters' "configDict" (across processes as JSON too):
// videoPath (files) or videoAddress (password redacted), codecName (the
// source's codec), width and height (the source's), widthDst and heightDst
// (when the reader resizes), frameRate ([2]int), bitRate (bit/s), and for
// files duration (seconds) and frameCount (duration × frame rate).
func (r *Reader) Parameters() map[string]any {
	m := r.src.Parameters()
	if r.cfg.Width > 0 {
		m["widthDst"], m["heightDst"] = r.w, r.h
	}
	return m
}

// Parameters gives the probed settings in the keys of the original
// decoder's getParameter() dict (see Reader.Parameters).
func (i SourceInfo) Parameters() map[string]any {
	m := map[string]any{
		"codecName": i.Codec,
		"width":     i.Width,
		"height":    i.Height,
		"nthread":   0,
	}
	if strings.HasPrefix(i.URI, "file://") {
		m["videoPath"] = strings.TrimPrefix(i.URI, "file://")
	} else {
		m["videoAddress"] = Redact(i.URI)
	}
	if i.FrameRate.Num > 0 {
		m["frameRate"] = [2]int{i.FrameRate.Num, i.FrameRate.Den}
	}
	if i.BitRate > 0 {
		m["bitRate"] = int(math.Round(i.BitRate * 1024))
	}
	if !i.Live && i.Duration > 0 {
		m["duration"] = i.Duration.Seconds()
		if i.FrameRate.Num > 0 {
			m["frameCount"] = int(math.Round(i.Duration.Seconds() * i.FrameRate.Float()))
		}
	}
	return m
}

// Close stops reading and frees the decoder. A Read waiting on another
// goroutine returns ErrClosed. Safe to call more than once.
func (r *Reader) Close() error {
	r.closeOne.Do(func() {
		r.p.Close() // first: a Read waiting holds mu until it sees this
		r.mu.Lock()
		r.pending.Free()
		r.pending = nil
		r.mu.Unlock()
	})
	return nil
}
