package mpegserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"net/textproto"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/mpegcoder-go/mpegserver"
)

// TestBlockingPacing: pushing as fast as possible with ServeFrameBlock
// yields frames at the frame rate, never more than frames-ahead (+1)
// ahead of play time.
func TestBlockingPacing(t *testing.T) {
	const n, ahead = 90, 2
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.FrameRate(30, 1), mpegserver.FrameAhead(ahead))
	if err := s.Setup(relay.URL("pace")); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(320, 240, 0)
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := s.ServeFrameBlock(fr); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	// Frame k may go once frame k-ahead-1 has played: the last one at
	// (n-1-ahead-1)/30 s after the first. A loaded machine only makes the
	// producer later (the time line slips), so that is a floor. The
	// ceiling is generous: it catches a producer held twice as long as
	// the rate asks, not a slow machine.
	want := time.Duration(n-ahead-2) * time.Second / 30
	if elapsed < want-10*time.Millisecond {
		t.Errorf("%d blocking frames took %v: faster than the frame rate allows (%v)", n, elapsed, want)
	}
	if elapsed > 2*want {
		t.Errorf("%d blocking frames took %v, the frame rate asks %v", n, elapsed, want)
	}
	st := s.Stats()
	if st.MaxAhead > ahead+1 {
		t.Errorf("frames ahead reached %d, frame-ahead is %d", st.MaxAhead, ahead)
	}
	if st.Pushed != n || st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d frames in %v (ideal %v), max ahead %d", n, elapsed.Round(time.Millisecond), want, st.MaxAhead)
}

