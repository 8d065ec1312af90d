package webview_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// chromiumPath is Debian's browser binary (its /usr/bin/chromium is a
// shell wrapper).
var chromiumPath = "/usr/lib/chromium/chromium"

// inOwnNetwork runs the calling test again in a network namespace of its
// own whose only interface is loopback, so the browser, the server and
// everything between them cannot reach any other interface. It returns
// true inside (go on testing) and false outside (the result is reported).
func inOwnNetwork(t *testing.T) bool {
	t.Helper()
	if os.Getenv("MPEGSERVER_NETNS") == "1" {
		return true
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip("chromium not installed (make deps installs Debian's chromium)")
	}
	if err := exec.Command("unshare", "--net", "true").Run(); err != nil {
		t.Skipf("no network namespace of our own (unshare --net needs root): %v; the browser tests keep Chromium inside one", err)
	}
	args := []string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh", os.Args[0],
		"-test.run", "^" + t.Name() + "$", "-test.v", "-test.count=1", "-test.timeout=5m"}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), "MPEGSERVER_NETNS=1")
	out, err := cmd.CombinedOutput()
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		t.Log(l)
	}
	if err != nil {
		t.Fatalf("in its own network namespace: %v", err)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skip("skipped inside")
	}
	return false
}

func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // root in CI
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("disable-background-networking", true),
		// Software compositing: no emulated GPU (SwiftShader) per tab.
		chromedp.DisableGPU,
		chromedp.WindowSize(1000, 600),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	bctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if _, err := chromedp.Run(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

type pageState struct {
	W, H    int
	Time    float64
	Painted int
	Decoded int
	Frames  []struct {
		I  int
		At float64
		PF int
	}
	Stats struct {
		PacketsLost, FramesReceived, FramesDecoded, FramesDropped int
	}
	Status string
}

func readPage(t *testing.T, ctx context.Context) pageState {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const s = {};
		if (mpegserver.pc) (await mpegserver.pc.getStats()).forEach(r => { if (r.type === "inbound-rtp" && r.kind === "video")
			Object.assign(s, {PacketsLost: r.packetsLost, FramesReceived: r.framesReceived, FramesDecoded: r.framesDecoded, FramesDropped: r.framesDropped || 0}); });
		return JSON.stringify({W: video.videoWidth, H: video.videoHeight, Time: video.currentTime,
		Painted: mpegserver.painted, Decoded: mpegserver.decoded, Status: document.getElementById("status").textContent,
		Frames: mpegserver.frames.map(f => ({I: f.i, At: f.at, PF: f.pf})), Stats: s}); })()`, chromedp.EvalAsValue, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var st pageState
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// waitPlaying waits until the page paints decoded test-pattern frames.
func waitPlaying(t *testing.T, ctx context.Context, n int, within time.Duration) pageState {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := readPage(t, ctx)
		if st.Decoded >= n {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("page not playing within %v: %+v", within, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPainted waits until the page has read n painted frames.
func waitPainted(t *testing.T, ctx context.Context, n int, within time.Duration) pageState {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := readPage(t, ctx)
		if len(st.Frames) >= n {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d frames painted within %v, want %d", len(st.Frames), within, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserPlays: Chromium opens the page and plays the stream at its
// size, time advancing; painted frames carry consecutive indexes (losses
// counted), the first one decodable; push → painted latency is measured;
// the README's picture is taken.
func TestBrowserPlays(t *testing.T) {
	if !inOwnNetwork(t) {
		return
	}
	relay := testutil.StartRelay(t)
	const w, h = 640, 360
	pb := publish(t, relay, "cam", w, h)
	v := startView(t, relay, 0)
	ctx := browser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(v.URL("cam"))); err != nil {
		t.Fatal(err)
	}
	first := waitPlaying(t, ctx, 5, 20*time.Second)
	// Ninety more frames painted to measure: three seconds at the frame
	// rate, longer on a loaded machine.
	st := waitPainted(t, ctx, len(first.Frames)+90, 60*time.Second)
	if st.W != w || st.H != h || st.Time <= first.Time {
		t.Errorf("video %dx%d, time %.2f then %.2f", st.W, st.H, first.Time, st.Time)
	}
	// Indexes must increase. A gap is frames that were not painted:
	// shown but not seen by the frame callback (presentedFrames jumped as
	// much), replaced by a newer one before the screen refreshed (decoded,
	// never presented), or lost (WebRTC counts those: packets lost,
	// frames dropped). Gaps beyond what these explain fail the test.
	missing, unseen, disorder := 0, 0, 0
	var lat []float64
	for k, f := range st.Frames {
		if k > 0 {
			prev := st.Frames[k-1]
			d, dp := f.I-prev.I, f.PF-prev.PF
			if d < 1 {
				disorder++
				continue
			}
			missing += d - 1
			unseen += min(d, dp) - 1
		}
		if at, ok := pb.pushedAt(f.I); ok {
			lat = append(lat, f.At-at)
		}
	}
	sort.Float64s(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	notPainted := st.Stats.FramesDecoded - len(st.Frames) // decoded frames the callback never saw
	t.Logf("%d frames painted and read, indexes %d..%d, %d out of order; %d indexes missing: %d shown but not seen by the callback, the rest replaced before a refresh or lost; "+
		"WebRTC: %+v; push → painted p50 %.0f ms, p99 %.0f ms; status %q",
		len(st.Frames), st.Frames[0].I, st.Frames[len(st.Frames)-1].I, disorder, missing, unseen, st.Stats, p50, p99, st.Status)
	if disorder > 0 || missing > notPainted+st.Stats.PacketsLost+st.Stats.FramesDropped {
		t.Errorf("%d frames, %d out of order, %d missing; not explained by %d decoded but not painted, %d packets lost, %d frames dropped",
			len(st.Frames), disorder, missing, notPainted, st.Stats.PacketsLost, st.Stats.FramesDropped)
	}
	if !strings.Contains(st.Status, "640×360") || !strings.Contains(st.Status, "latency") {
		t.Errorf("status line %q", st.Status)
	}
	// Generous for a loaded machine; frames held back in a buffer (a
	// jitter buffer gone wrong, frames queued behind the publisher) show
	// as seconds.
	if p50 <= 0 || p50 > 1000 {
		t.Errorf("latency p50 %.0f ms", p50)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "browser.png")
	if dir := os.Getenv("MPEGSERVER_SCREENSHOT_DIR"); dir != "" {
		out = filepath.Join(dir, "browser.png")
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(png))
}

// TestBrowserViewers: ten viewers at once do not hold the publisher back
// (nor make it run ahead of its rate): its frames keep reaching the relay
// as they are encoded; a closed tab frees its session.
func TestBrowserViewers(t *testing.T) {
	if !inOwnNetwork(t) {
		return
	}
	relay := testutil.StartRelay(t)
	// Small frames: ten Chromium tabs on two cores must not starve the
	// publisher of CPU, which is not what is checked.
	const w, h = 256, 144
	s := publish(t, relay, "cam", w, h).s
	v := startView(t, relay, 0)
	ctx := browser(t)
	var tabs []context.Context
	var cancels []context.CancelFunc
	for i := 0; i < 10; i++ {
		tab, cancel := chromedp.NewContext(ctx)
		if _, err := chromedp.Run(tab, chromedp.Navigate(v.URL("cam"))); err != nil {
			t.Fatal(err)
		}
		tabs, cancels = append(tabs, tab), append(cancels, cancel)
	}
	for _, tab := range tabs {
		waitPlaying(t, tab, 5, 30*time.Second)
	}
	if n := v.Sessions(); n != 10 {
		t.Errorf("%d sessions for 10 tabs", n)
	}
	// The publisher's next n frames with ten viewers. It is paced by its
	// time line alone, so they take about n periods (less the few a late
	// producer may catch up on); held back by the viewers (the relay
	// waiting on WebRTC) they would take far longer. Twice the time
	// leaves room for the CPU the tabs take.
	const n = 90
	period := time.Duration(float64(time.Second) / s.Config().FrameRate.Float())
	a := s.Stats()
	b := a
	for b.Pushed < a.Pushed+n && b.Elapsed-a.Elapsed < 4*n*period {
		time.Sleep(10 * time.Millisecond)
		b = s.Stats()
	}
	took := b.Elapsed - a.Elapsed
	t.Logf("publisher with 10 browser viewers: %d frames in %v", b.Pushed-a.Pushed, took.Round(time.Millisecond))
	if b.Pushed < a.Pushed+n || took > 2*n*period {
		t.Errorf("publisher served %d frames in %v with viewers; the frame rate asks %v for %d", b.Pushed-a.Pushed, took, n*period, n)
	}
	if took < (n-10)*period {
		t.Errorf("publisher served %d frames in %v with viewers, faster than its rate (%v for %d)", b.Pushed-a.Pushed, took, n*period, n)
	}
	if b.Dropped != 0 || b.Reconnects != 0 {
		t.Errorf("the publisher lost the relay: %+v", b)
	}
	// Every frame encoded by the window's end reaches the relay promptly:
	// a relay held by its viewers would fall behind.
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserver.PathInfo) bool { return i.Frames >= uint64(b.Encoded) }); err != nil {
		t.Errorf("the relay has %d frames 10 s after the publisher had encoded %d: %v", relay.Info("cam").Frames, b.Encoded, err)
	}
	for _, c := range cancels {
		c()
	}
	deadline := time.Now().Add(30 * time.Second)
	for v.Sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions left 30 s after the tabs closed", v.Sessions())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserLatency is make bench's figure 7, not a CI test: push →
// painted latency in Chromium at 640×360 and 1280×720, 30 fps, for
// MPEGSERVER_BENCH_BROWSER seconds each. It prints one BENCH line per size.
func TestBrowserLatency(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("MPEGSERVER_BENCH_BROWSER"))
	if secs <= 0 {
		t.Skip("a benchmark: MPEGSERVER_BENCH_BROWSER=SECONDS (make bench runs it)")
	}
	if !inOwnNetwork(t) {
		return
	}
	for _, sz := range [][2]int{{640, 360}, {1280, 720}} {
		w, h := sz[0], sz[1]
		relay := testutil.StartRelay(t)
		pb := publish(t, relay, "cam", w, h)
		v := startView(t, relay, 0)
		v.Logf = nil
		ctx := browser(t)
		if _, err := chromedp.Run(ctx, chromedp.Navigate(v.URL("cam"))); err != nil {
			t.Fatal(err)
		}
		waitPlaying(t, ctx, 30, 30*time.Second)
		start := readPage(t, ctx)
		time.Sleep(time.Duration(secs) * time.Second) // the measuring window
		st := readPage(t, ctx)
		pb.stop()
		var lat []float64
		for _, f := range st.Frames[len(start.Frames):] {
			if at, ok := pb.pushedAt(f.I); ok {
				lat = append(lat, f.At-at)
			}
		}
		if len(lat) == 0 {
			t.Fatalf("%dx%d: no frames measured", w, h)
		}
		sort.Float64s(lat)
		fmt.Printf("BENCH-BROWSER %dx%d p50=%.1f p99=%.1f n=%d lost=%d dropped=%d\n", w, h, lat[len(lat)/2], lat[len(lat)*99/100], len(lat),
			st.Stats.PacketsLost, st.Stats.FramesDropped)
	}
}

// TestBrowserFirstFrame: Chromium opens the page ten times, in a new tab
// each, at random phases of a 10-second GOP; the first frame is painted
// a few hundred milliseconds after the navigation began, not up to a GOP
// later. It prints the figures make bench reports (BENCH-TTFF).
func TestBrowserFirstFrame(t *testing.T) {
	if !inOwnNetwork(t) {
		return
	}
	relay := testutil.StartRelay(t)
	publishGOP(t, relay, "cam", 640, 360, 300)
	v := startView(t, relay, 0)
	v.Logf = nil
	ctx := browser(t)
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var took []float64
	for i := 0; i < 10; i++ {
		time.Sleep(mpegserver.KeyframeInterval + time.Duration(rnd.Int64N(int64(time.Second))))
		tab, cancel := chromedp.NewContext(ctx)
		if _, err := chromedp.Run(tab, chromedp.Navigate(v.URL("cam"))); err != nil {
			t.Fatal(err)
		}
		var first float64
		deadline := time.Now().Add(20 * time.Second)
		for {
			v, err := chromedp.Run(tab, chromedp.Evaluate[float64](`mpegserver.frames.length ? mpegserver.frames[0].at - performance.timeOrigin : -1`))
			if err != nil {
				t.Fatal(err)
			}
			if v >= 0 {
				first = v
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("navigation %d: no frame painted within 20 s", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
		marks, _ := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify(mpegserver.marks, (k, v) => typeof v === "number" ? Math.round(v) : v)`))
		cancel()
		took = append(took, first)
		t.Logf("navigation %d: first frame painted %.0f ms after it began; steps (ms): %s", i, first, marks)
	}
	sort.Float64s(took)
	t.Logf("navigation → first painted frame over 10: min %.0f ms, p50 %.0f ms, max %.0f ms", took[0], took[5], took[9])
	fmt.Printf("BENCH-TTFF browser p50=%.1f max=%.1f n=%d\n", took[5], took[9], len(took))
	if took[5] > 3000 {
		t.Errorf("first frame p50 %.0f ms after navigation (GOP 10 s: the keyframe was not asked for)", took[5])
	}
}

