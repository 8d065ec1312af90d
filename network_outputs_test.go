package mpegserver_test

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// pushFrames serves n test frames blocking, then closes.
func pushFrames(t *testing.T, s *mpegserver.Server, n, w, h int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := s.ServeFrameBlock(testFrame(w, h, i)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRTMPOutput: FLV over RTMP to nginx-rtmp, which records it: every
// frame arrives, at the size asked, keyframes every GOP, no B-frames.
func TestRTMPOutput(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	srv := testutil.StartRTMP(t)
	const n, gop = 60, 15
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop))
	addr := srv.URL + "/cam"
	if err := s.Setup(addr); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Parameter(mpegserver.KeyFormatName); f != "flv" {
		t.Errorf("formatName %v", f)
	}
	line, _ := s.LaunchLine()
	if !strings.Contains(line, "flvmux streamable=true ! rtmp2sink location=\""+addr+"\"") {
		t.Errorf("launch line %s", line)
	}
	pushFrames(t, s, n, 320, 240)
	srv.WaitLog(t, "deleteStream", 2, 10*time.Second)
	got, keys := ffprobeFrames(t, filepath.Join(srv.Dir, "cam.flv"))
	t.Logf("%s: %s, keyframes at %v", addr, got, keys)
	if got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("ffprobe %q, want h264,320,240,%d", got, n)
	}
	if !equalInts(keys, []int{0, 15, 30, 45}) {
		t.Errorf("keyframes at %v", keys)
	}
	if b := bFrames(t, filepath.Join(srv.Dir, "cam.flv")); b != 0 {
		t.Errorf("%d B-frames, none asked", b)
	}
}

// bFrames counts a file's B-frames.
func bFrames(t *testing.T, file string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pict_type",
		"-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(out), "B")
}

// TestRTMPSetupErrors: only H.264 goes to RTMP, said at Setup; a refused
// port fails at once, a silent one within SetupTimeout; the server stays
// usable for a good address afterwards.
func TestRTMPSetupErrors(t *testing.T) {
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.Codec("libx265"), mpegserver.SetupTimeout(time.Second))
	err := s.Setup("rtmp://127.0.0.1:1/live/x")
	if !errors.Is(err, mpegserver.ErrUnknownCodec) || !strings.Contains(err.Error(), "H.264 only") {
		t.Errorf("x265 to RTMP: %v", err)
	}
	s.SetParameters(map[string]any{"codecName": "libvpx"})
	if err := s.Setup("rtmp://127.0.0.1:1/live/x"); !errors.Is(err, mpegserver.ErrUnknownCodec) {
		t.Errorf("vp8 to RTMP: %v", err)
	}
	s.SetParameters(map[string]any{"codecName": "libx264"})
	if err := s.Setup("rtmp://127.0.0.1:1/live"); !errors.Is(err, mpegserver.ErrUnsupportedAddress) {
		t.Errorf("no stream name: %v", err)
	}
	// Refused: at once, well before a SetupTimeout long enough that a
	// slow machine cannot blur the two.
	if err := s.SetParameter(mpegserver.SetupTimeout(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Setup("rtmp://" + testutil.FreeAddr(t) + "/live/x"); !errors.Is(err, mpegserver.ErrUnreachable) || time.Since(start) > 5*time.Second {
		t.Errorf("refused port: %v after %v (SetupTimeout 10 s)", err, time.Since(start))
	}
	// Silent: at SetupTimeout, not before, and not at the default 5 s.
	if err := s.SetParameter(mpegserver.SetupTimeout(time.Second)); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	err = s.Setup("rtmp://" + testutil.SilentServer(t) + "/live/x")
	if took := time.Since(start); !errors.Is(err, mpegserver.ErrUnreachable) || took < 900*time.Millisecond || took > 4*time.Second {
		t.Errorf("silent server: %v after %v (SetupTimeout 1 s)", err, took)
	}
	t.Logf("silent server: %v", err)
	srv := testutil.StartRTMP(t)
	if err := s.Setup(srv.URL + "/after"); err != nil {
		t.Fatalf("good address after errors: %v", err)
	}
	pushFrames(t, s, 10, 320, 240)
}

// TestSRTOutput: MPEG-TS over SRT, caller to srt-live-transmit, which
// writes the file: every frame arrives (the last ones too: Close waits
// out the SRT latency), keyframes every GOP.
func TestSRTOutput(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	rx := testutil.StartSRT(t, "&streamid=cam1")
	const n, gop = 60, 15
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop))
	addr := fmt.Sprintf("srt://127.0.0.1:%d?streamid=cam1&latency=80", rx.Port)
	if err := s.Setup(addr); err != nil {
		t.Fatal(err)
	}
	line, _ := s.LaunchLine()
	if !strings.Contains(line, "mpegtsmux alignment=7 ! srtsink uri=\"srt://127.0.0.1:") || !strings.Contains(line, "poll-timeout=1000") ||
		!strings.Contains(line, "latency=80 streamid=\"cam1\"") {
		t.Errorf("launch line %s", line)
	}
	pushFrames(t, s, n, 320, 240)
	stderr := rx.Wait(t, 10*time.Second)
	got, keys := ffprobeFrames(t, rx.File)
	t.Logf("%s: %s, keyframes at %v", addr, got, keys)
	if got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("ffprobe %q, want h264,320,240,%d (receiver: %s)", got, n, stderr)
	}
	if !equalInts(keys, []int{0, 15, 30, 45}) {
		t.Errorf("keyframes at %v", keys)
	}
}

