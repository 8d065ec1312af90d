package mpegserver_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/pion/stun/v4"
)

// TestWHIPOutput: 300 frames published by WHIP to mediamtx, which
// records them: all 300 in the recording, at the size asked, a keyframe
// first and at least every GOP (mediamtx asks for more with PLI every
// 2 s, which the stream answers); an RTSP reader of mediamtx joining
// mid-stream (mediamtx sends it what comes, from wherever the GOP is)
// gets a keyframe within a GOP and at least every GOP after. The launch
// line holds no token.
func TestWHIPOutput(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true, Users: []testutil.MediaMTXUser{{User: "pub", Pass: "s3cret", Publish: true}}})
	const n, gop = 300, 30
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop), mpegserver.FrameAhead(1))
	addr := m.WHIP("cam", "pub:s3cret")
	start := time.Now()
	if err := s.Setup(addr); err != nil {
		t.Fatal(err)
	}
	t.Logf("Setup (OPTIONS, offer, answer, ICE and DTLS up): %v", time.Since(start).Round(time.Millisecond))
	if f, _ := s.Parameter(mpegserver.KeyFormatName); f != "whip" {
		t.Errorf("formatName %v", f)
	}
	line, _ := s.LaunchLine()
	if strings.Contains(line, "s3cret") || !strings.Contains(line, "rtph264pay") || !strings.Contains(line, "profile=constrained-baseline") {
		t.Errorf("launch line %s", line)
	}
	var rd *rtsptest.Reader
	for i := 0; i < n; i++ {
		if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if i == 45 {
			var err error
			if rd, err = rtsptest.Read(m.RTSPURL("cam")); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(rd.Close)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rd.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	files := waitRecording(t, m, "cam")
	got, keys := ffprobeFrames(t, files[0])
	t.Logf("recording %s: %s, keyframes at %v", files[0], got, keys)
	if got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("ffprobe %q, want h264,320,240,%d", got, n)
	}
	checkKeyframes(t, "recording", keys, n, gop)
	aus := rd.AUs()
	rkeys := rtsptest.Keyframes(aus)
	t.Logf("RTSP reader of mediamtx: %d frames, keyframes at %v", len(aus), rkeys)
	if len(aus) < n-90 || len(rkeys) == 0 || rkeys[0] > gop {
		t.Fatalf("RTSP reader: %d frames, keyframes at %v", len(aus), rkeys)
	}
	for i := range rkeys {
		rkeys[i] -= rkeys[0]
	}
	checkKeyframes(t, "RTSP reader", rkeys, len(aus)-rkeys[0], gop)
}

// checkKeyframes: a keyframe first, and none more than a GOP after the
// last.
func checkKeyframes(t *testing.T, who string, keys []int, n, gop int) {
	t.Helper()
	if len(keys) == 0 || keys[0] != 0 {
		t.Errorf("%s: keyframes at %v, want one first", who, keys)
		return
	}
	for i, k := range append(keys[1:], n) {
		if k-keys[i] > gop {
			t.Errorf("%s: %d frames from keyframe %d to %d, GOP %d", who, k-keys[i], keys[i], k, gop)
		}
	}
}

// waitRecording waits until mediamtx has finished the path's recording.
func waitRecording(t *testing.T, m *testutil.MediaMTX, path string) []string {
	t.Helper()
	if !m.WaitLog("[path "+path+"] [recorder] recording stopped", 1, 10*time.Second) {
		t.Fatalf("mediamtx did not finish recording %s", path)
	}
	files := m.Recordings(path)
	if len(files) == 0 {
		t.Fatalf("no recording of %s", path)
	}
	return files
}