// TestBrowserPlaysWHIP: the library publishes by WHIP to mediamtx, and
// Chromium plays the stream from mediamtx's own WebRTC page, in the
// namespace with loopback only: at the stream's size, its frames
// advancing at about the frame rate.
func TestBrowserPlaysWHIP(t *testing.T) {
	if !inOwnNetwork(t) {
		return
	}
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true})
	const w, h = 640, 360
	publishTo(t, m.WHIP("cam", ""), w, h, 30)
	ctx := browser(t)
	if _, err := chromedp.Run(ctx, chromedp.Navigate(m.Page("cam"))); err != nil {
		t.Fatal(err)
	}
	type state struct{ W, H, Frames, Dropped int }
	read := func() state {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const v = document.querySelector("video");
			const q = v.getVideoPlaybackQuality();
			return JSON.stringify({W: v.videoWidth, H: v.videoHeight, Frames: q.totalVideoFrames, Dropped: q.droppedVideoFrames}); })()`))
		if err != nil {
			t.Fatal(err)
		}
		var st state
		if err := json.Unmarshal([]byte(raw), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	deadline := time.Now().Add(20 * time.Second)
	for read().Frames < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("mediamtx's page plays nothing within 20 s: %+v\n%s", read(), m.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Sixty frames more: two seconds at the frame rate. Twice that leaves
	// room for a loaded machine; a stream that stalls or plays at a
	// fraction of its rate takes far longer.
	a := read()
	t0 := time.Now()
	b := a
	for b.Frames < a.Frames+60 && time.Since(t0) < 4*time.Second {
		time.Sleep(100 * time.Millisecond)
		b = read()
	}
	took := time.Since(t0)
	t.Logf("mediamtx's page: %dx%d, %d frames in %v, %d dropped", b.W, b.H, b.Frames-a.Frames, took.Round(time.Millisecond), b.Dropped)
	if b.W != w || b.H != h || b.Frames < a.Frames+60 {
		t.Errorf("playing %dx%d: %d frames in %v, want 60 within 4 s", b.W, b.H, b.Frames-a.Frames, took.Round(time.Millisecond))
	}
}
