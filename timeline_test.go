package mpegserver

import (
	"math/big"
	"testing"
	"time"
)

// TestTimelineNoDrift: at 30000/1001 fps, every timestamp over 24 hours is
// the exact k × 1001/30000 s, rounded down to the nanosecond, so the
// stream never drifts from the frame count.
func TestTimelineNoDrift(t *testing.T) {
	tl := timeline{rate: Rational{30000, 1001}}
	frames := int64(24 * 3600 * 30000 / 1001)
	exact := func(k int64) time.Duration {
		n := new(big.Int).Mul(big.NewInt(k), big.NewInt(1001*int64(time.Second)))
		return time.Duration(n.Div(n, big.NewInt(30000)).Int64())
	}
	p := tl.period()
	prev := tl.at(0)
	for k := int64(1); k <= frames; k++ {
		got := tl.at(k)
		if d := got - prev; d != p && d != p+1 {
			t.Fatalf("frame %d is %v after frame %d, want %v or 1 ns more", k, d, k-1, p)
		}
		prev = got
		if k%100003 == 0 || k == frames {
			if want := exact(k); got != want {
				t.Fatalf("frame %d at %v, want %v", k, got, want)
			}
		}
	}
	if got := tl.at(30000); got != 1001*time.Second {
		t.Errorf("frame 30000 at %v, want exactly 1001 s", got)
	}
	// Far past 24 hours, still exact and no overflow: a year of frames.
	year := int64(365 * 24 * 3600 * 30000 / 1001)
	if got, want := tl.at(year), exact(year); got != want {
		t.Errorf("a year in: %v, want %v", got, want)
	}
}

// TestTimelineFrameAheadRule: WaitRef is the documented
// T × max(N_pushed − N_played − N_ahead, 0), to the instant.
func TestTimelineFrameAheadRule(t *testing.T) {
	tl := timeline{rate: Rational{25, 1}, ahead: 2}
	T := tl.period()
	if w := tl.wait(0); w != 0 {
		t.Errorf("wait before the first frame = %v, want 0", w)
	}
	for i := 0; i < 10; i++ {
		if pts := tl.stamp(0); pts != time.Duration(i)*T {
			t.Fatalf("frame %d stamped %v, want %v", i, pts, time.Duration(i)*T)
		}
	}
	// Ten frames pushed at once: frame 0 plays now, 9 are ahead, the rule
	// allows 2 ahead after the next push, so the wait is 10 − 1 − 2 = 7 periods.
	if u := tl.unplayed(0); u != 9 {
		t.Errorf("unplayed = %d, want 9", u)
	}
	if w := tl.wait(0); w != 7*T {
		t.Errorf("wait = %v, want %v", w, 7*T)
	}
	if w := tl.wait(5 * T); w != 2*T {
		t.Errorf("wait 5 periods later = %v, want %v", w, 2*T)
	}
	if w := tl.wait(7 * T); w != 0 {
		t.Errorf("wait once due = %v, want 0", w)
	}
	if u := tl.unplayed(7 * T); u != 2 {
		t.Errorf("unplayed once due = %d, want 2 (frames ahead)", u)
	}
	if tl.maxAhead != 9 {
		t.Errorf("maxAhead = %d, want 9", tl.maxAhead)
	}
}

// TestTimelineSlips: a frame up to lateSlots periods late keeps its slot
// (a smooth stream for a jittery caller); later than that, the time line
// restarts at now instead of sending a burst of stale frames.
func TestTimelineSlips(t *testing.T) {
	tl := timeline{rate: Rational{30, 1}}
	T := tl.period()
	start := 5 * time.Second
	if pts := tl.stamp(start); pts != start {
		t.Fatalf("first frame stamped %v, want its running time %v", pts, start)
	}
	// Frame 1 is due at start+T; arriving lateSlots periods after that
	// still keeps its slot.
	if pts := tl.stamp(start + T + lateSlots*T); pts != start+T || tl.slips != 0 {
		t.Errorf("late frame stamped %v (slips %d), want %v", pts, tl.slips, start+T)
	}
	// Frame 2 is due at start+2T; a stall of a second moves the line.
	now := start + 2*T + time.Second
	if pts := tl.stamp(now); pts != now || tl.slips != 1 {
		t.Errorf("frame after a stall stamped %v (slips %d), want %v", pts, tl.slips, now)
	}
	if pts := tl.stamp(now); pts != now+T {
		t.Errorf("next frame stamped %v, want %v", pts, now+T)
	}
}

// TestTimelineOffline: a file is stamped 0, T, 2T, ... whatever the clock
// says, and never waits.
func TestTimelineOffline(t *testing.T) {
	tl := timeline{rate: Rational{30, 1}, offline: true, ahead: 0}
	for i := 0; i < 5; i++ {
		if pts := tl.stamp(time.Hour); pts != time.Duration(i)*time.Second/30 {
			t.Errorf("frame %d stamped %v", i, pts)
		}
	}
	if w := tl.wait(0); w != 0 {
		t.Errorf("offline wait = %v, want 0", w)
	}
}

func TestQueueBounds(t *testing.T) {
	cfg := func(opts ...Option) Config {
		c := DefaultConfig()
		for _, o := range opts {
			o(&c)
		}
		return c
	}
	for _, tc := range []struct {
		name       string
		c          Config
		live       bool
		soft, hard int
	}{
		{"default live: 2×GOP + 2, hard 2×soft + 2", cfg(), true, 62, 126},
		{"frames ahead set", cfg(FrameAhead(5)), true, 7, 16},
		{"file: a short queue", cfg(), false, 4, 10},
		// 1080p I420 is 3,110,400 bytes: 512 MiB holds 172 of them.
		{"1080p, large frames ahead: capped by bytes", cfg(Size(1920, 1080), FrameAhead(200)), true, 171, 172},
		{"1080p, frames ahead within the cap", cfg(Size(1920, 1080), FrameAhead(60)), true, 62, 126},
		{"a frame over the byte cap: two frames", cfg(Size(16384, 16384), FrameAhead(3)), true, 1, 2},
		// appsrc holds frames scaled to the output size already.
		{"output size counts, not source size", cfg(Size(3840, 2160), SourceSize(640, 360), FrameAhead(60)), true, 42, 43},
		{"a large source scaled down is small", cfg(Size(640, 360), SourceSize(3840, 2160), FrameAhead(60)), true, 62, 126},
	} {
		soft, hard := queueBounds(tc.c, tc.live)
		if soft != tc.soft || hard != tc.hard {
			t.Errorf("%s: soft %d hard %d, want %d %d", tc.name, soft, hard, tc.soft, tc.hard)
		}
	}
}
