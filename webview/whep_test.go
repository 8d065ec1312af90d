package webview_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testpattern"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
	"github.com/mpegcoder-go/mpegserver/webview"
	"github.com/pion/webrtc/v4"
)

// player is a WHEP player in Go (testutil.PlayWHEP): it records the
// H.264 access units it receives.
type player struct {
	pc       *webrtc.PeerConnection
	location string
	mu       sync.Mutex
	aus      [][][]byte
	got      chan struct{}
	answer   string
	answered time.Time // when the answer came
	first    time.Time // when the first access unit was whole
}

func whepPlay(t *testing.T, endpoint string) (*player, *http.Response) {
	t.Helper()
	p := &player{got: make(chan struct{}, 1)}
	wp, res, err := testutil.PlayWHEP(endpoint, func(au [][]byte, at time.Time) {
		p.mu.Lock()
		if len(p.aus) == 0 {
			p.first = at
		}
		p.aus = append(p.aus, au)
		p.mu.Unlock()
		select {
		case p.got <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if wp == nil {
		return nil, res
	}
	t.Cleanup(func() { _ = wp.PC.Close() })
	p.pc, p.location, p.answer, p.answered = wp.PC, wp.Location, wp.Answer, wp.Answered
	return p, res
}

// waitAUs waits until n access units have arrived.
func (p *player) waitAUs(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		p.mu.Lock()
		have := len(p.aus)
		p.mu.Unlock()
		if have >= n {
			return
		}
		select {
		case <-p.got:
		case <-deadline:
			t.Fatalf("%d access units within %v, want %d", have, within, n)
		}
	}
}

// indexes decodes what arrived with ffmpeg and reads the test pattern's
// frame index from each picture.
func (p *player) indexes(t *testing.T, w, h int) []int {
	t.Helper()
	var annexB bytes.Buffer
	p.mu.Lock()
	for _, au := range p.aus {
		for _, n := range au {
			annexB.Write([]byte{0, 0, 0, 1})
			annexB.Write(n)
		}
	}
	p.mu.Unlock()
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	cmd.Stdin = &annexB
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	var idx []int
	for off := 0; off+w*h*3 <= len(out); off += w * h * 3 {
		if i, ok := testpattern.Decode(out[off:off+w*h*3], w, h); ok {
			idx = append(idx, i)
		} else {
			idx = append(idx, -1)
		}
	}
	return idx
}

func (p *player) firstAUIsKeyframe() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.aus) == 0 {
		return false
	}
	for _, n := range p.aus[0] {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeIDR {
			return true
		}
	}
	return false
}

// publisher is the library pushing the test pattern to a relay path at
// 30 fps (GOP 30, frames ahead 1), recording when each frame index was
// pushed (Unix ms).
type publisher struct {
	s    *mpegserver.Server
	stop func()
	mu   sync.Mutex
	at   map[int]float64
}

// publish starts a publisher until the test ends (or stop is called).
func publish(t testing.TB, relay *rtspserver.Server, path string, w, h int) *publisher {
	return publishGOP(t, relay, path, w, h, 30)
}

// publishGOP is publish with a GOP of its own. The relay's readers ask
// the publisher for a keyframe as they join, as mpegserver push wires it.
func publishGOP(t testing.TB, relay *rtspserver.Server, path string, w, h, gop int) *publisher {
	t.Helper()
	pb := publishTo(t, relay.URL(path), w, h, gop)
	relay.OnKeyframeWanted(func(p string) {
		if p == path {
			pb.s.RequestKeyframe()
		}
	})
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), path); err != nil {
		t.Fatal(err)
	}
	return pb
}

// publishTo starts a publisher to any address until the test ends (or
// stop is called).
func publishTo(t testing.TB, addr string, w, h, gop int) *publisher {
	t.Helper()
	pb := &publisher{s: mpegserver.New(), at: map[int]float64{}}
	if err := pb.s.SetParameter(mpegserver.Size(w, h), mpegserver.GOPSize(gop), mpegserver.FrameAhead(1)); err != nil {
		t.Fatal(err)
	}
	if err := pb.s.Setup(addr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		frame := make([]byte, w*h*3)
		for i := 0; ctx.Err() == nil; i++ {
			testpattern.Draw(frame, w, h, i, time.Now())
			if err := pb.s.ServeFrameContext(ctx, frame); err != nil {
				if ctx.Err() == nil {
					t.Errorf("frame %d: %v", i, err)
				}
				return
			}
			pb.mu.Lock()
			pb.at[i&testpattern.Mask] = float64(time.Now().UnixNano()) / 1e6
			pb.mu.Unlock()
		}
	}()
	var once sync.Once
	pb.stop = func() { once.Do(func() { cancel(); <-done; _ = pb.s.Close() }) }
	t.Cleanup(pb.stop)
	return pb
}

