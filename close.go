package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// releaseReserve is kept from the close timeout for stopping and freeing
// the pipeline after the flush.
const releaseReserve = 100 * time.Millisecond

// errCloseTimeout is the cause of a flush that ran out of CloseTimeout.
var errCloseTimeout = errors.New("the close timeout ran out")

// sinkFlushGrace bounds the wait for a network sink to finish sending what
// it queued once every frame has reached it (docs/design.md: without it
// about 1 close in 200 lost its last frame over RTSP).
const sinkFlushGrace = 300 * time.Millisecond

// close sends end-of-stream, waits until every queued frame has left (and,
// for a stream, has been acknowledged by the server), and releases the
// pipeline, all within the close timeout, or sooner if ctx ends. It
// returns the failure that ended the stream, or what kept frames from
// leaving.
func (st *stream) close(ctx context.Context) error {
	// The flush may use the close timeout less what stopping the pipeline
	// takes afterwards (a few milliseconds once a dead connection is shut).
	ctx, cancel := context.WithTimeoutCause(ctx, st.cfg.CloseTimeout-min(st.cfg.CloseTimeout/10, releaseReserve), errCloseTimeout)
	defer cancel()
	pushed := st.src.finish()
	// The audio track, made as long as the frames, ends with them.
	audio := st.audio != nil && st.audio.finish()
	st.doneOnce.Do(func() { close(st.done) }) // wakes blocked ServeFrameBlock calls
	flush := (pushed > 0 || audio) && st.failure() == nil
	var err error
	if flush {
		st.p.EndOfStream()
		st.p.AudioEndOfStream()
		err = st.flush(ctx, pushed)
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
	// After the last packet has left: a WHIP session is DELETEd.
	stopRunners(st.desc)
	st.removeEmpty()
	now := time.Now()
	st.finished.Store(&now)
	return err
}

// removeEmpty removes the files the outputs left empty (no frame reached
// them): an empty file is no video, and would pass for one.
func (st *stream) removeEmpty() {
	for _, o := range st.desc.outputs {
		name := o.out.facts().file
		if fi, err := os.Stat(name); name != "" && err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			_ = os.Remove(name)
		}
	}
}

// flush waits, until ctx ends (the close timeout, or the caller's
// context), for the pushed frames to leave after end-of-stream. A failure
// meanwhile (a disk full, a lost server) ends the wait and is returned as
// itself.
func (st *stream) flush(ctx context.Context, pushed int64) error {
	late := func(kind error, what string) error {
		if context.Cause(ctx) != errCloseTimeout {
			return fmt.Errorf("mpegserver: Close cut short: %d frames pushed; %s: %w", pushed, what, context.Cause(ctx))
		}
		return fmt.Errorf("%w: %d frames pushed; %s within CloseTimeout (%v)", kind, pushed, what, st.cfg.CloseTimeout)
	}
	select {
	case <-st.drained:
	case <-st.failed:
		return st.failure()
	case <-ctx.Done():
		return late(ErrPipeline, "not all of them had left the encoder")
	}
	if err := st.sinksFinished(ctx, late); err != nil {
		return err
	}
	if err := st.playout(ctx, late); err != nil {
		return err
	}
	if st.dog == nil {
		return nil
	}
	return st.dog.acknowledged(ctx, late)
}

// sinksFinished waits for the sinks after every frame has reached them.
// An output that finishes (a file's index, a playlist's last segment)
// must have its sink's EOS; the others send from their own queues, and
// their EOS is often late or missing (docs/design.md), so it is waited
// for only briefly. An output that failed is not waited for.
func (st *stream) sinksFinished(ctx context.Context, late func(error, string) error) error {
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
		case <-ctx.Done():
			return late(ErrPipeline, waiting+" was not finished")
		}
	}
}

// playout waits out each working output's playout time after the last
// packet: an SRT receiver delivers each packet its latency after it was
// sent, and drops those still waiting when the sender closes (measured:
// the last 3 frames of 60 at the default 125 ms).
func (st *stream) playout(ctx context.Context, late func(error, string) error) error {
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
	case <-ctx.Done():
		return late(ErrPipeline, "the receiver's latency was not waited out")
	}
}
