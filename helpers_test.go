package mpegserver_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// Which tests run in parallel (t.Parallel): Go runs the others first, one
// at a time, and only then the parallel ones side by side. Not parallel:
// tests that count goroutines, file descriptors or memory (another test's
// would be counted), tests that bound pacing or latency, and the long
// CPU-bound encodes to files (every encoder, every x265 preset): their
// cases are parallel with each other only, so they have the machine to
// themselves and do not starve streams that must keep the frame rate.
// Parallel: tests that stream at the frame rate and check what arrives,
// each with its own servers and ports (testutil) and its own temporary
// files.

// testFrame draws frame i: a smooth gradient whose phase moves a little
// each frame (no scene cuts, so the encoder's keyframes are only the GOP's).
// It is not instrumented by the race detector (the buffer is new, and no
// other goroutine sees it before it is returned): instrumented, drawing
// frames at the frame rate takes much of a core, which a loaded machine
// cannot spare from the streams under test.
//
//go:norace
func testFrame(w, h, i int) []byte {
	b := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 3
			b[o] = byte(x + 2*i)
			b[o+1] = byte(y + i)
			b[o+2] = byte((x + y) / 4)
		}
	}
	return b
}

// newServer returns a Server for a relay path, closed at the end of the test.
func newServer(t testing.TB, opts ...mpegserver.Option) *mpegserver.Server {
	t.Helper()
	s := mpegserver.New()
	if err := s.SetParameter(opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// publishAndRead sets s up on path, serves frame 0, attaches a reader, and
// returns it. The reader joins after frame 0 (RTSP announces a stream only
// once the encoder's first output gives its parameters), so it must see
// every frame from frame 1 on.
func publishAndRead(t testing.TB, relay *rtspserver.Server, s *mpegserver.Server, path string, frame0 []byte) *rtsptest.Reader {
	t.Helper()
	if err := s.Setup(relay.URL(path)); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeFrameBlock(frame0); err != nil {
		t.Fatal(err)
	}
	// Wait until frame 0 has wholly reached the relay (its last packet
	// carries the marker bit): a reader that joins after that sees exactly
	// frames 1, 2, ... (SPS/PPS packets alone would not do: a reader joining
	// between them and the slice would still get frame 0.)
	if err := relay.Wait(testutil.Context(t, 10*time.Second), path, func(i rtspserver.PathInfo) bool {
		return i.Publishing && i.Frames > 0
	}); err != nil {
		t.Fatal(err)
	}
	r, err := rtsptest.Read(relay.URL(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if err := relay.WaitReaders(testutil.Context(t, 10*time.Second), path, 1); err != nil {
		t.Fatal(err)
	}
	return r
}

// goroutines counts the goroutines running Go code. Threads that
// GStreamer created and that once called back into Go (need-data runs on a
// streaming thread) show up as goroutines "locked to thread" for as long
// as GStreamer keeps the thread in its pool; they are not the library's.
func goroutines() int {
	runtime.GC()
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && !strings.Contains(strings.SplitN(g, "\n", 2)[0], "locked to thread") {
			count++
		}
	}
	return count
}

type rtspserverInfo = rtspserver.PathInfo

// feed serves test frames of w × h with the blocking call until the test
// ends.
func feed(t testing.TB, s *mpegserver.Server, w, h int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			if s.ServeFrameContext(ctx, testFrame(w, h, i)) != nil {
				return
			}
		}
	}()
}

// waitEvent reads the server's events, logging each, until one of kind
// comes; the test fails if none does within the bound.
func waitEvent(t testing.TB, s *mpegserver.Server, kind mpegserver.EventKind, within time.Duration) mpegserver.Event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-s.Events():
			t.Logf("event: %v %s attempt %d %v", ev.Kind, ev.Output, ev.Attempt, ev.Err)
			if ev.Kind == kind {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event within %v", kind, within)
		}
	}
}

// frameSeq serves numbered test frames with the blocking call, each call
// going on from where the last one stopped. It may run on another
// goroutine than the test's: failures are reported with Errorf.
type frameSeq struct {
	s    *mpegserver.Server
	w, h int
	next int
}

// serve serves n more frames; false if one failed.
func (f *frameSeq) serve(t testing.TB, n int) bool {
	for end := f.next + n; f.next < end; f.next++ {
		if err := f.s.ServeFrameBlock(testFrame(f.w, f.h, f.next)); err != nil {
			t.Errorf("frame %d: %v", f.next, err)
			return false
		}
	}
	return true
}
