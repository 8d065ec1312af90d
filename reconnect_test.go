package mpegserver

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitTimer waits, with a deadline in real time, until the fake clock has
// a timer set, and returns how long until it fires.
func waitTimer(t *testing.T, clk *fakeClock) time.Duration {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		n, set := clk.Pending()
		if n > 0 {
			d, _ := clk.NextIn()
			return d
		}
		select {
		case <-set:
		case <-deadline:
			t.Fatal("no timer was set within 5 s")
		}
	}
}

// TestBackoffSequence: the first attempt at once, then 250 ms doubling to
// the cap, whatever the cap.
func TestBackoffSequence(t *testing.T) {
	for _, tc := range []struct {
		max  time.Duration
		want []time.Duration
	}{
		{5 * time.Second, []time.Duration{0, 250e6, 500e6, 1e9, 2e9, 4e9, 5e9, 5e9}},
		{300 * time.Millisecond, []time.Duration{0, 250e6, 300e6, 300e6}},
		{100 * time.Millisecond, []time.Duration{0, 100e6, 100e6}},
	} {
		b := newBackoff(newFakeClock(), tc.max)
		for i, want := range tc.want {
			if got := b.next(); got != want {
				t.Errorf("cap %v: wait %d = %v, want %v", tc.max, i+1, got, want)
			}
		}
	}
}

// TestRetryWaitsOnTheClock drives retry with a fake clock: each attempt
// comes only when its back-off has passed, the attempt numbers count up,
// and success ends it.
func TestRetryWaitsOnTheClock(t *testing.T) {
	clk := newFakeClock()
	attempts := make(chan int, 10)
	done := make(chan bool, 1)
	go func() {
		done <- retry(make(chan struct{}), newBackoff(clk, time.Second), func(attempt int) error {
			attempts <- attempt
			if attempt == 4 {
				return nil
			}
			return ErrUnreachable
		}) == nil
	}()
	if a := <-attempts; a != 1 {
		t.Fatalf("first attempt numbered %d", a)
	}
	for i, want := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second} {
		if d := waitTimer(t, clk); d != want {
			t.Fatalf("wait before attempt %d: %v, want %v", i+2, d, want)
		}
		select {
		case a := <-attempts:
			t.Fatalf("attempt %d before its wait was over", a)
		default:
		}
		clk.Advance(want)
		if a := <-attempts; a != i+2 {
			t.Fatalf("attempt numbered %d, want %d", a, i+2)
		}
	}
	if ok := <-done; !ok {
		t.Fatal("retry gave up after a successful attempt")
	}
}