// pushedAt is when frame index i was pushed, Unix ms.
func (pb *publisher) pushedAt(i int) (float64, bool) {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	at, ok := pb.at[i]
	return at, ok
}

func startView(t *testing.T, relay *rtspserver.Server, max int) *webview.Server {
	t.Helper()
	v := &webview.Server{Relay: relay, Address: "127.0.0.1:0", MaxSessions: max, Logf: t.Logf}
	if err := v.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// TestWHEPPlays: a WHEP player joining mid-stream gets H.264 from a
// keyframe on, every frame after it, offered on 127.0.0.1 only; DELETE
// frees the session.
func TestWHEPPlays(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	relay := testutil.StartRelay(t)
	publish(t, relay, "cam", 320, 240)
	v := startView(t, relay, 0)
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserver.PathInfo) bool { return i.Frames >= 20 }); err != nil {
		t.Fatal(err)
	}
	p, res := whepPlay(t, v.URL("cam")+"/whep")
	if p == nil {
		t.Fatalf("POST: %s", res.Status)
	}
	for _, l := range strings.Split(p.answer, "\n") {
		if strings.HasPrefix(l, "a=candidate:") {
			if f := strings.Fields(l); len(f) < 5 || !net.ParseIP(f[4]).IsLoopback() {
				t.Errorf("answer offers a candidate off loopback: %s", l)
			}
		}
	}
	if !strings.HasPrefix(p.location, "/cam/whep/") {
		t.Errorf("Location %q", p.location)
	}
	p.waitAUs(t, 60, 15*time.Second)
	if !p.firstAUIsKeyframe() {
		t.Error("the first access unit is not a keyframe")
	}
	idx := p.indexes(t, 320, 240)
	bad := 0
	for k := 1; k < len(idx); k++ {
		if idx[k] != idx[k-1]+1 {
			bad++
		}
	}
	t.Logf("%d frames decoded, indexes %d..%d, %d out of order or unreadable", len(idx), idx[0], idx[len(idx)-1], bad)
	if len(idx) < 60 || bad > 0 || idx[0] < 0 {
		t.Errorf("indexes %v", idx)
	}
	if v.Sessions() != 1 {
		t.Errorf("%d sessions, want 1", v.Sessions())
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+v.Addr()+p.location, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %v %v", res, err)
	}
	if v.Sessions() != 0 {
		t.Errorf("%d sessions after DELETE", v.Sessions())
	}
}

