package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// releaseReserve is kept from the close timeout for stopping and freeing
// the pipeline after the flush.
const releaseReserve = 100 * time.Millisecond

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
	base     time.Duration // added to every timestamp: where the previous stream of the session left off
	last     time.Duration // the last timestamp pushed, base included
	pushed   int64
	refused  int64
	closing  bool
	started  time.Time
	finished time.Time

	done     chan struct{} // closed when the stream stops taking frames (Close or failure)
	doneOnce sync.Once
	failed   chan struct{} // closed when the stream fails
	failOnce sync.Once
	drained  chan struct{} // every frame has been handed to the sink
	drainOne sync.Once
	eos      chan struct{} // the sinks have finished
	eosOnce  sync.Once
	errMu    sync.Mutex
	err      error // the failure that ended the stream, first one wins
	warns    atomic.Int64

	// With several outputs (a tee), each one's fate: one that fails is
	// dropped and the others go on; the stream fails when all have. With
	// Reconnect, an output that connects to a server is brought back.
	emit    func(Event)
	outMu   sync.Mutex
	outs    []outState
	outWake chan struct{} // closed and replaced when an output fails or finishes

	sockMu      sync.Mutex
	sock        sinkSocket // the sink's connection, once found (live targets)
	found       bool
	watchStop   chan struct{}  // closed by close once the flush is over
	watchers    sync.WaitGroup // the watchdogs running (one, or a new one after an output came back)
	watchClosed bool           // under sockMu: close has begun waiting for the watchdogs
}

// outState is one output's state within a stream with several.
type outState struct {
	err    error // why it failed, nil while it works
	frames int64 // frames it had taken when it failed
	bytes  int64
	eos    bool // its sink has finished
}

// openStream builds and starts the pipeline for a compiled configuration;
// peer is the server's address as Setup dialled it.
func openStream(cfg Config, d description, peer netip.AddrPort, base time.Duration, emit func(Event)) (*stream, error) {
	st := &stream{cfg: cfg, desc: d, flow: newFlow(), base: base,
		done: make(chan struct{}), drained: make(chan struct{}), eos: make(chan struct{}),
		failed: make(chan struct{}), watchStop: make(chan struct{}),
		tl:   timeline{rate: cfg.FrameRate, ahead: cfg.Ahead(), offline: !d.live()},
		emit: emit, outs: make([]outState, len(d.outputs)), outWake: make(chan struct{})}
	p, err := buildPipeline(d.spec(), st.flow)
	if err != nil {
		return nil, err
	}
	st.p = p
	// The sink's connection is a socket that does not exist yet.
	before := socketInodes()
	if err := p.Start(st.onEvent); err != nil {
		p.Release()
		return nil, fmt.Errorf("%w: %v", ErrPipeline, err)
	}
	st.started = time.Now()
	if d.target.overTCP() && peer.IsValid() {
		st.startWatch(peer, before)
	}
	return st, nil
}

// startWatch starts a watchdog on the first output's connection, unless
// the stream is closing.
func (st *stream) startWatch(peer netip.AddrPort, before map[uint64]int) {
	st.sockMu.Lock()
	defer st.sockMu.Unlock()
	if st.watchClosed {
		return
	}
	st.sock, st.found = sinkSocket{}, false
	st.watchers.Add(1)
	go st.watch(peer, before, time.Now())
}

// watchEvery is how often the watchdog looks at the sink's connection;
// until it has found it, every findEvery, so that even a connection that
// lives a few milliseconds is seen (it tells a lost server from one never
// reached).
const (
	watchEvery = 100 * time.Millisecond
	findEvery  = 5 * time.Millisecond
)

// watch is the stream's watchdog: it finds the sink's connection, then
// fails the stream when the server closes it (ErrDisconnected) or when
// data waits and nothing is acknowledged for StallTimeout (ErrStalled).
// rtspclientsink reports neither in time: a closed server is only a
// warning until the next write fails, and a dead link blocks its writes
// once the kernel's buffers are full, which takes many seconds, with no
// error at all.
func (st *stream) watch(peer netip.AddrPort, before map[uint64]int, since time.Time) {
	defer st.watchers.Done()
	tick := time.NewTicker(findEvery)
	defer tick.Stop()
	var acked uint64
	progress := time.Now()
	for {
		select {
		case <-st.watchStop:
			return
		case <-st.failed:
			return
		case <-tick.C:
		}
		st.sockMu.Lock()
		if !st.found {
			st.sock, st.found = findSinkSocket(peer, before)
			st.sockMu.Unlock()
			if st.found || time.Since(since) > st.cfg.SetupTimeout {
				tick.Reset(watchEvery)
			}
			progress = time.Now()
			continue
		}
		sock := st.sock
		st.sockMu.Unlock()
		state, ok := sock.state()
		now := time.Now()
		switch {
		case !ok:
			st.failOutput(0, fmt.Errorf("%w: %s: the connection closed", ErrDisconnected, Redact(st.cfg.Address)))
		case !state.open:
			st.failOutput(0, fmt.Errorf("%w: %s closed the connection", ErrDisconnected, Redact(st.cfg.Address)))
		case state.acked != acked || state.pending == 0:
			acked, progress = state.acked, now
			continue
		case now.Sub(progress) < st.cfg.StallTimeout:
			continue
		default:
			st.failOutput(0, fmt.Errorf("%w: %s acknowledged nothing for %v with data waiting",
				ErrStalled, Redact(st.cfg.Address), now.Sub(progress).Round(watchEvery)))
		}
		// A send blocked on the dead connection returns at once, so the
		// pipeline can stop.
		sock.shutdown()
		return
	}
}

