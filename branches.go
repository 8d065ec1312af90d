package mpegserver

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// outputSet is a stream's outputs and their fates. With one output, its
// failure is the stream's. With several (a tee), one that fails is
// dropped and reported while the others go on and, with Reconnect, one
// that connects to a server is brought back; the stream fails when all
// have.
type outputSet struct {
	d    description
	p    *gstpipe.Pipeline
	cfg  Config
	clk  clock
	emit func(Event)
	done <-chan struct{} // closed when the stream stops taking frames: no more revivals
	fail func(error)     // ends the whole stream
	dog  *watchdog       // the main output's, nil if it has none
	// keyframe asks the encoder for a keyframe (rate-limited).
	keyframe func()

	mu       sync.Mutex
	state    []outState
	wake     chan struct{} // closed and replaced when an output fails or finishes
	backoffs []*backoff    // per output, kept across its losses
}

// outState is one output's state within a stream with several.
type outState struct {
	err    error // why it failed, nil while it works
	frames int64 // frames it had taken when it failed
	bytes  int64
	eos    bool // its sink has finished
}

func newOutputSet(st *stream) *outputSet {
	s := &outputSet{d: st.desc, p: st.p, cfg: st.cfg, clk: st.clk, emit: st.emit, done: st.done, fail: st.fail,
		keyframe: func() { st.keys.request() }, state: make([]outState, len(st.desc.outputs)), wake: make(chan struct{})}
	for range st.desc.outputs {
		s.backoffs = append(s.backoffs, newBackoff(st.clk, st.cfg.ReconnectMaxWait))
	}
	return s
}

// several reports whether the stream has more than one output.
func (s *outputSet) several() bool { return len(s.d.outputs) > 1 }

// failOutput ends output k with err: with one output that is the
// stream's end; with several, the output is dropped, reported and, with
// Reconnect and a server to connect to, brought back.
func (s *outputSet) failOutput(k int, err error) {
	if !s.several() {
		s.fail(err)
		return
	}
	o := s.d.outputs[k].out
	err = fmt.Errorf("output %s: %w", Redact(o.address()), err)
	s.mu.Lock()
	if s.state[k].err != nil {
		s.mu.Unlock()
		return
	}
	x := &s.state[k]
	x.err = err
	x.frames, x.bytes = s.p.BranchEncoded(k)
	all := true
	for _, y := range s.state {
		all = all && y.err != nil
	}
	s.wakeLocked()
	s.mu.Unlock()
	s.emit(Event{Kind: OutputFailed, Output: Redact(o.address()), Err: err, At: s.clk.Now()})
	if r, ok := o.(runner); ok {
		r.stop()
	}
	if all {
		s.fail(err)
		return
	}
	if s.cfg.Reconnect && o.facts().connects && isLoss(err) {
		go s.revive(k)
	}
}

// revive brings output k back with the reconnection policy: it reaches
// the server again and swaps in a new branch while the other outputs go
// on, until it is up or the stream ends.
func (s *outputSet) revive(k int) {
	b := s.d.outputs[k]
	shown := Redact(b.out.address())
	if n := s.backoffs[k].lost(); n >= flappingAfter {
		s.emit(Event{Kind: Flapping, Output: shown, Attempt: n, At: s.clk.Now()})
	}
	err := retry(s.done, s.backoffs[k], func(attempt int) error {
		s.emit(Event{Kind: Reconnecting, Output: shown, Attempt: attempt, At: s.clk.Now()})
		ctx, cancel := setupContext(s.done, s.cfg.SetupTimeout)
		peer, err := b.out.reach(ctx, s.cfg)
		cancel()
		if err != nil {
			return err
		}
		r, runs := b.out.(runner)
		select {
		case <-s.done: // the stream closed meanwhile: no branch to start
			if runs {
				r.stop()
			}
			return nil
		default:
		}
		if runs {
			// Before the swap, so that the keyframe the new branch waits
			// for goes to the new session.
			r.start(s.run(k))
		}
		before := socketInodes()
		var audio []gstpipe.Element
		if k < len(s.d.audio.joins) {
			j := s.d.audio.joins[k]
			audio = s.d.audio.elements[j.First:j.End]
		}
		if err := s.p.ReplaceBranch(k, s.d.elements[b.first:b.end], audio); err != nil {
			if runs {
				r.stop()
			}
			return err
		}
		s.mu.Lock()
		s.state[k] = outState{}
		s.wakeLocked()
		s.mu.Unlock()
		if k == 0 && s.dog != nil && peer.IsValid() {
			s.dog.start(peer, before)
		}
		s.emit(Event{Kind: Reconnected, Output: shown, Attempt: attempt, At: s.clk.Now()})
		return nil
	})
	if errors.Is(err, ErrRefused) {
		// Refused: the output stays down, with the refusal as its error.
		s.mu.Lock()
		s.state[k].err = fmt.Errorf("output %s: %w", shown, err)
		s.wakeLocked()
		s.mu.Unlock()
		s.emit(Event{Kind: OutputFailed, Output: shown, Err: err, At: s.clk.Now()})
	}
}

