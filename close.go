package mpegserver

import (
	"fmt"
	"time"
)

// releaseReserve is kept from the close timeout for stopping and freeing
// the pipeline after the flush.
const releaseReserve = 100 * time.Millisecond

// sinkFlushGrace bounds the wait for a network sink to finish sending what
// it queued once every frame has reached it (docs/design.md: without it
// about 1 close in 200 lost its last frame over RTSP).
const sinkFlushGrace = 300 * time.Millisecond

// close sends end-of-stream, waits until every queued frame has left (and,
// for a stream, has been acknowledged by the server), and releases the
// pipeline, all within the close timeout. It returns the failure that
// ended the stream, or what kept frames from leaving.
func (st *stream) close() error {
	// The flush may use the close timeout less what stopping the pipeline
	// takes afterwards (a few milliseconds once a dead connection is shut).
	deadline := time.Now().Add(st.cfg.CloseTimeout - min(st.cfg.CloseTimeout/10, releaseReserve))
	pushed := st.src.finish()
	st.doneOnce.Do(func() { close(st.done) }) // wakes blocked ServeFrameBlock calls
	flush := pushed > 0 && st.failure() == nil
	var err error
	if flush {
		st.p.EndOfStream()
		err = st.flush(pushed, deadline)
	}
	if e := st.failure(); e != nil && err == nil {
		err = e
	}
	if err == nil {
		// Outputs that failed while the others went on.
		err = st.outs.errors()
	}
	if st.dog != nil {
		st.dog.stop()
		if err != nil {
			// What is left in the connection will not be sent: end it,
			// so the sink stops at once instead of finishing a blocked
			// send.
			st.dog.shutdown()
		}
	}
	st.p.Release()
	now := time.Now()
	st.finished.Store(&now)
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
	if err := st.sinksFinished(timer.C, late); err != nil {
		return err
	}
	if err := st.playout(); err != nil {
		return err
	}
	if st.dog == nil {
		return nil
	}
	if st.outs.several() {
		// Another output may have used the deadline up; the server gets
		// half the close timeout whatever.
		deadline = time.Now().Add(st.cfg.CloseTimeout / 2)
	}
	return st.dog.acknowledged(deadline, st.cfg.CloseTimeout)
}

// sinksFinished waits for the sinks after every frame has reached them.
// An output that finishes (a file's index, a playlist's last segment)
// must have its sink's EOS; the others send from their own queues, and
// their EOS is often late or missing (docs/design.md), so it is waited
// for only briefly. An output that failed is not waited for.
func (st *stream) sinksFinished(deadline <-chan time.Time, late func(string) error) error {
	grace := time.NewTimer(sinkFlushGrace)
	defer grace.Stop()
	graceOver := false
	for {
		var waiting string
		var wake <-chan struct{}
		if st.outs.several() {
			waiting, wake = st.outs.unfinished(graceOver)
		} else if f := st.desc.main(); f.finishes || !graceOver {
			waiting, wake = f.location, st.eos
		}
		if waiting == "" {
			return nil
		}
		select {
		case <-wake:
			if !st.outs.several() {
				return nil
			}
		case <-grace.C:
			graceOver = true
		case <-st.failed:
			return st.failure()
		case <-deadline:
			return late(waiting + " was not finished")
		}
	}
}

// playout waits out each working output's playout time after the last
// packet: an SRT receiver delivers each packet its latency after it was
// sent, and drops those still waiting when the sender closes (measured:
// the last 3 frames of 60 at the default 125 ms).
func (st *stream) playout() error {
	var wait time.Duration
	for k, o := range st.desc.outputs {
		if st.outs.working(k) {
			wait = max(wait, o.out.facts().playout)
		}
	}
	if wait == 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-st.failed:
		return st.failure()
	}
}