// TestWHIPUnauthorized: a wrong token, or none, is ErrUnauthorized at
// Setup, said without the token; the Server takes the right one after.
// Nothing the stream prints holds the token: its logs, String, Outputs,
// Stats, DumpFile, Dot and LaunchLine.
func TestWHIPUnauthorized(t *testing.T) {
	t.Parallel()
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true, Users: []testutil.MediaMTXUser{{User: "pub", Pass: "s3cret", Publish: true}}})
	var logs bytes.Buffer
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.Logger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	for _, token := range []string{"pub:WRONG-t0ken", ""} {
		err := s.Setup(m.WHIP("cam", token))
		if !errors.Is(err, mpegserver.ErrUnauthorized) || mpegserver.IsLoss(err) {
			t.Errorf("token %q: %v, want ErrUnauthorized and no loss", token, err)
		}
		if token != "" && strings.Contains(err.Error(), "WRONG-t0ken") {
			t.Errorf("the error shows the token: %v", err)
		}
		t.Logf("token %q: %v", token, err)
	}
	if err := s.Setup(m.WHIP("cam", "pub:s3cret")); err != nil {
		t.Fatalf("right token after wrong ones: %v", err)
	}
	var dump bytes.Buffer
	if err := s.DumpFile(&dump); err != nil {
		t.Fatal(err)
	}
	dot, _ := s.Dot()
	line, _ := s.LaunchLine()
	pushFrames(t, s, 10, 320, 240)
	outs, _ := s.Outputs()
	for _, shown := range []string{logs.String(), s.String(), fmt.Sprint(outs), fmt.Sprint(s.Stats()), dump.String(), dot, line} {
		if strings.Contains(shown, "WRONG-t0ken") || strings.Contains(shown, "s3cret") {
			t.Errorf("the token is shown: %s", shown)
		}
	}
}

