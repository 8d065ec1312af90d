package mpegserver

import (
	"context"
	"fmt"
	"image"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-gst/go-gst/gst"
)

// flow is appsrc's need-data / enough-data state. It is level-triggered:
// a waiter reads the state and the channel under one lock, so a need-data
// that fires between the read and the wait is never lost. (An edge-
// triggered version of this, waiting for a need-data that had already
// fired, is what hung start-up in an early prototype.)
//
// enough-data runs inside the push, on the pushing goroutine, and need-data
// on a streaming thread: setEnough takes only f.mu, which no pusher holds
// while pushing.
type flow struct {
	mu     sync.Mutex
	enough bool
	wake   chan struct{} // closed when enough turns false
}

func newFlow() *flow { return &flow{wake: make(chan struct{})} }

func (f *flow) setEnough(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enough && !v {
		close(f.wake)
		f.wake = make(chan struct{})
	}
	f.enough = v
}

// state returns whether appsrc has enough, and a channel closed once it
// wants data again.
func (f *flow) state() (bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enough, f.wake
}

// frame is one source frame as memory the C side can copy from.
type frame struct {
	data   []byte
	w, h   int
	stride int // bytes from one row to the next
	bpp    int // 3: packed RGB; 4: RGBA/RGBX, fourth byte dropped
}

func rgbFrame(b []byte, w, h int) (frame, error) {
	if b == nil {
		return frame{}, fmt.Errorf("%w: nil frame (want %d×%d×3 = %d bytes of packed RGB)", ErrFrameSize, w, h, w*h*3)
	}
	if len(b) != w*h*3 {
		return frame{}, fmt.Errorf("%w: %d bytes, want %d×%d×3 = %d (heightSrc × widthSrc × RGB)",
			ErrFrameSize, len(b), h, w, w*h*3)
	}
	return frame{data: b, w: w, h: h, stride: w * 3, bpp: 3}, nil
}

// rgbPool recycles conversion buffers for images without a fast path.
var rgbPool sync.Pool

func imageFrame(img image.Image, w, h int) (frame, func(), error) {
	if img == nil {
		return frame{}, nil, fmt.Errorf("%w: nil image", ErrFrameSize)
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return frame{}, nil, fmt.Errorf("%w: image is %d×%d, want %d×%d (widthSrc × heightSrc)",
			ErrFrameSize, b.Dx(), b.Dy(), w, h)
	}
	// Fast paths hand the image's own memory to C, which drops alpha
	// while copying: no Go allocation.
	switch m := img.(type) {
	case *image.RGBA:
		return frame{data: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], w: w, h: h, stride: m.Stride, bpp: 4}, func() {}, nil
	case *image.NRGBA:
		return frame{data: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], w: w, h: h, stride: m.Stride, bpp: 4}, func() {}, nil
	}
	buf, _ := rgbPool.Get().(*[]byte)
	if buf == nil || cap(*buf) < w*h*3 {
		s := make([]byte, w*h*3)
		buf = &s
	}
	px := (*buf)[:w*h*3]
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			px[i], px[i+1], px[i+2] = byte(r>>8), byte(g>>8), byte(bl>>8)
			i += 3
		}
	}
	return frame{data: px, w: w, h: h, stride: w * 3, bpp: 3}, func() { rgbPool.Put(buf) }, nil
}

// lateSlots is how many frame periods a frame may arrive after its slot on
// the time line before the time line slips forward to now. Within that,
// frames keep counter × period timestamps, so a jittery caller still gives
// a smooth stream; beyond it (a stall), the stream resumes at real time
// instead of sending a burst of stale frames.
const lateSlots = 4

// clockTimeline stamps frames and applies the frames-ahead rule. Times are
// pipeline running time. All fields are guarded by stream.pushMu.
type clockTimeline struct {
	rate     Rational
	offline  bool          // a file: stamp 0, T, 2T, ... and never wait on the clock
	ahead    int           // N_ahead
	origin   time.Duration // running time of frame 0 since the last slip
	index    int64         // frames stamped since the last slip
	started  bool
	slips    int64
	maxAhead int64
}

// at is the timestamp of frame k after the origin: k × den/num seconds,
// computed exactly in 128 bits so it never drifts or overflows.
func (t *clockTimeline) at(k int64) time.Duration {
	hi, lo := bits.Mul64(uint64(k), uint64(t.rate.Den)*uint64(time.Second))
	q, _ := bits.Div64(hi%uint64(t.rate.Num), lo, uint64(t.rate.Num))
	return t.origin + time.Duration(q)
}

func (t *clockTimeline) period() time.Duration {
	return time.Duration(uint64(t.rate.Den) * uint64(time.Second) / uint64(t.rate.Num))
}

// next is the timestamp the next frame gets if it is on time.
func (t *clockTimeline) next() time.Duration { return t.at(t.index) }

// unplayed counts the stamped frames whose play time is still ahead of now:
// N_pushed − N_played in the documented rule.
func (t *clockTimeline) unplayed(now time.Duration) int64 {
	if !t.started || t.offline {
		return 0
	}
	d := t.next() - now
	if d <= 0 {
		return 0
	}
	p := t.period()
	return int64((d+p-1)/p) - 1
}