// TestSRTSetupErrors: a closed port fails at once, a silent one within
// SetupTimeout, a listener-mode or malformed address at once; passwords
// never printed.
func TestSRTSetupErrors(t *testing.T) {
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.SetupTimeout(time.Second))
	// A reserved port: once closed, no other test can bind it.
	port := testutil.FreePort(t)
	pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	// Silent: at SetupTimeout, not before, and before SRT's own 3 s
	// connection time-out.
	start := time.Now()
	err = s.Setup(fmt.Sprintf("srt://127.0.0.1:%d?passphrase=verysecretphrase", port))
	if took := time.Since(start); !errors.Is(err, mpegserver.ErrUnreachable) || took < 900*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("silent port: %v after %v", err, took)
	}
	if err != nil && strings.Contains(err.Error(), "verysecret") {
		t.Errorf("passphrase printed: %v", err)
	}
	pc.Close()
	// Closed: at once, well before a SetupTimeout long enough that a slow
	// machine cannot blur the two.
	if err := s.SetParameter(mpegserver.SetupTimeout(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := s.Setup(fmt.Sprintf("srt://127.0.0.1:%d", port)); !errors.Is(err, mpegserver.ErrUnreachable) || time.Since(start) > 5*time.Second {
		t.Errorf("closed port: %v after %v (SetupTimeout 10 s)", err, time.Since(start))
	}
	for _, bad := range []string{"srt://127.0.0.1:9000?mode=listener", "srt://127.0.0.1", "srt://127.0.0.1:9000?latency=x",
		"srt://127.0.0.1:9000?foo=1", "srt://127.0.0.1:9000?passphrase=short"} {
		if err := s.Setup(bad); !errors.Is(err, mpegserver.ErrUnsupportedAddress) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if got := mpegserver.Redact("srt://h:1?streamid=a&passphrase=verysecretphrase"); got != "srt://h:1?streamid=a&passphrase=REDACTED" {
		t.Errorf("Redact: %s", got)
	}
}

// TestRTMPReconnect: nginx stops mid-stream and comes back on the same
// port: the stream sees the loss, reconnects by itself, and the new
// recording starts with a keyframe and has frames.
func TestRTMPReconnect(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	srv := testutil.StartRTMP(t)
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(15), mpegserver.Reconnect(true),
		mpegserver.ReconnectMaxWait(500*time.Millisecond))
	if err := s.Setup(srv.URL + "/cam"); err != nil {
		t.Fatal(err)
	}
	frames := &frameSeq{s: s, w: 320, h: 240}
	if !frames.serve(t, 30) {
		t.FailNow()
	}
	srv.WaitLog(t, "publish:", 1, 10*time.Second) // connected and publishing
	srv.Stop()
	stopped := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); frames.serve(t, 90) }() // frames go on while the server is away
	ev := waitEvent(t, s, mpegserver.Disconnected, 15*time.Second)
	t.Logf("loss seen after %v: %v", time.Since(stopped).Round(time.Millisecond), ev.Err)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, s, mpegserver.Reconnected, 15*time.Second)
	t.Logf("reconnected at attempt %d, %v after the restart", ev.Attempt, time.Since(stopped).Round(time.Millisecond))
	<-done
	if !frames.serve(t, 60) {
		t.FailNow()
	}
	st := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	srv.WaitLog(t, "deleteStream", 2, 10*time.Second)
	got, keys := ffprobeFrames(t, filepath.Join(srv.Dir, "cam.flv"))
	t.Logf("after the restart nginx recorded %s, keyframes at %v; %d frames dropped while down, %d reconnects", got, keys, st.Dropped, st.Reconnects)
	if !strings.HasPrefix(got, "h264,320,240,") || len(keys) == 0 || keys[0] != 0 || st.Reconnects != 1 {
		t.Errorf("recording after the restart: %s, keyframes %v, reconnects %d", got, keys, st.Reconnects)
	}
	var recorded int
	fmt.Sscanf(strings.TrimPrefix(got, "h264,320,240,"), "%d", &recorded)
	if recorded < 60 {
		t.Errorf("%d frames recorded after the restart, want at least the last 60", recorded)
	}
}

