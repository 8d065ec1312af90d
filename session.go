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

// session is one Setup's life until Close: the stream that is open now
// and, with Reconnect, the streams that replace it after each loss. While
// no stream is up, frames are dropped and counted at the frame rate, so a
// producer's loop keeps its pace.
type session struct {
	cfg   Config
	desc  description   // the stream's, at the address in use
	alts  []description // the address and its backups
	cur   int           // which of alts is in use
	clk   clock
	emit  func(Event)
	drops pacer        // frames dropped while down, at the frame rate
	audio sessionAudio // samples to the stream, dropped while down

	mu         sync.Mutex
	st         *stream // nil while down
	lastErr    error   // the loss that took the last stream down
	attemptErr error   // why the last reconnection attempt failed
	started    time.Time
	downAt     time.Time     // when the current outage began (zero while up)
	downFor    time.Duration // outages that ended
	prev       Stats         // totals of the streams already closed
	dying      *stream       // down but not yet retired into prev
	backoff    *backoff      // kept across losses: a flapping link does not reset it
	refusal    error         // a reconnection the server refused: the session is over
	lead       time.Duration // at the last loss: how far ahead of play time the producer was
	trial      bool          // st is a new stream that has not yet delivered a frame
	reconnects int64
	served     atomic.Int64 // frames handed to serve, whatever became of them
	meter      rateMeter

	closing   chan struct{} // closed by close
	superDone chan struct{} // closed when the supervisor has stopped
}

func newSession(cfg Config, alts []description, cur int, clk clock, st *stream, emit func(Event)) *session {
	s := &session{cfg: cfg, desc: alts[cur], alts: alts, cur: cur, clk: clk, emit: emit, st: st, started: st.started, backoff: newBackoff(clk, cfg.ReconnectMaxWait),
		drops: pacer{clk: clk, period: st.src.tl.period()}, closing: make(chan struct{}), superDone: make(chan struct{})}
	s.audio = sessionAudio{s: s, drops: pacer{clk: clk}}
	if cfg.Reconnect && s.revives() {
		go s.supervise()
	} else {
		close(s.superDone)
	}
	return s
}

// revives says whether the session opens its stream again after a
// loss: a single output that connects to a server. With several outputs
// the stream brings a lost output back by itself while the others go on:
// opening the whole stream again would start the record over.
func (s *session) revives() bool {
	return len(s.desc.outputs) == 1 && s.desc.main().connects
}

// serve hands a frame to the stream that is up, or drops it while none is.
func (s *session) serve(ctx context.Context, fr gstpipe.Frame, blocking bool) error {
	s.served.Add(1)
	if now := s.clk.Now(); s.meter.due(now) {
		st := s.stats()
		s.meter.add(now, st.Pushed, st.Bytes)
	}
	s.mu.Lock()
	st, refusal, trial := s.st, s.refusal, s.trial
	s.mu.Unlock()
	if refusal != nil {
		return refusal
	}
	if st != nil && trial {
		// A new stream not yet delivering may never take a frame: it gets
		// frames without waiting on its back-pressure, and those it cannot
		// take are dropped and counted at the frame rate, so a producer is
		// never held by a reconnection.
		if blocking {
			if err := sleepCtx(ctx, st.src.waitRef()); err != nil {
				return err
			}
		}
		if st.src.serve(ctx, fr, false) == nil {
			return nil
		}
		return s.drop(ctx, blocking)
	}
	if st != nil {
		if err := st.src.serve(ctx, fr, blocking); !s.lost(st, err) {
			return err
		}
	}
	return s.drop(ctx, blocking)
}

// lost says whether err, from serving to st, is the loss of a stream the
// session opens again: then st is marked down, and what was served is
// dropped and counted.
func (s *session) lost(st *stream, err error) bool {
	if err == nil || !s.cfg.Reconnect || !s.revives() {
		return false
	}
	if failure := st.failure(); failure == nil || !isLoss(failure) {
		return false
	}
	s.markDown(st)
	return true
}

// markDown records that st has failed, once.
func (s *session) markDown(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != st || st == nil {
		return
	}
	now := s.clk.Now()
	s.st, s.lastErr, s.dying, s.trial = nil, st.failure(), st, false
	s.drops.start(now)
	s.audio.drops.start(now)
	if s.downAt.IsZero() {
		s.downAt = now // a stream on trial that fails does not start a new outage
	}
	s.lead = st.src.lead()
}

// drop counts a frame that arrived while no stream was up (the pacer
// keeps its pace).
func (s *session) drop(ctx context.Context, blocking bool) error {
	select {
	case <-s.closing:
		return ErrClosed
	default:
	}
	return s.drops.drop(ctx, blocking, s.closing)
}

// waitRef is WaitRef: the stream's while up; while down, the time to the
// next frame's slot.
func (s *session) waitRef() time.Duration {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if st != nil {
		return st.src.waitRef()
	}
	return s.drops.wait()
}

// supervise waits for the stream to fail and, when the failure is a loss,
// replaces it until one is up again or the session closes.
func (s *session) supervise() {
	defer close(s.superDone)
	for {
		s.mu.Lock()
		st := s.st
		s.mu.Unlock()
		select {
		case <-st.failed:
		case <-s.closing:
			return
		}
		err := st.failure()
		if !isLoss(err) {
			return // serve reports it; a new connection would not help
		}
		s.markDown(st)
		_ = st.close(context.Background()) // fast: the failed connection is shut
		s.retire(st)
		s.emit(Event{Kind: Disconnected, Err: err, At: s.clk.Now()})
		if n := s.backoff.lost(); n >= flappingAfter {
			s.emit(Event{Kind: Flapping, Err: err, Attempt: n, At: s.clk.Now()})
		}
		if err := s.reconnect(); err != nil {
			if errors.Is(err, ErrRefused) {
				s.mu.Lock()
				s.refusal = err
				s.mu.Unlock()
				s.emit(Event{Kind: Disconnected, Err: err, At: s.clk.Now()})
			}
			return
		}
	}
}