// wait is waitRef: how long from now until N_pushed − N_played ≤ N_ahead,
// the documented rule T × max(N_pushed − N_played − N_ahead, 0) taken to
// the exact instant rather than rounded up to whole periods.
func (t *clockTimeline) wait(now time.Duration) time.Duration {
	if !t.started || t.offline {
		return 0
	}
	w := t.next() - time.Duration(t.ahead+1)*t.period() - now
	return max(w, 0)
}

// stamp gives the next frame its timestamp.
func (t *clockTimeline) stamp(now time.Duration) time.Duration {
	switch {
	case t.offline:
		t.started = true
	case !t.started:
		t.started, t.origin, t.index = true, max(now, 0), 0
	case now > t.next()+lateSlots*t.period():
		t.slips++
		t.origin, t.index = now, 0
	}
	pts := t.next()
	t.index++
	if u := t.unplayed(now); u > t.maxAhead {
		t.maxAhead = u
	}
	return pts
}

// stream is one set-up pipeline and its push state.
type stream struct {
	cfg        Config
	desc       Description
	lp         *livePipeline
	flow       *flow
	soft, hard int // appsrc queue bounds in frames

	pushMu   sync.Mutex // serializes stamping and pushing; never held while waiting
	tl       clockTimeline
	pushed   int64
	refused  int64
	closing  bool
	started  time.Time
	finished time.Time

	done       chan struct{} // closed when the stream stops taking frames (Close or error)
	doneOne    sync.Once
	eos        chan struct{}
	eosOne     sync.Once
	pipeEOS    chan struct{}
	pipeEOSOne sync.Once
	errMu      sync.Mutex
	err        *PipelineError
	warns      atomic.Int64
}

func (st *stream) onEvent(ev busEvent) {
	switch ev.kind {
	case evError:
		st.errMu.Lock()
		if st.err == nil {
			st.err = ev.err
		}
		st.errMu.Unlock()
		st.doneOne.Do(func() { close(st.done) })
	case evWarning:
		st.warns.Add(1)
	case evEOS:
		st.eosOne.Do(func() { close(st.eos) })
	case evPipeEOS:
		st.pipeEOSOne.Do(func() { close(st.pipeEOS) })
	}
}

func (st *stream) failure() *PipelineError {
	st.errMu.Lock()
	defer st.errMu.Unlock()
	return st.err
}

// usableLocked says why the stream takes no frame now, if it does not.
func (st *stream) usableLocked() error {
	if err := st.failure(); err != nil {
		return err
	}
	if st.closing {
		return ErrClosed
	}
	return nil
}

func (st *stream) queued() int {
	fs := uint64(st.cfg.FrameSize())
	return int((st.lp.queuedBytes() + fs - 1) / fs)
}

// serve pushes one frame. Blocking, it waits (cancellably) until the
// frames-ahead rule and appsrc both allow it; non-blocking, it never waits
// and refuses the frame only at the queue's hard cap.
func (st *stream) serve(ctx context.Context, fr frame, blocking bool) error {
	for {
		st.pushMu.Lock()
		if err := st.usableLocked(); err != nil {
			st.pushMu.Unlock()
			return err
		}
		now := st.lp.runningTime()
		if blocking {
			wait := st.tl.wait(now)
			enough, wake := st.flow.state()
			if wait > 0 || enough {
				st.pushMu.Unlock()
				if err := st.waitFor(ctx, wait, enough, wake); err != nil {
					return err
				}
				continue
			}
		} else if st.queued() >= st.hard {
			st.refused++
			st.pushMu.Unlock()
			return fmt.Errorf("%w: %d frames queued (cap %d); wait WaitRef() = %v",
				ErrQueueFull, st.hard, st.hard, st.tl.wait(now).Round(time.Millisecond))
		}
		pts := st.tl.stamp(now)
		ret := st.lp.push(fr, pts, st.tl.period(), st.pushed)
		if ret == gst.FlowOK {
			st.pushed++
		}
		st.pushMu.Unlock()
		switch ret {
		case gst.FlowOK:
			return nil
		case gst.FlowFlushing, gst.FlowEOS:
			return ErrClosed
		default:
			if err := st.failure(); err != nil {
				return err
			}
			return fmt.Errorf("%w: appsrc refused the frame: %s", ErrPipeline, ret)
		}
	}
}

func (st *stream) waitFor(ctx context.Context, wait time.Duration, enough bool, wake <-chan struct{}) error {
	var timer <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	if !enough {
		wake = nil // only the timer matters
	}
	select {
	case <-timer:
	case <-wake:
	case <-ctx.Done():
		return ctx.Err()
	case <-st.done:
		st.pushMu.Lock()
		defer st.pushMu.Unlock()
		return st.usableLocked()
	}
	return nil
}

// waitRef is WaitRef for this stream.
func (st *stream) waitRef() time.Duration {
	st.pushMu.Lock()
	defer st.pushMu.Unlock()
	return st.tl.wait(st.lp.runningTime())
}