// connected says whether the sink had its connection: the watchdog found
// it, or frames went through the sink.
func (st *stream) connected() bool {
	st.sockMu.Lock()
	found := st.found
	st.sockMu.Unlock()
	frames, _ := st.p.Encoded()
	return found || frames > 1
}

// fail ends the stream with err unless it already failed.
func (st *stream) fail(err error) {
	st.errMu.Lock()
	if st.err == nil {
		st.err = err
	}
	st.errMu.Unlock()
	st.failOnce.Do(func() { close(st.failed) })
	st.doneOnce.Do(func() { close(st.done) })
}

// several reports whether the stream has more than one output.
func (st *stream) several() bool { return len(st.desc.outputs) > 1 }

// failOutput ends output k with err. With one output that is the stream's
// end; with several, the output is dropped, reported, and, with
// Reconnect and a server to connect to, brought back; the stream goes on
// until every output has failed.
func (st *stream) failOutput(k int, err error) {
	if !st.several() {
		st.fail(err)
		return
	}
	o := st.desc.outputs[k]
	err = fmt.Errorf("output %s: %w", Redact(o.address), err)
	st.outMu.Lock()
	if st.outs[k].err != nil {
		st.outMu.Unlock()
		return
	}
	x := &st.outs[k]
	x.err = err
	x.frames, x.bytes = st.p.BranchEncoded(k)
	all := true
	for _, y := range st.outs {
		all = all && y.err != nil
	}
	st.wakeOutputsLocked()
	st.outMu.Unlock()
	st.emit(Event{Kind: OutputFailed, Output: Redact(o.address), Err: err, At: time.Now()})
	if all {
		st.fail(err)
		return
	}
	if st.cfg.Reconnect && o.target.connects() && isLoss(err) {
		go st.revive(k)
	}
}

// revive brings output k back: it reaches its server again, with the
// session's back-off, and swaps in a new branch while the other outputs
// go on, until it is up or the stream ends.
func (st *stream) revive(k int) {
	o := st.desc.outputs[k]
	addr := Redact(o.address)
	retry(st.done, st.cfg.ReconnectMaxWait, func(attempt int) bool {
		st.emit(Event{Kind: Reconnecting, Output: addr, Attempt: attempt, At: time.Now()})
		ctx, cancel := setupContext(st.done, st.cfg.SetupTimeout)
		peer, err := reach(ctx, o.target)
		cancel()
		if err != nil {
			return false
		}
		before := socketInodes()
		if err := st.p.ReplaceBranch(k, st.desc.elements[o.first:o.end]); err != nil {
			return false
		}
		st.outMu.Lock()
		st.outs[k] = outState{}
		st.wakeOutputsLocked()
		st.outMu.Unlock()
		if k == 0 && o.target.overTCP() && peer.IsValid() {
			st.startWatch(peer, before)
		}
		st.emit(Event{Kind: Reconnected, Output: addr, Attempt: attempt, At: time.Now()})
		return true
	})
}

func (st *stream) wakeOutputsLocked() {
	close(st.outWake)
	st.outWake = make(chan struct{})
}

// outputOf says which output an element belongs to, by its path in the
// pipeline; -1 for the shared part.
func (st *stream) outputOf(path string) int {
	if !st.several() {
		return 0
	}
	for k, o := range st.desc.outputs {
		for i := o.first; i < o.end; i++ {
			name := st.p.ElementName(i)
			if name != "" && strings.Contains(path+"/", ":"+name+"/") {
				return k
			}
		}
	}
	return -1
}

// fromSink says whether an element name is output k's sink (its last
// element); k -1 means the only output.
func (st *stream) fromSink(k int, name string) bool {
	if k < 0 {
		k = 0
	}
	return name != "" && name == st.p.ElementName(st.desc.outputs[k].end-1)
}