// TestNonBlocking: ServeFrame never blocks; WaitRef grows as the caller
// pushes ahead and falls to 0 once the caller waits it out; at the hard
// cap frames are refused with ErrQueueFull and counted.
func TestNonBlocking(t *testing.T) {
	const ahead = 5
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.FrameAhead(ahead), mpegserver.CloseTimeout(30*time.Second))
	if err := s.Setup(relay.URL("nb")); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(640, 360, 0)
	if w := s.WaitRef(); w != 0 {
		t.Errorf("WaitRef before any frame = %v", w)
	}
	var slowest time.Duration
	refused := 0
	var firstBefore, firstAfter time.Time // around the call that accepted the first frame
	for i := 0; i < 30; i++ {
		t0 := time.Now()
		err := s.ServeFrame(fr)
		t1 := time.Now()
		slowest = max(slowest, t1.Sub(t0))
		if errors.Is(err, mpegserver.ErrQueueFull) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		} else if firstBefore.IsZero() {
			firstBefore, firstAfter = t0, t1
		}
	}
	pushed := 30 - refused
	t0 := time.Now()
	w := s.WaitRef()
	t1 := time.Now()
	// The time line starts when the first frame is stamped, inside that
	// first call: the last frame plays (pushed-1) periods later, and the
	// rule lets ahead+1 be unplayed, so WaitRef is (pushed-ahead-1)/30 s
	// from the first frame on, less the time since. Bracketing the two
	// instants makes the check exact however slow the machine is.
	ideal := time.Duration(pushed-ahead-1) * time.Second / 30
	lo := max(ideal-t1.Sub(firstBefore), 0)
	hi := max(ideal-t0.Sub(firstAfter), 0)
	const slack = 5 * time.Millisecond
	if w < lo-slack || w > hi+slack {
		t.Errorf("WaitRef after %d quick frames = %v, want %v less the %v..%v since the first frame", pushed, w, ideal,
			t0.Sub(firstAfter), t1.Sub(firstBefore))
	}
	if p, _ := s.Parameter("waitRef"); p.(float64) <= 0 {
		t.Errorf("Parameter(waitRef) = %v", p)
	}
	time.Sleep(w) // what a caller of the non-blocking API does
	if w2 := s.WaitRef(); w2 != 0 {
		t.Errorf("WaitRef after waiting %v = %v, want 0", w, w2)
	}
	// Flood: far faster than the encoder, so the queue reaches its cap.
	const flood = 300
	floodStart := time.Now()
	for i := 0; i < flood; i++ {
		t0 := time.Now()
		err := s.ServeFrame(fr)
		slowest = max(slowest, time.Since(t0))
		if errors.Is(err, mpegserver.ErrQueueFull) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if refused == 0 {
		t.Error("no frame refused in a flood of 300")
	}
	if got := s.Stats().Refused; got != int64(refused) {
		t.Errorf("Stats().Refused = %d, saw %d refusals", got, refused)
	}
	if q := s.Stats().Queued; q > 2*(ahead+2)+2 {
		t.Errorf("queue holds %d frames, above its hard cap", q)
	}
	// Never blocking: the flood is not paced (paced, it would take ten
	// seconds), and no single call waits for frames to play. Both bounds
	// are far above what a loaded machine adds and far below what a
	// wait for play time would take.
	floodTook := time.Since(floodStart)
	if paced := time.Duration(flood-2*(ahead+2)-2) * time.Second / 30; floodTook > paced/2 {
		t.Errorf("%d non-blocking calls took %v; paced at the frame rate they would take %v", flood, floodTook, paced)
	}
	if slowest > 500*time.Millisecond {
		t.Errorf("a ServeFrame call took %v", slowest)
	}
	t.Logf("slowest ServeFrame %v, flood of %d in %v, refused %d of %d", slowest, flood, floodTook, refused, 30+flood)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBadInputsLeaveStreamUsable: every bad input returns its error and
// the next good call works.
func TestBadInputsLeaveStreamUsable(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.SourceSize(320, 240), mpegserver.FrameAhead(100))
	good := testFrame(320, 240, 0)
	if err := s.ServeFrame(good); !errors.Is(err, mpegserver.ErrNotSetUp) {
		t.Errorf("frame before Setup: %v", err)
	}
	// Unknown codec, then fixed.
	_ = s.SetParameter(mpegserver.Codec("vp9000"))
	err := s.Setup(relay.URL("bad"))
	if !errors.Is(err, mpegserver.ErrUnknownCodec) || !strings.Contains(err.Error(), "libx264") {
		t.Errorf("unknown codec: %v", err)
	}
	_ = s.SetParameter(mpegserver.Codec("libx264"))
	// Unsupported addresses.
	for _, a := range []string{"http://127.0.0.1/x", "udp://127.0.0.1", "gopher://127.0.0.1:70/x", "file://otherhost/x.mp4", "/tmp/", "rtsp://", "rtsp://h:99999/x", "rtsp://h/a b"} {
		if err := s.Setup(a); !errors.Is(err, mpegserver.ErrUnsupportedAddress) {
			t.Errorf("Setup(%q): %v", a, err)
		}
	}
	if err := s.Setup(relay.URL("bad")); err != nil {
		t.Fatal(err)
	}
	stream := func() {
		t.Helper()
		if err := s.ServeFrame(good); err != nil {
			t.Fatalf("good frame after bad input: %v", err)
		}
	}
	stream()
	for name, f := range map[string]func() error{
		"nil frame":        func() error { return s.ServeFrame(nil) },
		"short frame":      func() error { return s.ServeFrameBlock(good[:100]) },
		"output-size":      func() error { return s.ServeFrame(testFrame(640, 360, 0)) },
		"nil image":        func() error { return s.ServeImage(nil) },
		"wrong-size image": func() error { return s.ServeImage(image.NewRGBA(image.Rect(0, 0, 10, 10))) },
		"nil *image.RGBA":  func() error { return s.ServeImage((*image.RGBA)(nil)) },
		"nil *image.Gray":  func() error { return s.ServeImage((*image.Gray)(nil)) },
		// Images built by hand: C must never read past Pix.
		"short Pix": func() error {
			return s.ServeImage(&image.RGBA{Pix: make([]byte, 100), Stride: 320 * 4, Rect: image.Rect(0, 0, 320, 240)})
		},
		"Pix one byte short": func() error {
			return s.ServeImage(&image.NRGBA{Pix: make([]byte, 320*240*4-1), Stride: 320 * 4, Rect: image.Rect(0, 0, 320, 240)})
		},
		"zero stride": func() error {
			return s.ServeImage(&image.RGBA{Pix: make([]byte, 320*240*4), Stride: 0, Rect: image.Rect(0, 0, 320, 240)})
		},
		"negative stride": func() error {
			return s.ServeImage(&image.RGBA{Pix: make([]byte, 320*240*4), Stride: -1280, Rect: image.Rect(0, 0, 320, 240)})
		},
		"YCbCr chroma short": func() error {
			m := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
			m.Cr = m.Cr[:len(m.Cr)-1]
			return s.ServeImage(m)
		},
		"YCbCr chroma stride short": func() error {
			m := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio444)
			m.CStride = 100
			return s.ServeImage(m)
		},
		// Drawn first (4:1:0 is not libyuv's): the draw must not panic.
		"YCbCr 4:1:0 Y short": func() error {
			m := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio410)
			m.Y = m.Y[:10]
			return s.ServeImage(m)
		},
	} {
		if err := f(); !errors.Is(err, mpegserver.ErrFrameSize) {
			t.Errorf("%s: %v", name, err)
		}
		stream()
	}
	if err := s.ServeImage(image.NewNRGBA(image.Rect(0, 0, 320, 240))); err != nil {
		t.Errorf("NRGBA image: %v", err)
	}
	if err := s.ServeImage(image.NewGray(image.Rect(0, 0, 320, 240))); err != nil {
		t.Errorf("Gray image: %v", err)
	}
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		if err := s.ServeImage(image.NewYCbCr(image.Rect(0, 0, 320, 240), ratio)); err != nil {
			t.Errorf("YCbCr %v image: %v", ratio, err)
		}
	}
	// A YCbCr sub-image starting on an odd pixel shares its first chroma
	// sample with a pixel left out: drawn, not read as it lies.
	yc := image.NewYCbCr(image.Rect(0, 0, 400, 300), image.YCbCrSubsampleRatio420)
	if err := s.ServeImage(yc.SubImage(image.Rect(41, 31, 361, 271))); err != nil {
		t.Errorf("odd YCbCr sub-image: %v", err)
	}
	// A sub-image: its rows are the parent's stride apart.
	big := image.NewRGBA(image.Rect(0, 0, 400, 300))
	if err := s.ServeImage(big.SubImage(image.Rect(40, 30, 360, 270))); err != nil {
		t.Errorf("sub-image: %v", err)
	}
	if err := s.SetParameter(nil); !errors.Is(err, mpegserver.ErrBadParameter) {
		t.Errorf("SetParameter(nil): %v", err)
	}
	// A cancelled wait queues nothing.
	_ = s.SetParameter(mpegserver.FrameAhead(0)) // takes effect at next Setup
	if err := s.Setup(""); err != nil {
		t.Fatal(err)
	}
	stream()
	stream()
	before := s.Stats().Pushed
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	for i := 0; i < 10 && ctx.Err() == nil; i++ {
		_ = s.ServeFrameContext(ctx, good)
	}
	pushed := s.Stats().Pushed
	if err := s.ServeFrameContext(ctx, good); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled context: %v", err)
	}
	if s.Stats().Pushed != pushed {
		t.Error("a cancelled frame was queued")
	}
	if pushed-before > 3 {
		t.Errorf("%d frames pushed in 5 ms with frame-ahead 0", pushed-before)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeFrame(good); !errors.Is(err, mpegserver.ErrNotSetUp) {
		t.Errorf("frame after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.DumpFile(os.Stderr); !errors.Is(err, mpegserver.ErrNotSetUp) {
		t.Errorf("DumpFile after Close: %v", err)
	}
	// And the server is still good for a new stream.
	if err := s.Setup(""); err != nil {
		t.Fatal(err)
	}
	stream()
}

// TestCloseWakesBlockedServe: a ServeFrameBlock waiting when Close starts
// returns ErrClosed promptly.
func TestCloseWakesBlockedServe(t *testing.T) {
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.FrameRate(1, 1), mpegserver.FrameAhead(0))
	if err := s.Setup(relay.URL("wake")); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(640, 360, 0)
	for i := 0; i < 2; i++ { // the second waits for the first to play (1 s)
		if err := s.ServeFrameBlock(fr); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan error, 1)
	go func() { got <- s.ServeFrameBlock(fr) }() // waits about a second
	time.Sleep(50 * time.Millisecond)            // let it start waiting; the assertion does not depend on it
	t0 := time.Now()
	closeErr := s.Close()
	select {
	case err := <-got:
		if err != nil && !errors.Is(err, mpegserver.ErrClosed) && !errors.Is(err, mpegserver.ErrNotSetUp) {
			t.Errorf("blocked serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocked ServeFrameBlock did not return after Close")
	}
	if closeErr != nil {
		t.Errorf("Close: %v", closeErr)
	}
	t.Logf("Close took %v", time.Since(t0).Round(time.Millisecond))
}

// TestSetupUnreachableIsBounded: Setup fails with ErrUnreachable at once
// on a closed port, at SetupTimeout (not before, not much after) on a
// server that never answers, and on a server that is not RTSP; then a real
// server works.
func TestSetupUnreachableIsBounded(t *testing.T) {
	// Nothing listens: refused at once, well before the bound (a long
	// one here, so a slow machine cannot blur "at once" into "at the
	// bound").
	s := newServer(t, mpegserver.SetupTimeout(10*time.Second))
	t0 := time.Now()
	err := s.Setup("rtsp://" + testutil.FreeAddr(t) + "/x")
	if !errors.Is(err, mpegserver.ErrUnreachable) || time.Since(t0) > 5*time.Second {
		t.Errorf("closed port: %v after %v (SetupTimeout 10 s)", err, time.Since(t0))
	}
	t.Logf("closed port: failed after %v: %v", time.Since(t0).Round(time.Millisecond), err)
	// Accepts but never answers: fails at the bound, not before, and not
	// at the sink's own 5 s TCP time-out either.
	if err := s.SetParameter(mpegserver.SetupTimeout(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	silent := testutil.SilentServer(t)
	t0 = time.Now()
	err = s.Setup("rtsp://user:hunter2@" + silent + "/x")
	d := time.Since(t0)
	if !errors.Is(err, mpegserver.ErrUnreachable) || d < 1900*time.Millisecond || d > 4500*time.Millisecond {
		t.Errorf("silent server: %v after %v (bound 2 s)", err, d)
	}
	if err != nil && strings.Contains(err.Error(), "hunter2") {
		t.Errorf("password in error: %v", err)
	}
	t.Logf("silent server: failed after %v: %v", d.Round(time.Millisecond), err)
	t0 = time.Now()
	// Answers, but not RTSP.
	http, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer http.Close()
	go func() {
		c, err := http.Accept()
		if err == nil {
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	if err := s.Setup("rtsp://" + http.Addr().String() + "/x"); !errors.Is(err, mpegserver.ErrUnreachable) ||
		!strings.Contains(err.Error(), "RTSP") {
		t.Errorf("HTTP server: %v", err)
	}
	t.Logf("HTTP server: failed after %v", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	// After all that, a real server works.
	relay := testutil.StartRelay(t)
	if err := s.Setup(relay.URL("ok")); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeFrameBlock(testFrame(640, 360, 0)); err != nil {
		t.Fatal(err)
	}
	t.Logf("real server: set up and served after %v", time.Since(t0).Round(time.Millisecond))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// waitCount waits (bounded) for f() to drop to at most limit: goroutines
// of closed connections end shortly after Close, not during it.
func waitCount(f func() int, limit int) int {
	deadline := time.Now().Add(5 * time.Second)
	n := f()
	for n > limit && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = f()
	}
	return n
}

// TestSetupCloseCycles: 50 Setup/Close cycles in a row, real frames each
// time, every cycle's frames reaching the server: no hang at start-up, no
// leaked goroutines, no growth in open file descriptors (with the garbage
// collector off).
func TestSetupCloseCycles(t *testing.T) {
	const cycles, frames = 50, 5
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.SetupTimeout(3*time.Second))
	fr := testFrame(320, 240, 0)
	cycle := func(i int) {
		path := "c" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if err := s.Setup(relay.URL(path)); err != nil {
			t.Fatalf("cycle %d Setup: %v", i, err)
		}
		for j := 0; j < frames; j++ {
			if err := s.ServeFrameBlock(fr); err != nil {
				t.Fatalf("cycle %d frame %d: %v", i, j, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("cycle %d Close: %v", i, err)
		}
		// The server reads the stream's last packets before its TEARDOWN.
		if err := relay.WaitUnpublished(testutil.Context(t, 5*time.Second), path); err != nil {
			t.Fatal(err)
		}
		if got := relay.Info(path).Frames; got != frames {
			t.Fatalf("cycle %d: server got %d frames, want %d", i, got, frames)
		}
	}
	cycle(0) // warm up: first use loads plugins and starts GStreamer's threads
	g0, fd0 := goroutines(), openFDs(t)
	// Without garbage collection: Close must release the pipeline's file
	// descriptors itself, not leave them to finalizers.
	gc := debug.SetGCPercent(-1)
	t0 := time.Now()
	for i := 1; i <= cycles; i++ {
		cycle(i)
	}
	el := time.Since(t0)
	fd1 := waitCount(func() int { return openFDs(t) }, fd0)
	debug.SetGCPercent(gc)
	g1 := waitCount(goroutines, g0)
	t.Logf("%d cycles in %v; goroutines %d -> %d; fds %d -> %d", cycles, el.Round(time.Millisecond), g0, g1, fd0, fd1)
	if g1 > g0 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if fd1 > fd0 {
		t.Errorf("open file descriptors grew from %d to %d", fd0, fd1)
	}
}

// TestConcurrentFeeders feeds one Server from several goroutines: every
// frame is accepted once and reaches the server.
func TestConcurrentFeeders(t *testing.T) {
	t.Parallel()
	const feeders, each = 4, 20
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.FrameAhead(3))
	if err := s.Setup(relay.URL("many")); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, feeders)
	for g := 0; g < feeders; g++ {
		go func() {
			fr := testFrame(320, 240, g)
			for i := 0; i < each; i++ {
				var err error
				if i%2 == 0 {
					err = s.ServeFrameBlock(fr)
				} else {
					for err = s.ServeFrame(fr); errors.Is(err, mpegserver.ErrQueueFull); err = s.ServeFrame(fr) {
						time.Sleep(s.WaitRef() + time.Millisecond)
					}
				}
				if err != nil {
					errs <- err
					return
				}
				_ = s.WaitRef()
				_ = s.Stats()
			}
			errs <- nil
		}()
	}
	for g := 0; g < feeders; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := relay.WaitUnpublished(testutil.Context(t, 5*time.Second), "many"); err != nil {
		t.Fatal(err)
	}
	if got, st := relay.Info("many").Frames, s.Stats(); got != feeders*each || st.Pushed != feeders*each {
		t.Errorf("server got %d frames, stats %+v; want %d", got, st, feeders*each)
	}
}

// TestSinkOpenFailureIsUnreachable: a server that answers Setup's probe
// and is gone when the first frame goes out fails the stream with an error
// that matches both ErrUnreachable and ErrPipeline, within the setup bound.
func TestSinkOpenFailureIsUnreachable(t *testing.T) {
	t.Parallel()
	// A reserved port: once closed, no other test's listener can take it.
	l, err := net.Listen("tcp", testutil.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		// Stop listening at once, before Setup can return: the sink's own
		// connection is refused (closed after the answers, a loaded
		// machine let the sink's connection into the backlog first, and
		// it was reset: a loss). Then answer Setup's probe (OPTIONS, then
		// ANNOUNCE) on the connection already taken.
		l.Close()
		r := textproto.NewReader(bufio.NewReader(c))
		for i := 0; i < 2; i++ {
			if _, err := r.ReadLine(); err != nil {
				break
			}
			h, err := r.ReadMIMEHeader()
			if err != nil {
				break
			}
			if n, _ := strconv.Atoi(h.Get("Content-Length")); n > 0 {
				_, _ = io.ReadFull(r.R, make([]byte, n))
			}
			_, _ = fmt.Fprintf(c, "RTSP/1.0 200 OK\r\nCSeq: %s\r\nPublic: OPTIONS, ANNOUNCE, SETUP, RECORD\r\n\r\n", h.Get("CSeq"))
		}
		c.Close()
	}()
	s := newServer(t, mpegserver.SetupTimeout(2*time.Second))
	if err := s.Setup("rtsp://" + l.Addr().String() + "/gone"); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(640, 360, 0)
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if err = s.ServeFrame(fr); err != nil && !errors.Is(err, mpegserver.ErrQueueFull) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var pe *mpegserver.PipelineError
	if !errors.Is(err, mpegserver.ErrUnreachable) || !errors.Is(err, mpegserver.ErrPipeline) || !errors.As(err, &pe) {
		t.Fatalf("after %v: %v, want a PipelineError matching ErrUnreachable and ErrPipeline", time.Since(start), err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if err := s.Close(); !errors.Is(err, mpegserver.ErrUnreachable) {
		t.Errorf("Close: %v, want the stream's failure", err)
	}
}
