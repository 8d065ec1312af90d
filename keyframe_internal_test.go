package mpegserver

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestKeyframeRateLimit: the first request goes to the encoder at once;
// any number within the interval make one more, at the interval's end;
// a request after the interval goes at once again; a stream that ends
// drops the one waiting.
func TestKeyframeRateLimit(t *testing.T) {
	clk := newFakeClock()
	stop := make(chan struct{})
	var sent atomic.Int32
	sentAt := make(chan time.Time, 10)
	k := newKeyframes(clk, stop, func() { sent.Add(1); sentAt <- clk.Now() })
	start := clk.Now()
	k.request()
	if sent.Load() != 1 {
		t.Fatalf("first request: %d sent", sent.Load())
	}
	<-sentAt
	clk.Advance(10 * time.Millisecond)
	for i := 0; i < 20; i++ { // twenty viewers joining at once
		k.request()
	}
	if d := waitTimer(t, clk); d != KeyframeInterval-10*time.Millisecond {
		t.Errorf("the merged request waits %v, want the rest of the interval", d)
	}
	clk.Advance(KeyframeInterval)
	if at := <-sentAt; at.Sub(start) != KeyframeInterval+10*time.Millisecond || sent.Load() != 2 {
		t.Errorf("merged request sent at +%v, %d sent in all", at.Sub(start), sent.Load())
	}
	clk.Advance(KeyframeInterval)
	k.request()
	if sent.Load() != 3 {
		t.Errorf("a request after the interval: %d sent", sent.Load())
	}
	k.request() // within the interval again
	waitTimer(t, clk)
	close(stop)
	clk.Advance(time.Hour)
	time.Sleep(10 * time.Millisecond) // nothing may arrive: give it the chance
	if sent.Load() != 3 {
		t.Errorf("a request waiting when the stream ended was sent: %d", sent.Load())
	}
}
