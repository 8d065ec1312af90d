package mpegserver_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// TestConcurrentEverything is the package's promise that every method is
// safe from several goroutines, held under the race detector: eight
// goroutines serve (blocking, non-blocking, images) with a small
// frames-ahead, so the queue fills and frames are refused, while others
// set parameters, set up and close again and again, and read every
// figure. Every call returns either success or an error that says why
// (not set up, closed, queue full); nothing panics or hangs, and the
// server streams normally afterwards.
func TestConcurrentEverything(t *testing.T) {
	const w, h = 160, 96
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(w, h), mpegserver.FrameAhead(4), mpegserver.GOPSize(10),
		mpegserver.SetupTimeout(5*time.Second), mpegserver.CloseTimeout(5*time.Second))
	url := relay.URL("stress")
	if err := s.Setup(url); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop()
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[string]int{}
	count := func(err error) {
		if err != nil {
			// What a caller of the non-blocking calls does: wait a little.
			time.Sleep(time.Millisecond)
		}
		k := "ok"
		switch {
		case err == nil:
		case errors.Is(err, mpegserver.ErrQueueFull):
			k = "refused"
		case errors.Is(err, mpegserver.ErrNotSetUp):
			k = "not set up"
		case errors.Is(err, mpegserver.ErrClosed):
			k = "closed"
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			k = "cancelled"
		default:
			t.Errorf("unexpected error: %v", err)
			k = "other"
		}
		mu.Lock()
		counts[k]++
		mu.Unlock()
	}
	frame := testFrame(w, h, 0)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	run := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				f()
			}
		}()
	}
	for i := 0; i < 8; i++ {
		switch i % 4 {
		case 0:
			run(func() { count(s.ServeFrame(frame)) })
		case 1:
			run(func() { count(s.ServeFrameContext(ctx, frame)) })
		case 2:
			run(func() { count(s.ServeImage(img)) })
		default:
			run(func() { count(s.ServeImageContext(ctx, img)) })
		}
	}
	run(func() {
		_ = s.SetParameter(mpegserver.BitRate(512))
		_ = s.SetParameters(map[string]any{"GOPSize": 10})
		count(s.Close())
		if err := s.Setup(url); err != nil {
			t.Errorf("Setup while serving: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // some frames for each stream
	})
	run(func() {
		_ = s.Stats()
		_ = s.WaitRef()
		_ = s.String()
		_ = s.Parameters()
		_, _ = s.Parameter("waitRef")
		_ = s.DumpFile(io.Discard)
		_, _ = s.Outputs()
	})
	wg.Wait()
	t.Logf("calls: %v", counts)
	if counts["ok"] == 0 || counts["refused"] == 0 {
		t.Errorf("the stress did not serve and refuse frames: %v", counts)
	}
	// Usable afterwards: a clean stream of 30 frames, all accepted.
	if err := s.Setup(url); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if err := s.ServeFrameBlock(testFrame(w, h, i)); err != nil {
			t.Fatalf("after the stress, frame %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Pushed != 30 || st.Encoded != 30 {
		t.Errorf("after the stress: %s", fmt.Sprintf("%+v", st))
	}
}