// run is what output k's part outside GStreamer gets from the stream:
// the keyframe requests, and where its loss goes.
func (s *outputSet) run(k int) outputRun {
	return outputRun{keyframe: s.keyframe, lost: func(err error) { s.failOutput(k, err) }}
}

func (s *outputSet) wakeLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// outputOf says which output an element belongs to, by its path in the
// pipeline; -1 for the shared part.
func (s *outputSet) outputOf(path string) int {
	if !s.several() {
		return 0
	}
	a := len(s.d.elements) // the audio chain's elements are numbered from here
	for k, o := range s.d.outputs {
		if s.contains(path, o.first, o.end) {
			return k
		}
		if k < len(s.d.audio.joins) && s.contains(path, a+s.d.audio.joins[k].First, a+s.d.audio.joins[k].End) {
			return k
		}
	}
	return -1
}

// shared says whether an element (by its path) is in the part of the
// pipeline every output shares, up to the tee (the video's or the
// audio's).
func (s *outputSet) shared(path string) bool {
	a := len(s.d.elements)
	return s.contains(path, 0, s.d.teeAt+1) || s.contains(path, a, a+s.d.audioSharedEnd())
}

// contains says whether path names one of elements[first:end].
func (s *outputSet) contains(path string, first, end int) bool {
	for i := first; i < end; i++ {
		if name := s.p.ElementName(i); name != "" && strings.Contains(path+"/", ":"+name+"/") {
			return true
		}
	}
	return false
}

// fromSink says whether an element name is output k's sink (its last
// element).
func (s *outputSet) fromSink(k int, name string) bool {
	return name != "" && name == s.p.ElementName(s.d.outputs[k].end-1)
}

// sinkEOS records that output k's sink has finished.
func (s *outputSet) sinkEOS(k int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state[k].eos = true
	s.wakeLocked()
}

// working says whether output k has not failed.
func (s *outputSet) working(k int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[k].err == nil
}

// unfinished names an output still to finish at Close, "" when none is,
// and a channel closed at the next change: an output that finishes (a
// file, a playlist) and has not failed must have its sink's EOS; the
// others only until the grace is over. A failed output is not waited for.
func (s *outputSet) unfinished(graceOver bool) (string, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	waiting := ""
	for k, o := range s.d.outputs {
		x, f := s.state[k], o.out.facts()
		if x.err == nil && !x.eos && (f.finishes || !graceOver) {
			waiting = f.location
			if f.finishes {
				break
			}
		}
	}
	return waiting, s.wake
}

// errors joins the errors of the outputs that failed while others went
// on.
func (s *outputSet) errors() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, o := range s.state {
		if o.err != nil {
			errs = append(errs, o.err)
		}
	}
	return errors.Join(errs...)
}

// stats is each output's figures, for a stream with several.
func (s *outputSet) stats() []OutputStats {
	if !s.several() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OutputStats, len(s.d.outputs))
	for k, o := range s.d.outputs {
		x := OutputStats{Address: Redact(o.out.address()), Err: s.state[k].err, Frames: s.state[k].frames, Bytes: s.state[k].bytes}
		if x.Err == nil {
			x.Frames, x.Bytes = s.p.BranchEncoded(k)
		}
		out[k] = x
	}
	return out
}

// isLoss says whether a failure is the link's or the server's, which a
// new connection may cure, rather than the pipeline's own.
func isLoss(err error) bool {
	return errors.Is(err, ErrDisconnected) || errors.Is(err, ErrStalled) || errors.Is(err, ErrUnreachable)
}

// IsLoss reports whether err is a loss of the server or the link
// (ErrDisconnected, ErrStalled, ErrUnreachable): what Reconnect retries,
// as opposed to an error that a new connection would not cure.
func IsLoss(err error) bool { return isLoss(err) }
