package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// session is one Setup's life until Close: the stream that is open now
// and, with Reconnect, the streams that replace it after each loss. While
// no stream is up, frames are dropped and counted at the frame rate, so a
// producer's loop keeps its pace.
type session struct {
	cfg    Config
	desc   description
	emit   func(Event)
	period time.Duration

	mu         sync.Mutex
	st         *stream // nil while down
	lastErr    error   // the loss that took the last stream down
	attemptErr error   // why the last reconnection attempt failed
	started    time.Time
	downAt     time.Time     // when the current outage began (zero while up)
	downFor    time.Duration // outages that ended
	slot       time.Time     // while down: when the next frame is due
	prev       Stats         // totals of the streams already closed
	dropped    int64
	reconnects int64

	closing   chan struct{} // closed by close
	superDone chan struct{} // closed when the supervisor has stopped
}

func newSession(cfg Config, d description, st *stream, emit func(Event)) *session {
	s := &session{cfg: cfg, desc: d, emit: emit, st: st, started: st.started,
		period: st.tl.period(), closing: make(chan struct{}), superDone: make(chan struct{})}
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
	return len(s.desc.outputs) == 1 && s.desc.target.connects()
}

// isLoss says whether a stream failure is the link's or the server's, which
// a new connection may cure, rather than the pipeline's own.
func isLoss(err error) bool {
	return errors.Is(err, ErrDisconnected) || errors.Is(err, ErrStalled) || errors.Is(err, ErrUnreachable)
}

// serve hands a frame to the stream that is up, or drops it while none is.
func (s *session) serve(ctx context.Context, fr gstpipe.Frame, blocking bool) error {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if st != nil {
		err := st.serve(ctx, fr, blocking)
		if err == nil || !s.cfg.Reconnect || !s.revives() {
			return err
		}
		if failure := st.failure(); failure == nil || !isLoss(failure) {
			return err
		}
		s.markDown(st)
	}
	return s.drop(ctx, blocking)
}

// markDown records that st has failed, once.
func (s *session) markDown(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st != st || st == nil {
		return
	}
	now := time.Now()
	s.st, s.downAt, s.slot, s.lastErr = nil, now, now, st.failure()
}

// drop counts a frame that arrived while no stream was up. Blocking, it
// first waits for the frame's slot, so the caller keeps the frame rate.
func (s *session) drop(ctx context.Context, blocking bool) error {
	s.mu.Lock()
	select {
	case <-s.closing:
		s.mu.Unlock()
		return ErrClosed
	default:
	}
	now := time.Now()
	at := s.slot
	if at.Before(now) {
		at = now
	}
	s.slot = at.Add(s.period)
	s.dropped++
	s.mu.Unlock()
	if !blocking {
		return nil
	}
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return ErrClosed
	}
}

// waitRef is WaitRef: the stream's while up; while down, the time to the
// next frame's slot.
func (s *session) waitRef() time.Duration {
	s.mu.Lock()
	st, slot := s.st, s.slot
	s.mu.Unlock()
	if st != nil {
		return st.waitRef()
	}
	return max(time.Until(slot), 0)
}

// Back-off between reconnection attempts: the first at once, then doubling
// from reconnectFirst up to the configured cap.
const reconnectFirst = 250 * time.Millisecond

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
		_ = st.close() // fast: the failed connection is shut
		s.retire(st)
		s.emit(Event{Kind: Disconnected, Err: err, At: time.Now()})
		if !s.reconnect(st.lastPTS() + s.period) {
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
}

// reconnect opens new streams until one is up (true) or the session closes
// (false). base keeps timestamps going on from the last stream's; the time
// spent down is added to it.
func (s *session) reconnect(base time.Duration) bool {
	return retry(s.closing, s.cfg.ReconnectMaxWait, func(attempt int) bool {
		s.emit(Event{Kind: Reconnecting, Attempt: attempt, At: time.Now()})
		s.mu.Lock()
		down := time.Since(s.downAt)
		s.mu.Unlock()
		st, err := s.open(base + down)
		if err != nil {
			s.mu.Lock()
			s.attemptErr = err
			s.mu.Unlock()
			return false
		}
		s.mu.Lock()
		select {
		case <-s.closing:
			s.mu.Unlock()
			_ = st.close()
			s.retire(st)
			return false // retry sees the session closing
		default:
		}
		s.st, s.reconnects = st, s.reconnects+1
		s.downFor += time.Since(s.downAt)
		s.downAt = time.Time{}
		s.mu.Unlock()
		s.emit(Event{Kind: Reconnected, Attempt: attempt, At: time.Now()})
		return true
	})
}

// retry calls try with attempt 1, 2, ...: the first at once, then after a
// back-off doubling from reconnectFirst up to maxWait, until try succeeds
// (true) or stop is closed (false). The session's reconnection and a
// stream's lost output share it.
func retry(stop <-chan struct{}, maxWait time.Duration, try func(attempt int) bool) bool {
	wait := time.Duration(0)
	for attempt := 1; ; attempt++ {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-stop:
				t.Stop()
				return false
			}
		}
		wait = min(max(2*wait, reconnectFirst), maxWait)
		select {
		case <-stop:
			return false
		default:
		}
		if try(attempt) {
			return true
		}
	}
}

// setupContext bounds one attempt by the setup timeout and ends it when
// stop is closed, so Close does not wait out an attempt.
func setupContext(stop <-chan struct{}, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// open reaches the server and starts a stream, within the setup timeout.
func (s *session) open(base time.Duration) (*stream, error) {
	ctx, cancel := setupContext(s.closing, s.cfg.SetupTimeout)
	defer cancel()
	peer, err := reachAll(ctx, s.desc)
	if err != nil {
		return nil, err
	}
	return openStream(s.cfg, s.desc, peer, base, s.emit)
}

// close ends the session: no more reconnecting, the stream flushed and
// closed. It returns the stream's error, or the loss that had the session
// down when it closed.
func (s *session) close() error {
	close(s.closing)
	<-s.superDone
	s.mu.Lock()
	st, down, lastErr, attemptErr := s.st, !s.downAt.IsZero(), s.lastErr, s.attemptErr
	s.mu.Unlock()
	var err error
	if st != nil {
		err = st.close()
		s.retire(st)
	}
	s.mu.Lock()
	if down {
		s.downFor += time.Since(s.downAt)
		s.downAt = time.Time{}
		if err == nil && lastErr != nil {
			why := ""
			if attemptErr != nil {
				why = "; last attempt: " + attemptErr.Error()
			}
			err = fmt.Errorf("%w (down when closed, %d frames dropped%s)", lastErr, s.dropped, why)
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
	s.mu.Unlock()
	total := prev
	if st != nil {
		total = addStats(prev, st.stats())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	total.Dropped, total.Reconnects, total.Down = s.dropped, s.reconnects, s.downFor
	if !s.downAt.IsZero() {
		total.Down += time.Since(s.downAt)
	}
	total.Elapsed = time.Since(s.started)
	return total
}