// shared says whether an element (by its path) is in the part of the
// pipeline every output shares, up to the tee.
func (st *stream) shared(path string) bool {
	for i := 0; i <= st.desc.teeAt; i++ {
		if name := st.p.ElementName(i); name != "" && strings.Contains(path+"/", ":"+name+"/") {
			return true
		}
	}
	return false
}

// outputErrors joins the errors of the outputs that failed while others
// went on.
func (st *stream) outputErrors() error {
	st.outMu.Lock()
	defer st.outMu.Unlock()
	var errs []error
	for _, o := range st.outs {
		if o.err != nil {
			errs = append(errs, o.err)
		}
	}
	return errors.Join(errs...)
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
		k := st.outputOf(ev.Path)
		t := st.desc.target
		if k >= 0 {
			t = st.desc.outputs[k].target
		}
		kind := ErrPipeline
		switch {
		case !t.connects():
		case ev.OpenFailed && !st.connected() && !strings.Contains(ev.Debug, "_loop_"):
			// rtspclientsink's receive loop runs only once it has its
			// session; an open failure there is a server lost and being
			// reconnected to, however soon after the start.
			kind = ErrUnreachable
		case ev.OpenFailed, ev.IOFailed:
			// rtspclientsink reports a server that went away mid-stream
			// as a failure to read, write, or open again.
			kind = ErrDisconnected
		case t.Scheme != "rtsp" && t.Scheme != "rtsps" && st.fromSink(k, ev.Source):
			// rtmp2sink and srtsink fail on a lost server with errors of
			// their own ("Failed to connect", "Connection error", "Failed
			// to write to SRT socket"): any error of theirs is the link's.
			kind = ErrDisconnected
		}
		err := &PipelineError{Element: ev.Source, Message: ev.Message, Debug: ev.Debug, kind: kind}
		switch {
		case k >= 0:
			st.failOutput(k, err)
		case st.shared(ev.Path):
			st.fail(err)
		default:
			// An element of an output branch that was replaced: its
			// last words concern a connection already given up.
		}
	case gstpipe.EventSinkEOS:
		if k := st.outputOf(ev.Path); k >= 0 {
			st.outMu.Lock()
			st.outs[k].eos = true
			st.wakeOutputsLocked()
			st.outMu.Unlock()
		}
	case gstpipe.EventWarning:
		st.warns.Add(1)
	case gstpipe.EventDrained:
		st.drainOne.Do(func() { close(st.drained) })
	case gstpipe.EventEOS:
		st.eosOnce.Do(func() { close(st.eos) })
	}
}

