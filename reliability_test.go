package mpegserver_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

func startRelayAt(t *testing.T, addr string) *rtspserver.Server {
	t.Helper()
	r := &rtspserver.Server{Address: addr}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// serveUntilError serves frames with the blocking call until one fails or
// the deadline passes, and returns the error and when it came.
func serveUntilError(s *mpegserver.Server, deadline time.Duration) (error, time.Time) {
	fr := testFrame(640, 360, 0)
	end := time.Now().Add(deadline)
	for i := 0; time.Now().Before(end); i++ {
		fr[i%len(fr)]++ // a changing picture: the encoder keeps producing bytes
		if err := s.ServeFrameBlock(fr); err != nil {
			return err, time.Now()
		}
	}
	return nil, time.Now()
}

// servePublished serves frames until the relay has received at least n of
// them on path: the sink has connected and the stream flows.
func servePublished(t *testing.T, s *mpegserver.Server, relay *rtspserver.Server, path string, n uint64) {
	t.Helper()
	fr := testFrame(640, 360, 0)
	ctx := testutil.Context(t, 10*time.Second)
	for i := 0; relay.Info(path).Frames < n; i++ {
		fr[i%len(fr)]++
		if err := s.ServeFrameBlock(fr); err != nil {
			t.Fatalf("before the fault: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: %d frames received after 10 s", path, relay.Info(path).Frames)
		}
	}
}

// TestLossIsDetectedInBoundedTime: each fault ends the stream with the
// error that names it, within its bound, and Close returns that loss at
// once.
//
// The bounds are generous for a loaded machine yet below what a broken
// detection would take: a disconnection is told apart from a stall by its
// error, and must be seen well before the sink's own 5 s TCP time-out; a
// stall is seen after StallTimeout, once the proxy's buffers have filled,
// not at the next minute-long time-out.
func TestLossIsDetectedInBoundedTime(t *testing.T) {
	const stall = 2 * time.Second
	for _, tc := range []struct {
		name  string
		fault func(relay *rtspserver.Server, px *testutil.Proxy)
		want  error
		bound time.Duration
	}{
		{"server shut down", func(r *rtspserver.Server, _ *testutil.Proxy) { r.Close() }, mpegserver.ErrDisconnected, 3 * time.Second},
		{"connection cut", func(_ *rtspserver.Server, p *testutil.Proxy) { p.Cut() }, mpegserver.ErrDisconnected, 3 * time.Second},
		{"connection reset", func(_ *rtspserver.Server, p *testutil.Proxy) { p.Reset() }, mpegserver.ErrDisconnected, 3 * time.Second},
		// The stall bound counts from when the link stops acknowledging:
		// the proxy's buffers take a moment to fill first.
		{"link stalled both ways", func(_ *rtspserver.Server, p *testutil.Proxy) { p.Stall(true, true) }, mpegserver.ErrStalled, stall + 6*time.Second},
		{"link stalled towards the server", func(_ *rtspserver.Server, p *testutil.Proxy) { p.Stall(true, false) }, mpegserver.ErrStalled, stall + 6*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each bound is far above what a fault takes: they need not have the machine to themselves
			relay := testutil.StartRelay(t)
			px := testutil.StartProxy(t, relay.Addr())
			// Only the stall cases have a short StallTimeout: a slow
			// disconnection must not pass for a stall.
			stallTimeout := time.Minute
			if tc.want == mpegserver.ErrStalled {
				stallTimeout = stall
			}
			s := newServer(t, mpegserver.FrameAhead(2), mpegserver.StallTimeout(stallTimeout), mpegserver.CloseTimeout(3*time.Second))
			if err := s.Setup("rtsp://" + px.Addr() + "/loss"); err != nil {
				t.Fatal(err)
			}
			servePublished(t, s, relay, "loss", 10)
			t0 := time.Now()
			tc.fault(relay, px)
			err, at := serveUntilError(s, 30*time.Second)
			took := at.Sub(t0)
			if !errors.Is(err, tc.want) {
				t.Fatalf("after %v: %v, want %v", took, err, tc.want)
			}
			if took > tc.bound {
				t.Errorf("detected after %v, bound %v", took, tc.bound)
			}
			// At once: well before CloseTimeout (3 s), which a Close that
			// tried to flush the lost stream would wait out.
			c0 := time.Now()
			cerr := s.Close()
			if !errors.Is(cerr, tc.want) || time.Since(c0) > 2*time.Second {
				t.Errorf("Close after %v: %v, want %v at once", time.Since(c0), cerr, tc.want)
			}
			t.Logf("detected after %v: %v", took.Round(time.Millisecond), err)
		})
	}
}

