package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// appsrcElement is the pipeline's source as this project drives it.
func appsrcElement(live bool, soft int) gstpipe.Element {
	return gstpipe.Element{Factory: "appsrc", Props: []gstpipe.Prop{
		// A stream plays in real time; a file is written as fast as
		// frames come.
		{Name: "is-live", Value: strconv.FormatBool(live)},
		{Name: "format", Value: "time"},
		// We stamp every frame ourselves (counter × period).
		{Name: "do-timestamp", Value: "false"},
		// Never block inside GStreamer: the blocking call waits in Go,
		// where a context can cancel it and Close can wake it.
		{Name: "block", Value: "false"},
		// The queue is bounded in frames; the byte bound (200 kB by
		// default, less than one frame) would fire on every push.
		{Name: "max-buffers", Value: strconv.Itoa(soft)},
		{Name: "min-percent", Value: strconv.Itoa(minPercent(live))},
		{Name: "max-bytes", Value: "0"},
		{Name: "max-time", Value: "0"},
	}}
}

// fileQueue is appsrc's queue, in frames, for file targets.
const fileQueue = 4

// minPercent is how empty appsrc's queue gets before it asks for more.
// A stream asks as soon as there is room (90%): otherwise a blocked caller
// waits for the whole queue to drain and then bursts. A file has no play
// time to keep, and asks once one frame is left (25% of 4): the producer
// then wakes once per three frames instead of once per frame, and each
// wake-up also woke the Go runtime's monitor thread, which took a core
// from the encoder (docs/design.md).
func minPercent(live bool) int {
	if live {
		return 90
	}
	return 25
}

// maxQueueBytes bounds the frames appsrc may hold, in bytes.
const maxQueueBytes = 512 << 20

// queueBounds gives the appsrc queue's soft bound (max-buffers: enough-data
// fires there and ServeFrameBlock waits) and the hard cap at which
// ServeFrame refuses frames. The hard cap leaves room for a caller that
// follows WaitRef loosely. Both stay within maxQueueBytes of frames as
// appsrc holds them (I420 at the output size, 1.5 bytes a pixel), or two
// frames where one frame is larger than that.
func queueBounds(c Config, live bool) (soft, hard int) {
	// One more than the frames-ahead rule allows, so the rule binds first
	// and the queue only when the encoder falls behind.
	soft = c.Ahead() + 2
	if !live {
		// A file has no play time to run ahead of. A short queue means
		// few buffers: at 1080p each new buffer is 3 MB of fresh pages,
		// and faulting them in cost more than encoding.
		soft = fileQueue
	}
	hard = 2*soft + 2
	if per := c.Width * c.Height * 3 / 2; per > 0 {
		limit := max(maxQueueBytes/per, 2)
		soft, hard = min(soft, limit-1), min(hard, limit)
	}
	return soft, hard
}

// flow is appsrc's need-data / enough-data state, the back-pressure. It is
// level-triggered: a waiter reads the state and the channel under one lock,
// so a need-data that fires between the read and the wait is never lost.
// (An edge-triggered version, waiting for a need-data that had already
// fired, is what hung start-up in an early prototype.)
//
// enough-data runs inside the push, on the pushing goroutine, and need-data
// on a streaming thread: set takes only f.mu, which no pusher holds while
// pushing.
type flow struct {
	mu     sync.Mutex
	enough bool
	wake   chan struct{} // closed when enough turns false
	wakes  int64         // times enough turned false (tests read it)
}

func newFlow() *flow { return &flow{wake: make(chan struct{})} }

func (f *flow) set(enough bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enough && !enough {
		close(f.wake)
		f.wake = make(chan struct{})
		f.wakes++
	}
	f.enough = enough
}

// state returns whether appsrc has enough, and a channel closed once it
// wants data again.
func (f *flow) state() (bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enough, f.wake
}

// appsrc is the push path into one pipeline: frames stamped on the time
// line and pushed one at a time, the frames-ahead rule and the
// back-pressure waited on in Go, ServeFrame's hard cap.
type appsrc struct {
	p       *gstpipe.Pipeline
	flow    *flow
	hard    int
	done    <-chan struct{} // closed when the stream stops taking frames
	failure func() error    // why the stream failed, nil while it works
	ended   func(error)     // fails the stream: the pipeline stopped taking frames by itself
	// pushedTo, when set, is told where the frames pushed so far end,
	// after each push (the audio track follows them).
	pushedTo func(end time.Duration)

	mu      sync.Mutex // serializes stamping and pushing; never held while waiting
	tl      timeline
	pushed  int64
	refused int64
	closing bool
}