func (st *stream) failure() error {
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
				ErrQueueFull, st.desc.hard, st.desc.hard, max(st.tl.wait(now), st.tl.period()).Round(time.Millisecond))
		}
		pts := st.base + st.tl.stamp(now)
		err := st.p.Push(fr, pts, st.tl.period(), st.pushed)
		if err == nil {
			st.pushed++
			st.last = pts
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

// lastPTS is the timestamp of the last frame pushed.
func (st *stream) lastPTS() time.Duration {
	st.pushMu.Lock()
	defer st.pushMu.Unlock()
	return st.last
}

// waitRef is WaitRef for this stream. With the queue at its hard cap
// (the encoder or the link behind), it is at least a frame period, the
// soonest the queue can have room: a caller that sleeps WaitRef between
// refused frames never spins.
func (st *stream) waitRef() time.Duration {
	st.pushMu.Lock()
	defer st.pushMu.Unlock()
	w := st.tl.wait(st.p.RunningTime())
	if st.p.Queued() >= st.desc.hard {
		w = max(w, st.tl.period())
	}
	return w
}

// close sends end-of-stream, waits until every queued frame has left (and,
// for a stream, has been acknowledged by the server), and releases the
// pipeline, all within the close timeout. It returns the failure that
// ended the stream, or what kept frames from leaving.
func (st *stream) close() error {
	// The flush may use the close timeout less what stopping the pipeline
	// takes afterwards (a few milliseconds once a dead connection is shut).
	deadline := time.Now().Add(st.cfg.CloseTimeout - min(st.cfg.CloseTimeout/10, releaseReserve))
	st.pushMu.Lock()
	st.closing = true
	st.doneOnce.Do(func() { close(st.done) }) // wakes blocked ServeFrameBlock calls
	pushed := st.pushed
	flush := pushed > 0 && st.failure() == nil
	if flush {
		st.p.EndOfStream()
	}
	st.pushMu.Unlock()

	var err error
	if flush {
		err = st.flush(pushed, deadline)
	}
	if e := st.failure(); e != nil && err == nil {
		err = e
	}
	if err == nil {
		// Outputs that failed while the others went on.
		err = st.outputErrors()
	}
	close(st.watchStop)
	st.sockMu.Lock()
	st.watchClosed = true
	st.sockMu.Unlock()
	st.watchers.Wait()
	if err != nil {
		// What is left in the connection will not be sent: end it, so
		// the sink stops at once instead of finishing a blocked send.
		st.sockMu.Lock()
		if st.found {
			st.sock.shutdown()
		}
		st.sockMu.Unlock()
	}
	st.p.Release()
	st.pushMu.Lock()
	st.finished = time.Now()
	st.pushMu.Unlock()
	return err
}

// flush waits, until the deadline, for the pushed frames to leave after
// end-of-stream. A failure meanwhile (a disk full, a lost server) ends the
// wait and is returned as itself.
func (st *stream) flush(pushed int64, deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	late := func(what string) error {
		return fmt.Errorf("%w: %d frames pushed; %s within CloseTimeout (%v)", ErrPipeline, pushed, what, st.cfg.CloseTimeout)
	}
	select {
	case <-st.drained:
	case <-st.failed:
		return st.failure()
	case <-timer.C:
		return late("not all of them had left the encoder")
	}
	if st.several() {
		return st.flushOutputs(timer.C, late)
	}
	if st.desc.target.finishes() {
		// A file is complete only when its sink has EOS: muxers write
		// their index then (and hlssink2 its last segment).
		select {
		case <-st.eos:
			return nil
		case <-st.failed:
			return st.failure()
		case <-timer.C:
			return late(st.desc.target.Location + " was not finished")
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
	case <-st.failed:
		return st.failure()
	}
	if err := st.srtPlayout(); err != nil {
		return err
	}
	return st.acknowledged(deadline)
}

// flushOutputs is flush's end with several outputs: every output that
// finishes (a file, a playlist) and has not failed must have its sink's
// EOS; the others get the single output's grace. An output that failed
// is not waited for: the pipeline's own EOS would never come.
func (st *stream) flushOutputs(deadline <-chan time.Time, late func(string) error) error {
	grace := time.NewTimer(sinkFlushGrace)
	defer grace.Stop()
	graceOver := false
	for {
		st.outMu.Lock()
		wake, waiting := st.outWake, ""
		for k, o := range st.desc.outputs {
			x := st.outs[k]
			if x.err == nil && !x.eos && (o.target.finishes() || !graceOver) {
				waiting = o.target.Location
				if o.target.finishes() {
					break
				}
			}
		}
		st.outMu.Unlock()
		if waiting == "" {
			break
		}
		select {
		case <-wake:
		case <-grace.C:
			graceOver = true
		case <-st.failed:
			return st.failure()
		case <-deadline:
			return late(waiting + " was not finished")
		}
	}
	if err := st.srtPlayout(); err != nil {
		return err
	}
	return st.acknowledged(time.Now().Add(st.cfg.CloseTimeout / 2))
}

// srtPlayout waits out the SRT latency after the last packet: a receiver
// delivers each packet that long after it was sent, and drops those still
// waiting when the sender closes (measured: the last 3 frames of 60 at
// the default 125 ms).
func (st *stream) srtPlayout() error {
	for k, o := range st.desc.outputs {
		if o.target.Scheme != "srt" {
			continue
		}
		st.outMu.Lock()
		failed := st.outs[k].err != nil
		st.outMu.Unlock()
		if failed {
			continue
		}
		t := time.NewTimer(o.target.srtLatency() + srtPlayoutMargin)
		defer t.Stop()
		select {
		case <-t.C:
		case <-st.failed:
			return st.failure()
		}
	}
	return nil
}

// srtPlayoutMargin covers the round trip on top of the SRT latency.
const srtPlayoutMargin = 100 * time.Millisecond

// acknowledged waits, until the deadline, for the server to acknowledge
// every byte the sink wrote: frames in the kernel's buffers are not yet
// delivered, and a stalled link would lose them silently.
func (st *stream) acknowledged(deadline time.Time) error {
	st.sockMu.Lock()
	sock, found := st.sock, st.found
	st.sockMu.Unlock()
	if !found {
		return nil
	}
	for {
		state, ok := sock.state()
		if !ok || state.pending == 0 {
			return nil // closed after sending everything, or all acknowledged
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s had not acknowledged the stream's last frames within CloseTimeout (%v); they were lost",
				ErrStalled, Redact(st.cfg.Address), st.cfg.CloseTimeout)
		}
		select {
		case <-st.failed:
			return st.failure()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