// TestWHIPProtocol: through a proxy in front of mediamtx that redirects
// the first POST (307) and records every request: OPTIONS, then the POST
// again at the new place with its body and the token, the stream up;
// DELETE of the session's Location at Close, with the token.
func TestWHIPProtocol(t *testing.T) {
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true, Users: []testutil.MediaMTXUser{{User: "pub", Pass: "s3cret", Publish: true}}})
	proxy, requests := recordingProxy(t, m, "pub:s3cret")
	s := newServer(t, mpegserver.Size(320, 240))
	addr := "whip+http://pub:s3cret@" + proxy + "/old/whip"
	if err := s.Setup(addr); err != nil {
		t.Fatal(err)
	}
	pushFrames(t, s, 30, 320, 240)
	seen := requests()
	t.Logf("requests: %q", seen)
	want := []string{"OPTIONS /old/whip auth=true", "OPTIONS /cam/whip auth=true", "POST /old/whip auth=true", "POST /cam/whip auth=true"}
	if len(seen) != 5 || strings.Join(seen[:4], "|") != strings.Join(want, "|") ||
		!strings.HasPrefix(seen[4], "DELETE /cam/whip/") || !strings.HasSuffix(seen[4], "auth=true") {
		t.Errorf("requests %q", seen)
	}
	if !m.WaitLog("closed: terminated", 1, 5*time.Second) {
		t.Error("mediamtx did not see the session end")
	}
	// Nothing of the peer connection is left running.
	deadline := time.Now().Add(10 * time.Second)
	for n := pionGoroutines(); n > 0; n = pionGoroutines() {
		if time.Now().After(deadline) {
			t.Fatalf("%d pion goroutines 10 s after Close", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pionGoroutines counts the goroutines running pion's code.
func pionGoroutines() int {
	buf := make([]byte, 4<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "github.com/pion/")
}

// recordingProxy is a proxy in front of mediamtx's WebRTC side that
// redirects /old/whip (307) to /cam/whip and notes every request: its
// method, path and whether it carried the token, and any ICE candidate
// not on loopback. It returns its host:port and what it has seen so far.
func recordingProxy(t *testing.T, m *testutil.MediaMTX, token string) (string, func() []string) {
	target, _ := url.Parse("http://" + m.WebRTC)
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s auth=%v", r.Method, r.URL.Path, r.Header.Get("Authorization") == "Bearer "+token))
		// Every candidate the stream offers, in the offer or trickled
		// after it, is on loopback.
		for _, l := range strings.Split(string(body), "\n") {
			if c, ok := strings.CutPrefix(strings.TrimSpace(l), "a=candidate:"); ok {
				if f := strings.Fields(c); len(f) < 5 || !net.ParseIP(f[4]).IsLoopback() {
					seen = append(seen, "off loopback: "+l)
				}
			}
		}
		mu.Unlock()
		if r.URL.Path == "/old/whip" {
			http.Redirect(w, r, "/cam/whip", http.StatusTemporaryRedirect)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	return strings.TrimPrefix(proxy.URL, "http://"), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestWHIPTrickle: mediamtx lists a STUN server (on loopback, answered
// by the test) in its Link header fields and takes PATCH: the stream asks
// that STUN server, sends its offer at once and its candidates after it
// by PATCH (trickle ICE), and is up.
func TestWHIPTrickle(t *testing.T) {
	t.Parallel()
	stunPort, asked := stunServer(t)
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true, ICEServers: []string{fmt.Sprintf("stun:127.0.0.1:%d", stunPort)}})
	proxy, seen := recordingProxy(t, m, "")
	s := newServer(t, mpegserver.Size(320, 240))
	if err := s.Setup("whip+http://" + proxy + "/cam/whip"); err != nil {
		t.Fatal(err)
	}
	pushFrames(t, s, 30, 320, 240)
	patches := 0
	for _, r := range seen() {
		if strings.HasPrefix(r, "PATCH /cam/whip/") {
			patches++
		}
		if strings.HasPrefix(r, "off loopback") {
			t.Error(r)
		}
	}
	t.Logf("requests %q; STUN binding requests from the stream: %d", seen(), asked(m.UDP))
	if patches == 0 || asked(m.UDP) == 0 {
		t.Errorf("%d PATCH requests, %d STUN requests from the stream", patches, asked(m.UDP))
	}
}

// stunServer answers STUN binding requests on a loopback port and counts
// them by their source, leaving out those from the port given (mediamtx's
// own).
func stunServer(t *testing.T) (int, func(except int) int) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var mu sync.Mutex
	from := map[int]int{}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil || req.Type != stun.BindingRequest {
				continue
			}
			ua := addr.(*net.UDPAddr)
			mu.Lock()
			from[ua.Port]++
			mu.Unlock()
			res, err := stun.Build(req, stun.BindingSuccess, &stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
			if err == nil {
				_, _ = pc.WriteTo(res.Raw, addr)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port, func(except int) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for p, k := range from {
			if p != except {
				n += k
			}
		}
		return n
	}
}

// TestWHIPRefusals: what a WHIP server may answer instead of taking the
// stream, each a clear error of its kind, the Server usable after.
func TestWHIPRefusals(t *testing.T) {
	t.Parallel()
	status := 0
	text := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, text, status)
	}))
	t.Cleanup(srv.Close)
	addr := "whip+" + srv.URL + "/cam/whip"
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.SetupTimeout(2*time.Second))
	for _, c := range []struct {
		status int
		text   string
		want   error
		loss   bool
	}{
		{401, "who are you", mpegserver.ErrUnauthorized, false},
		{403, "not here", mpegserver.ErrUnauthorized, false},
		{400, "bad offer\x1b[31m", mpegserver.ErrRefused, false},
		{404, "no such path", mpegserver.ErrUnreachable, true},
		{503, "busy", mpegserver.ErrUnreachable, true},
	} {
		status, text = c.status, c.text
		err := s.Setup(addr)
		if !errors.Is(err, c.want) || mpegserver.IsLoss(err) != c.loss || !strings.Contains(err.Error(), fmt.Sprint(c.status)) ||
			strings.ContainsRune(err.Error(), 0x1b) {
			t.Errorf("%d: %v", c.status, err)
		}
		t.Logf("%d: %v", c.status, err)
	}
	srv.Close()
	start := time.Now()
	if err := s.Setup(addr); !errors.Is(err, mpegserver.ErrUnreachable) || time.Since(start) > time.Second {
		t.Errorf("no server: %v after %v", err, time.Since(start))
	}
	start = time.Now()
	err := s.Setup("whip+http://" + testutil.SilentServer(t) + "/cam/whip")
	if took := time.Since(start); !errors.Is(err, mpegserver.ErrUnreachable) || took > 4*time.Second {
		t.Errorf("a server that never answers: %v after %v (SetupTimeout 2 s)", err, took)
	}
	t.Logf("a server that never answers: %v after %v", err, time.Since(start).Round(time.Millisecond))
}

