package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// sinkFlushGrace bounds the wait for rtspclientsink to finish sending what
// it queued once every frame has reached it (docs/design.md: without it
// about 1 close in 200 lost its last frame).
const sinkFlushGrace = 300 * time.Millisecond

// stream is one open pipeline and its push state, from Setup to Close.
type stream struct {
	cfg  Config
	desc description
	p    *gstpipe.Pipeline
	flow *flow

	pushMu   sync.Mutex // serializes stamping and pushing; never held while waiting
	tl       timeline
	pushed   int64
	refused  int64
	closing  bool
	started  time.Time
	finished time.Time

	done     chan struct{} // closed when the stream stops taking frames (Close or error)
	doneOnce sync.Once
	drained  chan struct{} // every frame has been handed to the sink
	drainOne sync.Once
	eos      chan struct{} // the sinks have finished
	eosOnce  sync.Once
	errMu    sync.Mutex
	err      *PipelineError
	warns    atomic.Int64
}

// openStream builds and starts the pipeline for a compiled configuration.
func openStream(cfg Config, d description) (*stream, error) {
	st := &stream{cfg: cfg, desc: d, flow: newFlow(),
		done: make(chan struct{}), drained: make(chan struct{}), eos: make(chan struct{}),
		tl: timeline{rate: cfg.FrameRate, ahead: cfg.Ahead(), offline: !d.target.Live()}}
	p, err := buildPipeline(d.spec(), st.flow)
	if err != nil {
		return nil, err
	}
	st.p = p
	if err := p.Start(st.onEvent); err != nil {
		p.Release()
		return nil, fmt.Errorf("%w: %v", ErrPipeline, err)
	}
	st.started = time.Now()
	return st, nil
}

// buildPipeline builds a spec, telling the errors apart: a property an
// element refuses is a bad parameter, anything else a pipeline error.
func buildPipeline(s gstpipe.Spec, f *flow) (*gstpipe.Pipeline, error) {
	p, err := gstpipe.Build(s, f.set)
	var pe *gstpipe.PropertyError
	switch {
	case errors.As(err, &pe):
		return nil, fmt.Errorf("%w: %s", ErrBadParameter, pe.Text)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrPipeline, err)
	}
	return p, nil
}

func (st *stream) onEvent(ev gstpipe.Event) {
	switch ev.Kind {
	case gstpipe.EventError:
		kind := ErrPipeline
		if ev.OpenFailed && st.desc.target.Live() {
			kind = ErrUnreachable
		}
		st.errMu.Lock()
		if st.err == nil {
			st.err = &PipelineError{Element: ev.Source, Message: ev.Message, Debug: ev.Debug, kind: kind}
		}
		st.errMu.Unlock()
		st.doneOnce.Do(func() { close(st.done) })
	case gstpipe.EventWarning:
		st.warns.Add(1)
	case gstpipe.EventDrained:
		st.drainOne.Do(func() { close(st.drained) })
	case gstpipe.EventEOS:
		st.eosOnce.Do(func() { close(st.eos) })
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

// serve pushes one frame. Blocking, it waits (cancellably) until the
// frames-ahead rule and appsrc both allow it; non-blocking, it never waits
// and refuses the frame only at the queue's hard cap.
func (st *stream) serve(ctx context.Context, fr gstpipe.Frame, blocking bool) error {
	for {
		st.pushMu.Lock()
		if err := st.usableLocked(); err != nil {
			st.pushMu.Unlock()
			return err
		}
		now := st.p.RunningTime()
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
		} else if st.p.Queued() >= st.desc.hard {
			st.refused++
			st.pushMu.Unlock()
			return fmt.Errorf("%w: %d frames queued (cap %d); wait WaitRef() = %v",
				ErrQueueFull, st.desc.hard, st.desc.hard, st.tl.wait(now).Round(time.Millisecond))
		}
		pts := st.tl.stamp(now)
		err := st.p.Push(fr, pts, st.tl.period(), st.pushed)
		if err == nil {
			st.pushed++
		}
		st.pushMu.Unlock()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, gstpipe.ErrFlushing):
			return ErrClosed
		case st.failure() != nil:
			return st.failure()
		default:
			return fmt.Errorf("%w: %v", ErrPipeline, err)
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
	return st.tl.wait(st.p.RunningTime())
}

// close sends end-of-stream, waits (up to the close timeout) until every
// queued frame has left, and releases the pipeline. It returns the failure
// that ended the stream, if one did.
func (st *stream) close() error {
	st.pushMu.Lock()
	st.closing = true
	st.doneOnce.Do(func() { close(st.done) })
	pushed := st.pushed
	flush := pushed > 0 && st.failure() == nil
	if flush {
		st.p.EndOfStream()
	}
	st.pushMu.Unlock()

	var err error
	if flush {
		err = st.flush(pushed)
	}
	if e := st.failure(); e != nil && err == nil {
		err = e
	}
	st.p.Release()
	st.pushMu.Lock()
	st.finished = time.Now()
	st.pushMu.Unlock()
	return err
}

// flush waits for the pushed frames to leave after end-of-stream.
func (st *stream) flush(pushed int64) error {
	timer := time.NewTimer(st.cfg.CloseTimeout)
	defer timer.Stop()
	select {
	case <-st.drained:
	case <-timer.C:
		return fmt.Errorf("%w: %d frames had not all left after %v; the rest were dropped",
			ErrPipeline, pushed, st.cfg.CloseTimeout)
	}
	if !st.desc.target.Live() {
		// A file is complete only when its sink has EOS: muxers write
		// their index then.
		select {
		case <-st.eos:
			return nil
		case <-timer.C:
			return fmt.Errorf("%w: %s was not finished within %v", ErrPipeline, st.desc.target.Location, st.cfg.CloseTimeout)
		}
	}
	// Every frame has reached the sink, which still sends from its own
	// queue; its EOS says it is done. That EOS is often late or missing
	// (docs/design.md), so it is waited for only briefly.
	grace := time.NewTimer(sinkFlushGrace)
	defer grace.Stop()
	select {
	case <-st.eos:
	case <-grace.C:
	}
	return nil
}
