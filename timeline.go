package mpegserver

import (
	"math/bits"
	"time"
)

// lateSlots is how many frame periods a frame may arrive after its slot on
// the time line before the time line slips forward to now. Within that,
// frames keep counter × period timestamps, so a jittery caller still gives
// a smooth stream; beyond it (a stall), the stream resumes at real time
// instead of sending a burst of stale frames.
const lateSlots = 4

// timeline stamps frames and applies the frames-ahead rule. Times are
// pipeline running time. The stream guards it with its push lock.
type timeline struct {
	rate     Rational
	offline  bool          // a file: stamp 0, T, 2T, ... and never wait on the clock
	ahead    int           // N_ahead
	origin   time.Duration // running time of frame 0 since the last slip
	index    int64         // frames stamped since the last slip
	started  bool
	slips    int64
	maxAhead int64
	// lead is how far ahead of play time the producer already was when
	// this time line began (carried from a stream lost under it): counted
	// as ahead until the producer falls behind its slots.
	lead time.Duration
	// start is where the stream's time line begins, shared with its
	// audio track; nil: at the first frame.
	start *streamOrigin
	// rejoin, when set, says where the next frame goes after a stall
	// (now at the earliest), to be in step with served audio that went
	// on; it is given now and the frame period.
	rejoin func(now, period time.Duration) time.Duration
}

// at is the timestamp of frame k after the origin: k × den/num seconds,
// computed exactly in 128 bits so it never drifts or overflows.
func (t *timeline) at(k int64) time.Duration {
	hi, lo := bits.Mul64(uint64(k), uint64(t.rate.Den)*uint64(time.Second))
	q, _ := bits.Div64(hi%uint64(t.rate.Num), lo, uint64(t.rate.Num))
	return t.origin + time.Duration(q)
}

// framePeriod is one frame's duration at rate r.
func framePeriod(r Rational) time.Duration {
	return time.Duration(uint64(r.Den) * uint64(time.Second) / uint64(r.Num))
}

func (t *timeline) period() time.Duration {
	return framePeriod(t.rate)
}

// next is the timestamp the next frame gets if it is on time.
func (t *timeline) next() time.Duration { return t.at(t.index) }

// unplayed counts the stamped frames whose play time is still ahead of now:
// N_pushed − N_played in the documented rule.
func (t *timeline) unplayed(now time.Duration) int64 {
	if t.offline {
		return 0
	}
	d := t.reach(now) - now
	if d <= 0 {
		return 0
	}
	p := t.period()
	return int64((d+p-1)/p) - 1
}

// wait is waitRef: how long from now until N_pushed − N_played ≤ N_ahead,
// the documented rule T × max(N_pushed − N_played − N_ahead, 0) taken to
// the exact instant rather than rounded up to whole periods.
func (t *timeline) wait(now time.Duration) time.Duration {
	if t.offline {
		return 0
	}
	w := t.reach(now) - time.Duration(t.ahead+1)*t.period() - now
	return max(w, 0)
}

// reach is the play time the producer has reached: the next frame's
// slot, the lead carried from a lost stream included.
func (t *timeline) reach(now time.Duration) time.Duration {
	if !t.started {
		return max(now, 0) + t.lead
	}
	return t.next() + t.lead
}

// stamp gives the next frame its timestamp.
func (t *timeline) stamp(now time.Duration) time.Duration {
	switch {
	case t.offline:
		if !t.started {
			t.origin = t.start.at(0) // 0, or later by the audio encoder's delay
		}
		t.started = true
	case !t.started:
		t.started, t.origin, t.index = true, t.start.at(now), 0
	case now > t.next()+lateSlots*t.period():
		t.slips++
		t.origin, t.index, t.lead = now, 0, 0
		if t.rejoin != nil {
			t.origin = t.rejoin(now, t.period())
		}
	case now > t.next():
		// Behind its slot: the producer uses up the lead it had.
		t.lead = max(t.lead-(now-t.next()), 0)
	}
	pts := t.next()
	t.index++
	if u := t.unplayed(now); u > t.maxAhead {
		t.maxAhead = u
	}
	return pts
}