// encoded waits until the server's encoder has handed n frames to its
// output (counted over every stream since Setup).
func encoded(t *testing.T, s *mpegserver.Server, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.Stats().Encoded < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames encoded within %v, want %d", s.Stats().Encoded, within, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSRTReconnect: the receiver dies mid-stream and comes back on the
// same port: the stream reports the loss, reconnects by itself, and the
// new receiver gets a stream that decodes from its first keyframe.
func TestSRTReconnect(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	rx := testutil.StartSRT(t, "")
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(15), mpegserver.Reconnect(true),
		mpegserver.ReconnectMaxWait(500*time.Millisecond))
	if err := s.Setup(fmt.Sprintf("srt://127.0.0.1:%d", rx.Port)); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	served := make(chan error, 1)
	go func() { // a camera: a frame every 1/30 s until told to stop
		for i := 0; ; i++ {
			select {
			case <-stop:
				served <- nil
				return
			default:
			}
			if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
				served <- fmt.Errorf("frame %d: %w", i, err)
				return
			}
		}
	}()
	encoded(t, s, 30, 20*time.Second) // a second of stream to the first receiver
	rx.Kill()
	killed := time.Now()
	ev := waitEvent(t, s, mpegserver.Disconnected, 20*time.Second)
	t.Logf("loss seen after %v: %v", time.Since(killed).Round(time.Millisecond), ev.Err)
	rx2 := testutil.StartSRTOn(t, rx.Port, "")
	ev = waitEvent(t, s, mpegserver.Reconnected, 20*time.Second)
	t.Logf("reconnected at attempt %d", ev.Attempt)
	encoded(t, s, s.Stats().Encoded+60, 20*time.Second) // two seconds of stream to the new receiver
	close(stop)
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rx2.Wait(t, 10*time.Second)
	got, keys := ffprobeFrames(t, rx2.File)
	t.Logf("new receiver: %s, keyframes at %v", got, keys)
	var n int
	fmt.Sscanf(strings.TrimPrefix(got, "h264,320,240,"), "%d", &n)
	if !strings.HasPrefix(got, "h264,320,240,") || n < 45 || len(keys) == 0 || keys[0] != 0 {
		t.Errorf("new receiver got %s, keyframes %v", got, keys)
	}
}