// TestWHIPReconnect: mediamtx killed mid-stream is seen within about a
// second (ICE hears nothing back), the stream reconnects with a new WHIP
// session once it is back on the same ports, and what it records then
// starts with a keyframe.
func TestWHIPReconnect(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true})
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(30), mpegserver.FrameAhead(1), mpegserver.Reconnect(true))
	if err := s.Setup(m.WHIP("cam", "")); err != nil {
		t.Fatal(err)
	}
	feed(t, s, 320, 240)
	if !m.WaitLog("is publishing to path 'cam'", 1, 15*time.Second) {
		t.Fatal("mediamtx never saw the stream")
	}
	time.Sleep(time.Second) // a second of streaming before the crash
	m.Kill()
	killed := time.Now()
	ev := waitEvent(t, s, mpegserver.Disconnected, 10*time.Second)
	seen := ev.At.Sub(killed)
	t.Logf("loss seen %v after mediamtx was killed: %v", seen.Round(time.Millisecond), ev.Err)
	if !errors.Is(ev.Err, mpegserver.ErrDisconnected) || seen > 3*time.Second {
		t.Errorf("loss seen after %v: %v", seen, ev.Err)
	}
	time.Sleep(500 * time.Millisecond) // down a while: attempts fail meanwhile
	m.Restart()
	back := time.Now()
	ev = waitEvent(t, s, mpegserver.Reconnected, 15*time.Second)
	t.Logf("reconnected %v after mediamtx came back (attempt %d)", ev.At.Sub(back).Round(time.Millisecond), ev.Attempt)
	if !m.WaitLog("is publishing to path 'cam'", 2, 15*time.Second) {
		t.Fatal("mediamtx never saw the second session")
	}
	time.Sleep(time.Second) // a second recorded on the new session
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	t.Logf("stats: %d served, %d dropped while down, %d reconnects, down %v", st.Served, st.Dropped, st.Reconnects, st.Down.Round(time.Millisecond))
	if st.Reconnects != 1 {
		t.Errorf("%d reconnects", st.Reconnects)
	}
	lastRecordingStartsWithKeyframe(t, m, "cam")
}

// lastRecordingStartsWithKeyframe checks what mediamtx recorded of a
// path after its restart: a new session's recording, from a keyframe.
func lastRecordingStartsWithKeyframe(t *testing.T, m *testutil.MediaMTX, path string) {
	t.Helper()
	files := waitRecording(t, m, path)
	last := files[len(files)-1]
	got, keys := ffprobeFrames(t, last)
	t.Logf("mediamtx's recording after the restart %s: %s, keyframes at %v", last, got, keys)
	if len(keys) == 0 || keys[0] != 0 {
		t.Errorf("the recording after the restart starts at no keyframe: %v", keys)
	}
}

// TestWHIPKeyframeOnPLI: a PLI from the server is answered with a
// keyframe at the next frame the encoder takes (GOP 300, so no keyframe
// of the GOP's own comes meanwhile). Measured: the frames and the time
// from the PLI to the keyframe's first packet.
func TestWHIPKeyframeOnPLI(t *testing.T) {
	rx := testutil.StartWHIPReceiver(t)
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(300), mpegserver.FrameAhead(1))
	if err := s.Setup("whip+" + rx.URL); err != nil {
		t.Fatal(err)
	}
	feed(t, s, 320, 240)
	if !rx.WaitFrames(30, 10*time.Second) {
		t.Fatalf("%d frames received", len(rx.Frames()))
	}
	var worst time.Duration
	for i := 0; i < 5; i++ {
		time.Sleep(mpegserver.KeyframeInterval + time.Duration(i)*37*time.Millisecond) // past the rate limit, at varied phases
		before := len(rx.Frames())
		at, err := rx.SendPLI()
		if err != nil {
			t.Fatal(err)
		}
		var key *testutil.ReceivedFrame
		between := 0 // frames that arrived after the PLI, before the keyframe
		for key == nil {
			if !rx.WaitFrames(len(rx.Frames())+1, 5*time.Second) {
				t.Fatal("frames stopped")
			}
			fr := rx.Frames()
			between = 0
			for k := before; k < len(fr); k++ {
				if fr[k].Key {
					key = &fr[k]
					break
				}
				if fr[k].At.After(at) {
					between++
				}
			}
		}
		fr := rx.Frames()
		// In time stamps too: frame periods from the last frame before the
		// PLI (more than the frames between when a stall made the stream's
		// time line skip).
		after := int((key.TS - fr[before-1].TS + 1500) / 3000)
		took := key.At.Sub(at)
		worst = max(worst, took)
		t.Logf("PLI %d: keyframe after %d other frame(s), %d frame period(s) after the last one before the PLI, its first packet %v after the PLI",
			i, between, after, took.Round(100*time.Microsecond))
		// One frame may be encoded already when the PLI comes; a second
		// on a loaded machine.
		if between > 2 || took > 500*time.Millisecond {
			t.Errorf("PLI %d answered after %d other frames and %v", i, between, took)
		}
	}
	t.Logf("PLI → keyframe: at most %v (frame period 33 ms)", worst.Round(100*time.Microsecond))
}