// TestRetryStops: closing stop during a back-off ends retry at once, with
// no further attempt.
func TestRetryStops(t *testing.T) {
	clk := newFakeClock()
	stop := make(chan struct{})
	attempts := 0
	done := make(chan bool, 1)
	go func() {
		done <- retry(stop, newBackoff(clk, time.Second), func(int) error { attempts++; return ErrUnreachable }) == nil
	}()
	waitTimer(t, clk)
	close(stop)
	select {
	case ok := <-done:
		if ok || attempts != 1 {
			t.Fatalf("retry = %v after %d attempts, want false after 1", ok, attempts)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("retry did not stop")
	}
}

// TestSetupContextEndsWithStop: an attempt's context ends when the
// session closes, not only at the setup timeout.
func TestSetupContextEndsWithStop(t *testing.T) {
	stop := make(chan struct{})
	ctx, cancel := setupContext(stop, time.Hour)
	defer cancel()
	close(stop)
	select {
	case <-ctx.Done():
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("ctx.Err() = %v", ctx.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("context outlived stop")
	}
}

// TestDroppedFramesKeepThePace: while the stream is down, a blocking
// caller's frames are dropped one frame period apart on the clock, and a
// non-blocking caller's at once; WaitRef says when the next is due.
func TestDroppedFramesKeepThePace(t *testing.T) {
	clk := newFakeClock()
	s := &session{clk: clk, drops: pacer{clk: clk, period: 100 * time.Millisecond}, closing: make(chan struct{})}
	s.drops.start(clk.Now())
	// The first dropped frame is due at once.
	if err := s.drop(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.drop(context.Background(), true) }()
	if d := waitTimer(t, clk); d != 100*time.Millisecond {
		t.Fatalf("second drop waits %v, want one period", d)
	}
	clk.Advance(100 * time.Millisecond)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if w := s.waitRef(); w != 100*time.Millisecond {
		t.Errorf("WaitRef while down = %v, want the period", w)
	}
	if err := s.drop(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if n := s.drops.count(); n != 3 {
		t.Errorf("dropped = %d, want 3", n)
	}
	// Close wakes a waiting drop.
	go func() { errc <- s.drop(context.Background(), true) }()
	waitTimer(t, clk)
	close(s.closing)
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("drop after close = %v, want ErrClosed", err)
	}
}

// TestBackoffSurvivesFlapping: a stream that comes back and is lost again
// soon does not start the back-off over (a storm against a server that
// refuses it, or a rival publisher); one that stayed up does.
func TestBackoffSurvivesFlapping(t *testing.T) {
	clk := newFakeClock()
	b := newBackoff(clk, 5*time.Second)
	var waits []time.Duration
	for i := 0; i < 6; i++ {
		if n := b.lost(); n != i {
			t.Errorf("loss %d: %d flaps in a row, want %d", i+1, n, i)
		}
		waits = append(waits, b.next()) // the first attempt of this outage
		b.upSince = clk.Now()           // it delivers (retry records it)
		clk.Advance(time.Second)        // up a second, then lost again
	}
	want := []time.Duration{0, 250e6, 500e6, 1e9, 2e9, 4e9}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("wait before reconnection %d: %v, want %v (all: %v)", i+1, waits[i], want[i], waits)
		}
	}
	// Up for longer than reconnectHealthy: the next loss starts over.
	clk.Advance(reconnectHealthy)
	if n := b.lost(); n != 0 || b.next() != 0 {
		t.Errorf("after a stream that stayed up: %d flaps", n)
	}
	// retry records when an attempt delivered.
	clk.Advance(time.Minute)
	b = newBackoff(clk, 5*time.Second)
	if err := retry(make(chan struct{}), b, func(int) error { return nil }); err != nil || !b.upSince.Equal(clk.Now()) {
		t.Errorf("retry: %v, up since %v, want %v", err, b.upSince, clk.Now())
	}
}

// TestRetryStopsAtARefusal: what the server refuses is not retried.
func TestRetryStopsAtARefusal(t *testing.T) {
	clk := newFakeClock()
	attempts := 0
	err := retry(make(chan struct{}), newBackoff(clk, time.Second), func(int) error {
		attempts++
		return refused(true, "no")
	})
	if !errors.Is(err, ErrUnauthorized) || !errors.Is(err, ErrRefused) || attempts != 1 {
		t.Errorf("retry = %v after %d attempts, want the refusal after 1", err, attempts)
	}
}

// TestTimelineCarriesLead: a time line that begins as far ahead as the
// producer was on a lost stream lets it run only the rest of frames ahead,
// and the lead is used up when the producer falls behind.
func TestTimelineCarriesLead(t *testing.T) {
	tl := timeline{rate: Rational{30, 1}, ahead: 10}
	p := tl.period()
	tl.lead = 8 * p
	now := time.Second
	n := 0
	for tl.wait(now) == 0 && n < 100 {
		tl.stamp(now)
		n++
	}
	// 10 ahead + 1 in play, less the 8 the producer already had.
	if n != 3 {
		t.Errorf("frames before the first wait: %d, want 3", n)
	}
	// Two periods behind its slot: two periods of the lead are used up.
	now = tl.next() + 2*p
	tl.stamp(now)
	if tl.lead != 6*p {
		t.Errorf("lead %v after the producer fell 2 frames behind, want %v", tl.lead, 6*p)
	}
	// A stall (the time line slips): the lead is gone.
	now = tl.next() + 10*p
	tl.stamp(now)
	if tl.lead != 0 {
		t.Errorf("lead %v after a stall", tl.lead)
	}
}