// TestCloseReportsUnacknowledgedFrames: a link that stalls just before
// Close leaves frames in the kernel's buffers; Close says they were lost,
// within CloseTimeout, instead of returning nil.
func TestCloseReportsUnacknowledgedFrames(t *testing.T) {
	relay := testutil.StartRelay(t)
	px := testutil.StartProxy(t, relay.Addr())
	const closeTimeout = 2 * time.Second
	s := newServer(t, mpegserver.FrameAhead(30), mpegserver.StallTimeout(time.Minute), mpegserver.CloseTimeout(closeTimeout))
	if err := s.Setup("rtsp://" + px.Addr() + "/tail"); err != nil {
		t.Fatal(err)
	}
	servePublished(t, s, relay, "tail", 10)
	px.Stall(true, true)
	fr := testFrame(640, 360, 1)
	for i := 0; i < 30; i++ { // a burst, as a producer running ahead gives
		fr[i]++
		if err := s.ServeFrame(fr); err != nil && !errors.Is(err, mpegserver.ErrQueueFull) {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	err := s.Close()
	took := time.Since(t0)
	if !errors.Is(err, mpegserver.ErrStalled) {
		t.Errorf("Close: %v, want ErrStalled", err)
	}
	// The bound, and room for a loaded machine; far below StallTimeout,
	// which a Close that ignored its own bound would wait for.
	if took > closeTimeout+3*time.Second {
		t.Errorf("Close took %v, CloseTimeout is %v", took, closeTimeout)
	}
	t.Logf("Close after %v: %v", took.Round(time.Millisecond), err)
}

// TestFlushErrorSurfacesAsItself: a write error during the final flush
// (a full disk) is returned as GStreamer's own error, not as a time-out.
func TestFlushErrorSurfacesAsItself(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.CloseTimeout(5*time.Second))
	if err := s.Setup("/dev/full"); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(320, 240, 0)
	var err error
	for i := 0; i < 3 && err == nil; i++ {
		err = s.ServeFrameBlock(fr)
	}
	t0 := time.Now()
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if !errors.Is(err, mpegserver.ErrPipeline) || !strings.Contains(strings.ToLower(err.Error()), "space") {
		t.Errorf("after %v: %v, want GStreamer's no-space error", time.Since(t0), err)
	}
}

// TestReconnectAfterServerRestart: with Reconnect, a server that goes away
// and comes back on the same port gets the stream again by itself. While
// it is down the blocking producer keeps its frame rate and frames are
// dropped and counted; the events come in order; the new stream starts
// with a keyframe (a reader sees keyframes where a new encoder puts them).
func TestReconnectAfterServerRestart(t *testing.T) {
	const gop = 10
	addr := testutil.FreeAddr(t)
	relay := startRelayAt(t, addr)
	s := newServer(t, mpegserver.FrameAhead(1), mpegserver.GOPSize(gop), mpegserver.Reconnect(true),
		mpegserver.ReconnectMaxWait(300*time.Millisecond))
	if err := s.Setup("rtsp://" + addr + "/cam"); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(640, 360, 0)
	serve := func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			fr[i%len(fr)]++
			if err := s.ServeFrameBlock(fr); err != nil {
				t.Fatalf("ServeFrameBlock with Reconnect: %v", err)
			}
		}
	}
	serve(15)
	relay.Close()
	// Down: the producer keeps serving and no call fails; once the loss is
	// seen, every frame is dropped and counted, at the frame rate.
	var pushedOld int64
	var kinds []mpegserver.EventKind
	drain := func() {
		for {
			select {
			case e := <-s.Events():
				kinds = append(kinds, e.Kind)
				if e.Kind == mpegserver.Disconnected {
					pushedOld = s.Stats().Pushed
					if !errors.Is(e.Err, mpegserver.ErrDisconnected) {
						t.Errorf("Disconnected event error: %v", e.Err)
					}
				}
			default:
				return
			}
		}
	}
	lost := testutil.Context(t, 10*time.Second)
	for pushedOld == 0 {
		serve(1)
		drain()
		if lost.Err() != nil {
			t.Fatalf("no Disconnected event within 10 s; events %v", kinds)
		}
	}
	// The blocking producer keeps its pace while down: k frames take at
	// least k-1 periods (a loaded machine only makes them later), and not
	// three times as long as the rate asks (a producer held by the
	// reconnection attempts would be).
	const k = 30
	dropped0 := s.Stats().Dropped
	t0 := time.Now()
	serve(k)
	took := time.Since(t0)
	drain()
	if minimum := (k - 1) * time.Second / 30; took < minimum-10*time.Millisecond || took > 3*k*time.Second/30 {
		t.Errorf("while down %d blocking frames took %v, the frame rate asks %v", k, took, minimum)
	}
	st := s.Stats()
	if st.Dropped-dropped0 != k || pushedOld == 0 {
		t.Errorf("while down: dropped %d of %d frames served, pushed before %d", st.Dropped-dropped0, k, pushedOld)
	}
	relay = startRelayAt(t, addr)
	back := time.Now()
	var upAt time.Time
	ctx := testutil.Context(t, 10*time.Second)
	for up := false; !up; {
		select {
		case e := <-s.Events():
			kinds = append(kinds, e.Kind)
			up = e.Kind == mpegserver.Reconnected
			upAt = e.At
		case <-ctx.Done():
			t.Fatalf("no Reconnected event; events %v", kinds)
		default:
			serve(1)
		}
	}
	if kinds[0] != mpegserver.Disconnected || kinds[1] != mpegserver.Reconnecting || kinds[len(kinds)-1] != mpegserver.Reconnected {
		t.Errorf("events %v", kinds)
	}
	// Frames the new stream has had so far: wait until the relay has them
	// all, then read from the next one on.
	n := s.Stats().Pushed - pushedOld
	if n < 1 {
		serve(1)
		n = s.Stats().Pushed - pushedOld
	}
	if err := relay.Wait(ctx, "cam", func(i rtspserver.PathInfo) bool { return i.Frames >= uint64(n) }); err != nil {
		t.Fatal(err)
	}
	r, err := rtsptest.Read(relay.URL("cam"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := relay.WaitReaders(ctx, "cam", 1); err != nil {
		t.Fatal(err)
	}
	serve(2 * gop)
	if err := s.Close(); err != nil {
		t.Fatalf("Close after reconnecting: %v", err)
	}
	if err := r.WaitEnd(ctx); err != nil {
		t.Fatal(err)
	}
	aus := r.AUs()
	if len(aus) != 2*gop {
		t.Errorf("reader got %d frames, want %d", len(aus), 2*gop)
	}
	keys := rtsptest.Keyframes(aus)
	if len(keys) == 0 {
		t.Fatal("no keyframe after reconnecting")
	}
	for _, k := range keys {
		if (int(n)+k)%gop != 0 {
			t.Errorf("keyframe at frame %d of the new stream, want multiples of %d (keyframes at reader indexes %v, joined after %d)", int(n)+k, gop, keys, n)
		}
	}
	st = s.Stats()
	if st.Reconnects != 1 || st.Down <= 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("down %v, dropped %d, events %v; reconnected %v after the server was back (ReconnectMaxWait 300 ms)",
		st.Down.Round(time.Millisecond), st.Dropped, kinds, upAt.Sub(back).Round(time.Millisecond))
}

// TestReconnectNonBlockingDoesNotSpin: while down, WaitRef paces a
// non-blocking producer at the frame rate instead of letting it spin.
func TestReconnectNonBlockingDoesNotSpin(t *testing.T) {
	relay := testutil.StartRelay(t)
	px := testutil.StartProxy(t, relay.Addr())
	s := newServer(t, mpegserver.FrameAhead(2), mpegserver.Reconnect(true), mpegserver.ReconnectMaxWait(200*time.Millisecond))
	if err := s.Setup("rtsp://" + px.Addr() + "/nb"); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(640, 360, 0)
	// The sink connects once its first frames are encoded: serve until the
	// stream is publishing, then cut it and refuse it back.
	pub := testutil.Context(t, 10*time.Second)
	for !relay.Info("nb").Publishing {
		if err := s.ServeFrame(fr); err != nil && !errors.Is(err, mpegserver.ErrQueueFull) {
			t.Fatal(err)
		}
		time.Sleep(s.WaitRef())
		if pub.Err() != nil {
			t.Fatal("not publishing within 10 s")
		}
	}
	px.Refuse(true)
	px.Cut()
	ctx := testutil.Context(t, 10*time.Second)
	// Wait for the loss, serving meanwhile.
	for lost := false; !lost; {
		select {
		case e := <-s.Events():
			lost = e.Kind == mpegserver.Disconnected
		case <-ctx.Done():
			t.Fatal("no Disconnected event")
		default:
			if err := s.ServeFrame(fr); err != nil && !errors.Is(err, mpegserver.ErrQueueFull) {
				t.Fatal(err)
			}
			time.Sleep(s.WaitRef())
		}
	}
	// While down each frame is dropped at once and WaitRef says when the
	// next is due: a caller that follows it makes k calls in at least k-1
	// periods (a loaded machine only makes them later); one that spins
	// makes them in microseconds.
	const k = 30
	t0 := time.Now()
	for i := 0; i < k; i++ {
		if err := s.ServeFrame(fr); err != nil {
			t.Fatalf("ServeFrame while down: %v", err)
		}
		if i < k-1 {
			time.Sleep(s.WaitRef())
		}
	}
	if took, minimum := time.Since(t0), (k-1)*time.Second/30; took < minimum-10*time.Millisecond {
		t.Errorf("%d non-blocking calls following WaitRef took %v while down, the frame rate asks %v: WaitRef does not pace", k, took, minimum)
	}
	if err := s.Close(); !errors.Is(err, mpegserver.ErrDisconnected) {
		t.Errorf("Close while down: %v, want the loss", err)
	}
}

// TestFaultCyclesDoNotLeak: 20 cuts of the connection, each healed by a
// reconnection, leave goroutines and file descriptors where they were
// (the garbage collector off while cycling). A leak of anything per cycle,
// or every few cycles, shows over 20 as well as over more.
func TestFaultCyclesDoNotLeak(t *testing.T) {
	const cycles = 20
	relay := testutil.StartRelay(t)
	px := testutil.StartProxy(t, relay.Addr())
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.FrameAhead(1), mpegserver.Reconnect(true),
		mpegserver.ReconnectMaxWait(100*time.Millisecond))
	if err := s.Setup("rtsp://" + px.Addr() + "/cycles"); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(320, 240, 0)
	cycle := func(i int) {
		ctx := testutil.Context(t, 10*time.Second)
		// The sink connects once its first frames are encoded: serve until
		// this cycle's stream is publishing, then cut it.
		for relay.Info("cycles").Publishers < i+1 || !relay.Info("cycles").Publishing {
			if err := s.ServeFrameBlock(fr); err != nil {
				t.Fatalf("cycle %d: %v", i, err)
			}
			if ctx.Err() != nil {
				t.Fatalf("cycle %d: not publishing within 10 s", i)
			}
		}
		px.Cut()
		for {
			select {
			case e := <-s.Events():
				if e.Kind == mpegserver.Reconnected {
					return
				}
			case <-ctx.Done():
				t.Fatalf("cycle %d: not reconnected within 10 s; stats %+v", i, s.Stats())
			default:
				if err := s.ServeFrameBlock(fr); err != nil {
					t.Fatalf("cycle %d: %v", i, err)
				}
			}
		}
	}
	// Warm-up: GStreamer's thread pools and the C allocator's arenas grow
	// over the first cycles, then stay (measured: +23 MB after 50 cycles
	// and after 150 alike). Under the race detector RSS is not compared,
	// and goroutines and file descriptors settle within a few cycles.
	warm := 15
	if raceEnabled {
		warm = 5
	}
	for i := 0; i < warm; i++ {
		cycle(i)
	}
	g0, fd0, rss0 := goroutines(), openFDs(t), rssMB(t)
	gc := debug.SetGCPercent(-1)
	t0 := time.Now()
	for i := warm; i < warm+cycles; i++ {
		cycle(i)
	}
	el := time.Since(t0)
	fd1 := waitCount(func() int { return openFDs(t) }, fd0)
	debug.SetGCPercent(gc)
	g1 := waitCount(goroutines, g0)
	rss1 := rssMB(t)
	st := s.Stats()
	t.Logf("%d fault cycles in %v: reconnects %d, dropped %d, down %v; goroutines %d -> %d; fds %d -> %d; RSS %.1f -> %.1f MB",
		cycles, el.Round(time.Millisecond), st.Reconnects, st.Dropped, st.Down.Round(time.Millisecond), g0, g1, fd0, fd1, rss0, rss1)
	if st.Reconnects != int64(warm+cycles) {
		t.Errorf("reconnects %d, want %d", st.Reconnects, warm+cycles)
	}
	if g1 > g0 || fd1 > fd0 {
		t.Errorf("leak over %d fault cycles: goroutines %d -> %d, fds %d -> %d", cycles, g0, g1, fd0, fd1)
	}
	// A pipeline's native memory is a few MB (encoder, pool): a leak of
	// one per cycle would show as 40 MB and more.
	if rss1-rss0 > 15 && !raceEnabled {
		t.Errorf("RSS grew %.1f MB over %d fault cycles", rss1-rss0, cycles)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// rssMB is the process's resident set size after a collection, in MB.
func rssMB(t testing.TB) float64 {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(b), &size, &resident); err != nil {
		t.Fatal(err)
	}
	return float64(resident*int64(os.Getpagesize())) / 1e6
}

// TestStalledNonBlockingDoesNotSpin: while a stalled link is not yet
// declared lost, frames pile up to the hard cap and are refused; WaitRef
// then says to wait at least a frame period, so a caller that follows it
// serves at about the frame rate, not thousands of times a second.
func TestStalledNonBlockingDoesNotSpin(t *testing.T) {
	relay := testutil.StartRelay(t)
	px := testutil.StartProxy(t, relay.Addr())
	// Large frames (noise at a high bit rate) fill the socket's buffers
	// within a second of the stall; then the queue fills.
	s := newServer(t, mpegserver.FrameAhead(30), mpegserver.BitRate(40000), mpegserver.StallTimeout(time.Minute),
		mpegserver.CloseTimeout(time.Second))
	if err := s.Setup("rtsp://" + px.Addr() + "/spin"); err != nil {
		t.Fatal(err)
	}
	noise := make([][]byte, 4)
	for i := range noise {
		noise[i] = make([]byte, 640*360*3)
		_, _ = rand.Read(noise[i])
	}
	servePublished(t, s, relay, "spin", 10)
	px.Stall(true, true)
	fr := noise[0]
	ctx := testutil.Context(t, 30*time.Second)
	for i := 0; s.Stats().Refused == 0; i++ { // until the queue is full
		fr = noise[i%len(noise)]
		if err := s.ServeFrame(fr); err != nil && !errors.Is(err, mpegserver.ErrQueueFull) {
			t.Fatal(err)
		}
		time.Sleep(s.WaitRef())
		if ctx.Err() != nil {
			t.Fatal("no frame refused within 30 s of the stall")
		}
	}
	// With the queue full, WaitRef is at least a period; now and then the
	// encoder makes room for a frame, which may go sooner. So k calls that
	// follow WaitRef take at least two thirds of k periods (a loaded
	// machine only makes them later); spinning, they take microseconds.
	const k = 30
	refused0, t0 := s.Stats().Refused, time.Now()
	for i := 0; i < k; i++ {
		if err := s.ServeFrame(fr); err != nil && !errors.Is(err, mpegserver.ErrQueueFull) {
			t.Fatal(err)
		}
		time.Sleep(s.WaitRef())
	}
	took := time.Since(t0)
	if minimum := 2 * k / 3 * time.Second / 30; took < minimum {
		t.Errorf("%d calls following WaitRef with the queue full took %v, less than %v: WaitRef does not pace", k, took, minimum)
	}
	t.Logf("%d calls after the queue filled took %v; %d of them refused", k, took.Round(time.Millisecond), s.Stats().Refused-refused0)
}

// TestMemoryBoundAt1080p: flooding ServeFrame at 1920×1080 with a large
// FrameAhead holds at most the documented 512 MiB of queued frames: the
// hard cap refuses the rest, and RSS stays near baseline + 512 MiB.
func TestMemoryBoundAt1080p(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures RSS: not with -short or the race detector")
	}
	relay := testutil.StartRelay(t)
	px := testutil.StartProxy(t, relay.Addr())
	s := newServer(t, mpegserver.Size(1920, 1080), mpegserver.FrameAhead(200), mpegserver.StallTimeout(time.Minute),
		mpegserver.CloseTimeout(time.Second))
	if err := s.Setup("rtsp://" + px.Addr() + "/mem"); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(1920, 1080, 0)
	ctx := testutil.Context(t, 10*time.Second)
	for i := 0; relay.Info("mem").Frames < 3; i++ { // the sink has connected
		fr[i]++
		if err := s.ServeFrameBlock(fr); err != nil || ctx.Err() != nil {
			t.Fatalf("before the stall: %v, %v", err, ctx.Err())
		}
	}
	rss0 := rssMB(t)
	px.Stall(true, true) // nothing leaves: everything served stays queued
	var peak float64
	for i := 0; i < 400; i++ {
		fr[i]++
		if err := s.ServeFrame(fr); err != nil && !errors.Is(err, mpegserver.ErrQueueFull) {
			t.Fatal(err)
		}
		if i%50 == 0 {
			peak = max(peak, rssMB(t))
		}
	}
	st := s.Stats()
	peak = max(peak, rssMB(t))
	const bound = 512 * 1.048576 // MiB in MB
	t.Logf("RSS %.0f MB at start, peak %.0f MB (+%.0f); queued %d, refused %d", rss0, peak, peak-rss0, st.Queued, st.Refused)
	if st.Refused == 0 {
		t.Error("nothing refused: the hard cap did not bind")
	}
	// The pool's buffers and the encoder's own frames come on top of the
	// queue: allow 25% over the queue's bound.
	if peak-rss0 > bound*1.25 {
		t.Errorf("RSS grew %.0f MB, the queue's bound is %.0f MB", peak-rss0, bound)
	}
}

