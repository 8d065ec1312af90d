package mpegserver

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// stream is one open pipeline, from Setup (or a reconnection) to Close:
// its push path (appsrc.go), its outputs and their failover
// (branches.go), the main output's watchdog (watchdog.go), and how it
// closes (close.go). It fails once, with the first error that ends it.
type stream struct {
	cfg   Config
	desc  description
	clk   clock
	emit  func(Event)
	p     *gstpipe.Pipeline
	src   *appsrc
	audio *audioTrack // nil without an audio track
	outs  *outputSet
	dog   *watchdog  // nil unless the main output is watched
	keys  *keyframes // keyframes asked of the encoder beyond its GOP

	started  time.Time
	finished atomic.Pointer[time.Time] // set once Close is done

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
}

// openStream builds and starts the pipeline for a compiled configuration;
// peer is the main output's server as Setup dialled it.
func openStream(cfg Config, d description, clk clock, peer netip.AddrPort, emit func(Event)) (*stream, error) {
	st := &stream{cfg: cfg, desc: d, clk: clk, emit: emit,
		done: make(chan struct{}), drained: make(chan struct{}), eos: make(chan struct{}), failed: make(chan struct{})}
	fl, afl := newFlow(), newFlow()
	spec := d.spec()
	if len(d.audio.elements) > 0 {
		spec.OnAudioFlow = afl.set
	}
	p, err := buildPipeline(spec, fl)
	if err != nil {
		return nil, err
	}
	st.p = p
	origin := &streamOrigin{min: d.audio.delay} // both tracks count from it
	st.src = &appsrc{p: p, flow: fl, hard: d.hard, done: st.done, failure: st.failure, ended: st.fail,
		tl: timeline{rate: cfg.FrameRate, ahead: cfg.Ahead(), offline: !d.live(), start: origin}}
	if len(d.audio.elements) > 0 {
		st.audio = newAudioTrack(st, afl, origin)
		st.src.pushedTo = st.audio.follow
		if cfg.Audio.Source == ServedAudio {
			st.src.tl.rejoin = st.audio.videoRejoin
		}
	}
	st.outs = newOutputSet(st)
	st.keys = newKeyframes(clk, st.done, func() { p.RequestKeyframe(d.countAt) })
	if err := st.startRunners(); err != nil {
		p.Release()
		stopRunners(d)
		return nil, err
	}
	watched := d.main().watched && peer.IsValid()
	if watched {
		st.dog = newWatchdog(Redact(cfg.Address), cfg, func(err error) { st.outs.failOutput(0, err) }, st.failed, st.failure)
		st.outs.dog = st.dog
	}
	// The sink's connection is a socket that does not exist yet.
	before := socketInodes()
	if err := p.Start(st.onEvent); err != nil {
		p.Release()
		stopRunners(d)
		return nil, fmt.Errorf("%w: %v", ErrPipeline, err)
	}
	st.started = time.Now()
	if watched {
		st.dog.start(peer, before)
	}
	if st.audio != nil && d.live() {
		go st.audio.run(st.done)
	}
	return st, nil
}

// startRunners hands each output with a part outside GStreamer (WHIP)
// its appsink's buffers and its stream, before the first frame.
func (st *stream) startRunners() error {
	for k, b := range st.desc.outputs {
		r, ok := b.out.(runner)
		if !ok {
			continue
		}
		if err := st.p.OnSamples(b.end-1, r.sink); err != nil {
			return fmt.Errorf("%w: %v", ErrPipeline, err)
		}
		r.start(st.outs.run(k))
	}
	return nil
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

func (st *stream) failure() error {
	st.errMu.Lock()
	defer st.errMu.Unlock()
	return st.err
}

// connected says whether the main output had its connection: the
// watchdog found it, or frames went through the sink.
func (st *stream) connected() bool {
	frames, _ := st.p.Encoded()
	return (st.dog != nil && st.dog.hasConnection()) || frames > 1
}

// delivering waits until the stream's first frames have reached the main
// output's server (acknowledged, where the watchdog sees the connection;
// through the sink without an error, elsewhere), within bound. It says why
// not: the stream failed, stop was closed, or the bound passed.
func (st *stream) delivering(stop <-chan struct{}, bound time.Duration) error {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		frames, _ := st.p.Encoded()
		if st.dog != nil && st.dog.acknowledgedSome() || st.dog == nil && frames >= deliveredFrames {
			return nil
		}
		select {
		case <-st.failed:
			return st.failure()
		case <-stop:
			return ErrClosed
		case <-deadline.C:
			return fmt.Errorf("%w: %s: connected, but no frame reached it within %v", ErrStalled, Redact(st.cfg.Address), bound)
		case <-tick.C:
		}
	}
}

// deliveredFrames is how many frames an output without a watched
// connection must have taken without an error to count as delivering:
// by then its sink has written (SRT refuses its first write at once when
// the receiver rejected the connection).
const deliveredFrames = 3

// onEvent handles what the pipeline's bus reports.
func (st *stream) onEvent(ev gstpipe.Event) {
	switch ev.Kind {
	case gstpipe.EventError:
		k := st.outs.outputOf(ev.Path)
		kind := ErrPipeline
		if k >= 0 {
			kind = st.desc.outputs[k].out.classify(ev, st.outs.fromSink(k, ev.Source), st.connected())
		}
		err := &PipelineError{Element: ev.Source, Message: ev.Message, Debug: ev.Debug, kind: kind}
		switch {
		case k >= 0:
			st.outs.failOutput(k, err)
		case st.outs.shared(ev.Path):
			st.fail(err)
		default:
			// An element of an output branch that was replaced: its
			// last words concern a connection already given up.
		}
	case gstpipe.EventSinkEOS:
		if k := st.outs.outputOf(ev.Path); k >= 0 {
			st.outs.sinkEOS(k)
		}
	case gstpipe.EventWarning:
		st.warns.Add(1)
	case gstpipe.EventDrained:
		st.drainOne.Do(func() { close(st.drained) })
	case gstpipe.EventEOS:
		st.eosOnce.Do(func() { close(st.eos) })
	}
}

// stats are the stream's figures so far.
func (st *stream) stats() Stats {
	end := time.Now()
	fin := st.finished.Load()
	if fin != nil {
		end = *fin
	}
	s := Stats{Warnings: st.warns.Load(), Elapsed: end.Sub(st.started)}
	st.src.counts(&s, fin == nil)
	if st.audio != nil {
		st.audio.counts(&s)
	}
	s.Encoded, s.Bytes = st.p.Encoded()
	s.Outputs = st.outs.stats()
	counts, sum := st.p.EncodeLatency()
	s.EncodeLatency = Latency{Bounds: gstpipe.LatencyBounds, Counts: counts, Sum: sum}
	return s
}