// TestWHIPCodecs: VP8 is published where the server takes it; H.264 to a
// server that takes only VP8 is refused at Setup, saying so; H.265 is
// refused before anything is sent; mediamtx takes VP9.
func TestWHIPCodecs(t *testing.T) {
	t.Parallel()
	rx := testutil.StartWHIPReceiver(t, "video/VP8")
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.SetupTimeout(2*time.Second))
	err := s.Setup("whip+" + rx.URL)
	if !errors.Is(err, mpegserver.ErrUnknownCodec) || !strings.Contains(err.Error(), "refused H.264") {
		t.Errorf("H.264 to a VP8-only server: %v", err)
	}
	t.Logf("H.264 to a VP8-only server: %v", err)
	if err := s.SetParameter(mpegserver.Codec("libvpx")); err != nil {
		t.Fatal(err)
	}
	if err := s.Setup("whip+" + rx.URL); err != nil {
		t.Fatal(err)
	}
	pushFrames(t, s, 30, 320, 240)
	if fr := rx.Frames(); len(fr) < 25 {
		t.Errorf("%d VP8 frames received of 30", len(fr))
	}
	if err := s.SetParameter(mpegserver.Codec("libx265")); err != nil {
		t.Fatal(err)
	}
	if err := s.Setup("whip+" + rx.URL); !errors.Is(err, mpegserver.ErrUnknownCodec) {
		t.Errorf("H.265 to WHIP: %v", err)
	}
	// mediamtx takes VP9 by WHIP.
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true})
	if err := s.SetParameter(mpegserver.Codec("libvpx-vp9")); err != nil {
		t.Fatal(err)
	}
	if err := s.Setup(m.WHIP("vp9", "")); err != nil {
		t.Fatal(err)
	}
	pushFrames(t, s, 30, 320, 240)
	if !m.WaitLog("[path vp9] stream is available and online, 1 track (VP9)", 1, 5*time.Second) {
		t.Error("mediamtx did not take VP9")
	}
}

// TestWHIPWithRecord: WHIP beside a record. mediamtx killed mid-stream
// fails the WHIP output alone: every frame still goes to the file; with
// Reconnect the output comes back, on a new WHIP session, once mediamtx
// does, and what mediamtx records then starts with a keyframe.
func TestWHIPWithRecord(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{WebRTC: true})
	rec := filepath.Join(t.TempDir(), "rec.mkv")
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(30), mpegserver.FrameAhead(1), mpegserver.Reconnect(true),
		mpegserver.Record(rec))
	if err := s.Setup(m.WHIP("cam", "")); err != nil {
		t.Fatal(err)
	}
	const n = 150
	for i := 0; i < n; i++ {
		switch i {
		case 30:
			m.Kill()
		case 75:
			ev := waitEvent(t, s, mpegserver.OutputFailed, 10*time.Second)
			if !errors.Is(ev.Err, mpegserver.ErrDisconnected) || !strings.HasPrefix(ev.Output, "whip+http://") {
				t.Errorf("output failed: %+v", ev)
			}
			m.Restart()
			ev = waitEvent(t, s, mpegserver.Reconnected, 15*time.Second)
			t.Logf("WHIP output back (attempt %d)", ev.Attempt)
		}
		if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := ffprobeFrames(t, rec)
	t.Logf("record %s: %s", rec, got)
	if got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("record: %s, want all %d frames", got, n)
	}
	lastRecordingStartsWithKeyframe(t, m, "cam")
}
