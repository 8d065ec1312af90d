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
		b := newBackoff(tc.max)
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
		done <- retry(clk, make(chan struct{}), newBackoff(time.Second), func(attempt int) bool {
			attempts <- attempt
			return attempt == 4
		})
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
		done <- retry(clk, stop, newBackoff(time.Second), func(int) bool { attempts++; return false })
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
	s := &session{clk: clk, period: 100 * time.Millisecond, closing: make(chan struct{})}
	s.slot = clk.Now()
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
	if s.dropped != 3 {
		t.Errorf("dropped = %d, want 3", s.dropped)
	}
	// Close wakes a waiting drop.
	go func() { errc <- s.drop(context.Background(), true) }()
	waitTimer(t, clk)
	close(s.closing)
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("drop after close = %v, want ErrClosed", err)
	}
}