// TestSoak streams 640×360 at 30 fps for MPEGSERVER_SOAK (e.g. 30m; the
// test is skipped without it: make soak) while the relay is restarted
// every MPEGSERVER_SOAK_RESTART (default 2m), down for a second each time.
// Frames the relay received must be the frames pushed, less at most a
// couple a restart that were on the wire when the server went; frames
// served while down are dropped and counted; goroutines, file descriptors
// and RSS, compared while streaming after the first restart and at the end,
// do not grow.
func TestSoak(t *testing.T) {
	total, err := time.ParseDuration(os.Getenv("MPEGSERVER_SOAK"))
	if err != nil {
		t.Skip("set MPEGSERVER_SOAK=30m (make soak) to run the soak test")
	}
	every := 2 * time.Minute
	if v := os.Getenv("MPEGSERVER_SOAK_RESTART"); v != "" {
		if every, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	addr := testutil.FreeAddr(t)
	relay := startRelayAt(t, addr)
	s := newServer(t, mpegserver.FrameAhead(2), mpegserver.Reconnect(true), mpegserver.ReconnectMaxWait(time.Second))
	if err := s.Setup("rtsp://" + addr + "/soak"); err != nil {
		t.Fatal(err)
	}
	fr := testFrame(640, 360, 0)
	var received uint64
	served, restarts := 0, 0
	serve := func() {
		fr[served%len(fr)]++
		if err := s.ServeFrameBlock(fr); err != nil {
			t.Fatalf("frame %d: %v", served, err)
		}
		served++
	}
	// resources are measured while streaming, on a stream that publishes.
	resources := func() (int, int, float64) {
		for !relay.Info("soak").Publishing {
			serve()
		}
		for i := 0; i < 30; i++ {
			serve()
		}
		return goroutines(), openFDs(t), rssMB(t)
	}
	var g0, fd0 int
	var rss0 float64
	start, next := time.Now(), time.Now().Add(every)
	for time.Since(start) < total {
		serve()
		if time.Now().After(next) {
			received += relay.Info("soak").Frames
			relay.Close()
			restarts++
			// Down for a second, serving meanwhile: those frames are dropped.
			for down := time.Now(); time.Since(down) < time.Second; {
				serve()
			}
			relay = startRelayAt(t, addr)
			next = time.Now().Add(every)
			if restarts == 1 { // warmed up: one reconnection done
				g0, fd0, rss0 = resources()
			}
		}
	}
	g1, fd1, rss1 := resources()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := relay.WaitUnpublished(testutil.Context(t, 10*time.Second), "soak"); err == nil {
		received += relay.Info("soak").Frames
	}
	st := s.Stats()
	lost := st.Pushed - int64(received)
	t.Logf("soak %v: served %d = pushed %d + dropped %d; relay received %d (%d lost on the wire over %d restarts); reconnects %d, down %v; after the first restart and at the end: goroutines %d -> %d, fds %d -> %d, RSS %.1f -> %.1f MB",
		total, served, st.Pushed, st.Dropped, received, lost, restarts, st.Reconnects, st.Down.Round(time.Millisecond), g0, g1, fd0, fd1, rss0, rss1)
	if int64(served) != st.Pushed+st.Dropped {
		t.Errorf("served %d frames, pushed %d + dropped %d", served, st.Pushed, st.Dropped)
	}
	if lost < 0 || lost > int64(2*restarts) {
		t.Errorf("%d frames pushed but not received over %d restarts", lost, restarts)
	}
	if st.Reconnects != int64(restarts) {
		t.Errorf("reconnects %d, restarts %d", st.Reconnects, restarts)
	}
	if restarts > 1 && (g1 > g0 || fd1 > fd0 || (rss1-rss0 > 30 && !raceEnabled)) {
		t.Errorf("leak: goroutines %d -> %d, fds %d -> %d, RSS %.1f -> %.1f MB", g0, g1, fd0, fd1, rss0, rss1)
	}
}

// TestReadersInProcessAreNotTheSink: readers of the same server in the same
// process, coming and going from before the stream starts, are not taken
// for the sink's connection by the watchdog: no false loss.
func TestReadersInProcessAreNotTheSink(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a reader that keeps asking, as a monitoring program would
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r, err := rtsptest.Read(relay.URL("busy")); err == nil {
				time.Sleep(50 * time.Millisecond)
				r.Close()
			} else {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	time.Sleep(50 * time.Millisecond) // the reader is knocking before the stream exists
	s := newServer(t, mpegserver.FrameAhead(2), mpegserver.Reconnect(true))
	if err := s.Setup(relay.URL("busy")); err != nil {
		t.Fatal(err)
	}
	if err, _ := serveUntilError(s, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Reconnects != 0 || st.Dropped != 0 {
		t.Errorf("a reader was taken for the sink: %+v", st)
	}
	select {
	case e := <-s.Events():
		t.Errorf("event %v: %v", e.Kind, e.Err)
	default:
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestThrottledLinkSlowsButHolds: a link slower than the bit rate is not a
// loss while the server still acknowledges data: no error past
// StallTimeout, memory within the queue's bound, and once the link is
// healed the stream goes on and Close delivers every frame. (For the first
// seconds the kernel's send buffer takes up the difference, so the caller
// keeps its rate; frames arrive late, none is lost.)
func TestThrottledLinkSlowsButHolds(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	px := testutil.StartProxy(t, relay.Addr())
	s := newServer(t, mpegserver.FrameAhead(2), mpegserver.StallTimeout(3*time.Second), mpegserver.CloseTimeout(20*time.Second))
	if err := s.Setup("rtsp://" + px.Addr() + "/slow"); err != nil {
		t.Fatal(err)
	}
	servePublished(t, s, relay, "slow", 10)
	before := s.Stats().Pushed
	// 512 kb/s against a 2 Mb/s stream. Slower still, the receiver's
	// window would reopen, and acknowledgements come, so seldom that a
	// loaded machine would stretch the gap past StallTimeout.
	px.Throttle(64 << 10)
	t0 := time.Now()
	if err, _ := serveUntilError(s, 4*time.Second); err != nil {
		t.Fatalf("throttled: %v", err)
	}
	rate := float64(s.Stats().Pushed-before) / time.Since(t0).Seconds()
	st := s.Stats()
	if st.Queued > 4 {
		t.Errorf("%d frames queued, frames-ahead 2 allows 4", st.Queued)
	}
	px.Heal()
	if err, _ := serveUntilError(s, time.Second); err != nil {
		t.Fatalf("after healing: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after healing: %v", err)
	}
	if err := relay.WaitUnpublished(testutil.Context(t, 10*time.Second), "slow"); err != nil {
		t.Fatal(err)
	}
	if got := relay.Info("slow").Frames; int64(got) != s.Stats().Pushed {
		t.Errorf("relay received %d frames, %d pushed", got, s.Stats().Pushed)
	}
	t.Logf("throttled: %.1f frames/s served; %d frames, all received after healing", rate, s.Stats().Pushed)
}

// TestLostConnectionIsNotReopenedBySink: when the server's end of the
// connection goes away, the RTSP sink does not open another one by
// itself: the stream reports the loss and reconnects, or not, by its own
// policy. rtspclientsink's own reconnection (udp-reconnect, on by default)
// reopened the connection on a new socket mid-stream, with no session,
// and kept its receive loop running, which sent its close down the path
// that frees the connection under a sender (docs/design.md).
func TestLostConnectionIsNotReopenedBySink(t *testing.T) {
	relay := testutil.StartRelay(t)
	px := testutil.StartProxy(t, relay.Addr())
	s := newServer(t)
	if err := s.Setup("rtsp://" + px.Addr() + "/cut"); err != nil {
		t.Fatal(err)
	}
	servePublished(t, s, relay, "cut", 5)
	before := px.Opened() // Setup's own check, and the sink's connection
	px.Cut()
	err, _ := serveUntilError(s, 10*time.Second)
	if !errors.Is(err, mpegserver.ErrDisconnected) {
		t.Fatalf("after the cut: %v, want ErrDisconnected", err)
	}
	_ = s.Close()
	if n := px.Opened() - before; n != 0 {
		t.Errorf("after the cut, %d new connections: the sink reconnected by itself", n)
	}
}