// retire adds a closed stream's figures to the session's totals.
func (s *session) retire(st *stream) {
	x := st.stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prev = addStats(s.prev, x)
	if s.dying == st {
		s.dying = nil
	}
}

// reconnect opens new streams until one is up (true) or the session closes
// (false). Each new stream's time stamps start from its own pipeline's
// running time: carried over from the last stream, they made a live
// muxer (flvmux, mpegtsmux) hold the first frames until its clock caught
// up, as long as the last stream had run (docs/design.md).
func (s *session) reconnect() error {
	return retry(s.closing, s.backoff, func(attempt int) error {
		s.emit(Event{Kind: Reconnecting, Output: s.shown(), Attempt: attempt, At: s.clk.Now()})
		st, err := s.open()
		if err != nil {
			s.mu.Lock()
			s.attemptErr = err
			if len(s.alts) > 1 && !errors.Is(err, ErrRefused) {
				// The address in use did not come back: the next one.
				s.cur = (s.cur + 1) % len(s.alts)
				s.desc = s.alts[s.cur]
			}
			s.mu.Unlock()
			return err
		}
		s.mu.Lock()
		select {
		case <-s.closing:
			s.mu.Unlock()
			_ = st.close(context.Background())
			s.retire(st)
			return ErrClosed // retry sees the session closing
		default:
		}
		// The producer is still as far ahead of play time as it was when
		// the last stream was lost (dropped frames kept its pace): a fresh
		// stream would otherwise let it run a whole frames-ahead ahead again
		// at each reconnection.
		st.src.setLead(s.lead)
		// Frames go to the new stream from now on, but it is back only
		// once they reach the server: a connection that opens and
		// delivers nothing is not a reconnection.
		s.st, s.trial = st, true
		s.mu.Unlock()
		if err := st.delivering(s.closing, s.cfg.SetupTimeout); err != nil {
			st.fail(err) // a frame waiting on it sees a loss, not a Close
			s.markDown(st)
			_ = st.close(context.Background())
			s.retire(st)
			s.mu.Lock()
			s.attemptErr = err
			s.mu.Unlock()
			return err
		}
		s.mu.Lock()
		s.trial, s.reconnects = false, s.reconnects+1
		s.downFor += s.clk.Now().Sub(s.downAt)
		s.downAt = time.Time{}
		s.mu.Unlock()
		s.emit(Event{Kind: Reconnected, Output: s.shown(), Attempt: attempt, At: s.clk.Now()})
		return nil
	})
}

// open reaches the server at the address in use and starts a stream,
// within the setup timeout.
func (s *session) open() (*stream, error) {
	ctx, cancel := setupContext(s.closing, s.cfg.SetupTimeout)
	defer cancel()
	s.mu.Lock()
	d, cfg := s.desc, s.cfg
	s.mu.Unlock()
	cfg.Address = d.outputs[0].out.address()
	peer, err := reachAll(ctx, d, cfg)
	if err != nil {
		return nil, err
	}
	return openStream(cfg, d, s.clk, peer, s.emit)
}

// shown is the address in use, redacted, when there are backups to tell
// it from ("" otherwise).
func (s *session) shown() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.alts) < 2 {
		return ""
	}
	return Redact(s.desc.outputs[0].out.address())
}

// close ends the session: no more reconnecting, the stream flushed and
// closed. It returns the stream's error, or the loss that had the session
// down when it closed.
func (s *session) close(ctx context.Context) error {
	close(s.closing)
	<-s.superDone
	s.mu.Lock()
	st, down, lastErr, attemptErr := s.st, !s.downAt.IsZero(), s.lastErr, s.attemptErr
	s.mu.Unlock()
	var err error
	if st != nil {
		err = st.close(ctx)
		s.retire(st)
	}
	s.mu.Lock()
	if down {
		s.downFor += s.clk.Now().Sub(s.downAt)
		s.downAt = time.Time{}
		if err == nil && lastErr != nil {
			why := ""
			if attemptErr != nil {
				why = "; last attempt: " + attemptErr.Error()
			}
			err = fmt.Errorf("%w (down when closed, %d frames dropped%s)", lastErr, s.drops.count(), why)
		}
	}
	s.st = nil
	s.mu.Unlock()
	return err
}

// stats adds the open stream's figures to those of the streams before it.
func (s *session) stats() Stats {
	s.mu.Lock()
	st, prev := s.st, s.prev
	if st == nil {
		st = s.dying // down, not yet retired: its figures still count
	}
	s.mu.Unlock()
	total := prev
	if st != nil {
		total = addStats(prev, st.stats())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	total.Dropped, total.Reconnects, total.Down = s.drops.count(), s.reconnects, s.downFor
	total.AudioDropped = s.audio.drops.lasted()
	if !s.downAt.IsZero() {
		total.Down += s.clk.Now().Sub(s.downAt)
	}
	total.Elapsed = time.Since(s.started)
	total.Served = s.served.Load()
	total.Address = Redact(s.desc.outputs[0].out.address())
	total.FPS, total.BitRate = s.meter.rates(s.clk.Now(), total.Pushed, total.Bytes)
	return total
}

// sleepCtx waits d, or less if ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