// TestWHEPBadRequests: every bad request gets a 4xx and a reason, the
// server stays up; sessions are bounded.
func TestWHEPBadRequests(t *testing.T) {
	relay := testutil.StartRelay(t)
	v := startView(t, relay, 1)
	base := "http://" + v.Addr()
	do := func(method, path, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	cases := []struct {
		method, path, ctype, body string
		want                      int
	}{
		{"GET", "/", "", "", 404},
		{"GET", "/../etc/passwd", "", "", 404},
		{"POST", "/cam/whep", "application/sdp", "v=0", 404}, // nothing published yet
		{"GET", "/cam/whep", "", "", 405},
		{"PUT", "/cam", "", "", 405},
		{"DELETE", "/cam/whep/nosuch", "", "", 404},
	}
	for _, c := range cases {
		if got, msg := do(c.method, c.path, c.ctype, c.body); got != c.want {
			t.Errorf("%s %s: %d %q, want %d", c.method, c.path, got, msg, c.want)
		}
	}
	if got, _ := do("GET", "/cam", "", ""); got != 200 {
		t.Errorf("page: %d", got)
	}
	publish(t, relay, "cam", 320, 240)
	for _, c := range []struct {
		ctype, body string
		want        int
	}{
		{"text/plain", "v=0", 415},
		{"application/sdp", "not an sdp", 400},
		{"application/sdp", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", 400},
		{"application/sdp", strings.Repeat("a", 70<<10), 413},
	} {
		if got, msg := do("POST", "/cam/whep", c.ctype, c.body); got != c.want {
			t.Errorf("POST %s %.20q: %d %q, want %d", c.ctype, c.body, got, msg, c.want)
		} else {
			t.Logf("POST %s %.20q: %d %s", c.ctype, c.body, got, msg)
		}
	}
	if v.Sessions() != 0 {
		t.Errorf("%d sessions left by bad offers", v.Sessions())
	}
	p, _ := whepPlay(t, base+"/cam/whep")
	if p == nil {
		t.Fatal("first viewer refused")
	}
	if p2, res := whepPlay(t, base+"/cam/whep"); p2 != nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("second viewer with MaxSessions 1: %v", res.Status)
	}
}

// TestViewerGoneFreesSession: a viewer that vanishes without DELETE is
// noticed (ICE gives up) and its session freed; goroutines go back.
func TestViewerGoneFreesSession(t *testing.T) {
	relay := testutil.StartRelay(t)
	publish(t, relay, "cam", 320, 240)
	v := startView(t, relay, 0)
	if n := viewerGoroutines(); n != 0 {
		t.Fatalf("%d WebRTC goroutines before any viewer", n)
	}
	p, res := whepPlay(t, v.URL("cam")+"/whep")
	if p == nil {
		t.Fatalf("POST: %s", res.Status)
	}
	p.waitAUs(t, 10, 10*time.Second)
	withViewer := viewerGoroutines()
	_ = p.pc.Close() // no DELETE
	closed := time.Now()
	deadline := time.Now().Add(40 * time.Second)
	for v.Sessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("session not freed within 40 s of the viewer vanishing")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("session freed %v after the viewer vanished", time.Since(closed).Round(100*time.Millisecond))
	// The viewer's goroutines (ICE, DTLS, SRTP, interceptors, the
	// writer) and the player's own end too.
	for viewerGoroutines() > 0 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d WebRTC goroutines (%d with the viewer) 40 s after it left:\n%s", viewerGoroutines(), withViewer, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("WebRTC goroutines: %d with the viewer, none %v after it left", withViewer, time.Since(closed).Round(100*time.Millisecond))
}

// viewerGoroutines counts the goroutines running pion or a webview
// session: a viewer's and a player's.
func viewerGoroutines() int {
	buf := make([]byte, 4<<20)
	n := 0
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "github.com/pion/") || strings.Contains(g, "webview.(*session)") {
			n++
		}
	}
	return n
}

// TestFirstFrameAtOnce: ten WHEP players join at random phases of a
// 10-second GOP; each gets its first whole frame within a few frame
// periods of its answer, because the viewer's connection asks the
// publisher for a keyframe. It prints the figures make bench reports
// (BENCH-TTFF).
func TestFirstFrameAtOnce(t *testing.T) {
	relay := testutil.StartRelay(t)
	publishGOP(t, relay, "cam", 320, 240, 300)
	v := startView(t, relay, 0)
	v.Logf = nil
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserver.PathInfo) bool { return i.Frames >= 20 }); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 20))
	var took []time.Duration
	for i := 0; i < 10; i++ {
		// A random phase of the GOP and of the frame period; never
		// within the publisher's keyframe interval of the last join.
		time.Sleep(mpegserver.KeyframeInterval + time.Duration(rnd.Int64N(int64(time.Second))))
		p, res := whepPlay(t, v.URL("cam")+"/whep")
		if p == nil {
			t.Fatalf("POST: %s", res.Status)
		}
		p.waitAUs(t, 1, 10*time.Second)
		p.mu.Lock()
		d := p.first.Sub(p.answered)
		p.mu.Unlock()
		took = append(took, d)
		if !p.firstAUIsKeyframe() {
			t.Errorf("join %d: the first access unit is not a keyframe", i)
		}
		_ = p.pc.Close()
		req, _ := http.NewRequest(http.MethodDelete, "http://"+v.Addr()+p.location, nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}
	slices.Sort(took)
	t.Logf("answer → first frame over 10 joins: min %v, p50 %v, max %v", took[0].Round(time.Millisecond), took[5].Round(time.Millisecond), took[9].Round(time.Millisecond))
	fmt.Printf("BENCH-TTFF whep p50=%.1f max=%.1f n=%d\n", ms(took[5]), ms(took[9]), len(took))
	if took[9] > time.Second {
		t.Errorf("a player waited %v for its first frame (GOP 10 s: the keyframe was not asked for)", took[9])
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
