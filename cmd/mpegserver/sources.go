package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"sync/atomic"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testpattern"
)

// frameSource yields frames until io.EOF. next waits at most until ctx
// ends, and then returns ctx's error: no source can hold a run past
// --duration or a signal. A frame stays valid until the next call.
type frameSource interface {
	next(ctx context.Context, i int) (rgb []byte, img image.Image, err error)
}

// readerSource serves a decoded file or stream.
type readerSource struct {
	r     *mpegserver.Reader
	frame []byte
}

func (s *readerSource) next(ctx context.Context, _ int) ([]byte, image.Image, error) {
	if err := s.r.ReadContext(ctx, s.frame); err != nil {
		if err == io.EOF || ctx.Err() != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("--input: %w", err)
	}
	return s.frame, nil, nil
}

type patternSource struct {
	frame []byte
	w, h  int
}

func (p *patternSource) next(_ context.Context, i int) ([]byte, image.Image, error) {
	testpattern.Draw(p.frame, p.w, p.h, i, time.Now())
	return p.frame, nil, nil
}

// stdinSource serves raw frames from standard input, as they are: the
// server is set to their --pix-fmt and converts them itself. One
// goroutine reads them ahead, so that a producer that stalls holds the
// read, never the run; two buffers take turns, the one being served and
// the one being filled.
type stdinSource struct {
	w, h   int
	format mpegserver.PixelFormat
	size   int // bytes of one raw frame
	frames chan rawFrame
	free   chan []byte
	quit   chan struct{}
	cur    []byte // the raw frame being served, handed back at the next call
}

type rawFrame struct {
	b   []byte
	err error
}

func newStdinSource(r io.Reader, w, h int, format mpegserver.PixelFormat) *stdinSource {
	s := &stdinSource{w: w, h: h, format: format, size: format.FrameSize(w, h), frames: make(chan rawFrame),
		free: make(chan []byte, 2), quit: make(chan struct{})}
	s.free <- make([]byte, s.size)
	s.free <- make([]byte, s.size)
	go s.read(r)
	return s
}

// read reads frames until the input ends or fails, or stop is called.
func (s *stdinSource) read(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-s.free:
		case <-s.quit:
			return
		}
		n, err := io.ReadFull(r, buf)
		switch {
		case err == io.EOF:
		case errors.Is(err, io.ErrUnexpectedEOF):
			err = fmt.Errorf("input ended inside a frame: got %d of %d bytes (a %s frame of %dx%d is %d bytes; check --src-width, --src-height and --pix-fmt)",
				n, s.size, s.format, s.w, s.h, s.size)
		case err != nil:
			err = fmt.Errorf("reading standard input: %w", err)
		}
		select {
		case s.frames <- rawFrame{buf, err}:
		case <-s.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

// stop ends the reading goroutine, unless it is blocked in a read that
// never returns (a producer that stalls for good): it then ends with the
// process.
func (s *stdinSource) stop() { close(s.quit) }

func (s *stdinSource) next(ctx context.Context, _ int) ([]byte, image.Image, error) {
	if s.cur != nil {
		s.free <- s.cur
		s.cur = nil
	}
	var f rawFrame
	select {
	case f = <-s.frames:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	if f.err != nil {
		return nil, nil, f.err
	}
	s.cur = f.b
	return f.b, nil, nil
}

// peeked serves a frame read ahead (before Setup, to know the source has
// one) and then the source's own.
type peeked struct {
	frameSource
	rgb  []byte
	img  image.Image
	used bool
}

func (p *peeked) next(ctx context.Context, i int) ([]byte, image.Image, error) {
	if !p.used {
		p.used = true
		return p.rgb, p.img, nil
	}
	return p.frameSource.next(ctx, i)
}

// serveLoop serves frames until the source ends, ctx ends (a signal,
// --duration, a loss with --no-reconnect) or maxFrames is reached (0:
// no limit; it may be set while the loop runs: --audio-end stop).
func serveLoop(ctx context.Context, s *mpegserver.Server, src frameSource, nonblocking bool, maxFrames *atomic.Int64) error {
	for i := 0; maxFrames.Load() == 0 || int64(i) < maxFrames.Load(); i++ {
		rgb, img, err := src.next(ctx, i)
		if err == io.EOF || ctx.Err() != nil {
			return nil // the end of the input, or stopped while waiting: a normal end
		}
		if err != nil {
			return err
		}
		if nonblocking {
			if img != nil {
				err = s.ServeImage(img)
			} else {
				err = s.ServeFrame(rgb)
			}
			if errors.Is(err, mpegserver.ErrQueueFull) {
				err = nil // counted in Stats().Refused, reported in the summary
			}
			if err == nil {
				sleepCtx(ctx, s.WaitRef())
			}
		} else if img != nil {
			err = s.ServeImageContext(ctx, img)
		} else {
			err = s.ServeFrameContext(ctx, rgb)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