// usableLocked says why the source takes no frame now, if it does not.
func (a *appsrc) usableLocked() error {
	if err := a.failure(); err != nil {
		return err
	}
	if a.closing {
		return ErrClosed
	}
	return nil
}

// serve pushes one frame. Blocking, it waits (cancellably) until the
// frames-ahead rule and appsrc both allow it; non-blocking, it never waits
// and refuses the frame only at the queue's hard cap.
func (a *appsrc) serve(ctx context.Context, fr gstpipe.Frame, blocking bool) error {
	for {
		a.mu.Lock()
		if err := a.usableLocked(); err != nil {
			a.mu.Unlock()
			return err
		}
		now := a.p.RunningTime()
		if blocking {
			wait := a.tl.wait(now)
			enough, wake := a.flow.state()
			if wait > 0 || enough {
				a.mu.Unlock()
				if err := a.waitFor(ctx, wait, enough, wake); err != nil {
					return err
				}
				continue
			}
		} else if a.p.Queued() >= a.hard {
			a.refused++
			// Read under the lock: another goroutine may be stamping.
			hint := max(a.tl.wait(now), a.tl.period()).Round(time.Millisecond)
			a.mu.Unlock()
			return fmt.Errorf("%w: %d frames queued (cap %d); wait WaitRef() = %v", ErrQueueFull, a.hard, a.hard, hint)
		}
		pts := a.tl.stamp(now)
		a.p.WillPush(pts)
		err := a.p.Push(fr, pts, a.tl.period(), a.pushed)
		if err == nil {
			a.pushed++
		}
		end := a.tl.next()
		a.mu.Unlock()
		switch {
		case err == nil:
			if a.pushedTo != nil {
				a.pushedTo(end)
			}
			return nil
		case errors.Is(err, gstpipe.ErrFlushing):
			a.mu.Lock()
			closing := a.closing
			a.mu.Unlock()
			if closing {
				return ErrClosed
			}
			// Not closed, yet the pipeline takes no more frames: a sink got
			// end-of-stream from its server (a publisher replaced, a
			// receiver gone) before anything said so.
			a.ended(fmt.Errorf("%w: the output ended the stream", ErrDisconnected))
			return a.failure()
		case a.failure() != nil:
			return a.failure()
		default:
			return fmt.Errorf("%w: %v", ErrPipeline, err)
		}
	}
}

func (a *appsrc) waitFor(ctx context.Context, wait time.Duration, enough bool, wake <-chan struct{}) error {
	return waitPush(ctx, wait, nil, enough, wake, a.done, func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.usableLocked()
	})
}

// waitPush is a push path's wait (the frames' or the audio's): until the
// wait passes (wait > 0), moved closes, appsrc wants data again (when it
// has enough: wake), or ctx ends; when done closes first, usable says why
// nothing more is taken.
func waitPush(ctx context.Context, wait time.Duration, moved <-chan struct{}, enough bool, wake, done <-chan struct{}, usable func() error) error {
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
	case <-moved:
	case <-wake:
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return usable()
	}
	return nil
}

// waitRef is WaitRef for this source. With the queue at its hard cap
// (the encoder or the link behind), it is at least a frame period, the
// soonest the queue can have room: a caller that sleeps WaitRef between
// refused frames never spins.
func (a *appsrc) waitRef() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.tl.wait(a.p.RunningTime())
	if a.p.Queued() >= a.hard {
		w = max(w, a.tl.period())
	}
	return w
}

// lead is how far ahead of play time the producer is now.
func (a *appsrc) lead() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.p.RunningTime()
	if a.tl.offline || !a.tl.started || now < 0 {
		return a.tl.lead
	}
	return max(a.tl.reach(now)-now, 0)
}

// setLead starts the time line as far ahead of play time as the producer
// was on a stream it lost.
func (a *appsrc) setLead(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tl.lead = max(d, 0)
}

// finish takes no more frames and returns how many were pushed: once it
// returns, no push is under way and none will be.
func (a *appsrc) finish() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closing = true
	return a.pushed
}

// counts are the push path's figures for Stats.
func (a *appsrc) counts(s *Stats, open bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.Pushed, s.Refused, s.MaxAhead, s.Slips = a.pushed, a.refused, a.tl.maxAhead, a.tl.slips
	if open {
		s.Queued = a.p.Queued()
		s.Ahead = a.tl.unplayed(a.p.RunningTime())
	}
}
