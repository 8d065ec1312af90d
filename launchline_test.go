package mpegserver_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
)

func TestLaunchLineShape(t *testing.T) {
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Size(1280, 720), mpegserver.SourceSize(640, 480), mpegserver.GOPSize(12),
		mpegserver.BitRate(1000), mpegserver.Threads(2))
	line, err := s.LaunchLine()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"gst-launch-1.0 -e appsrc ", " ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1,pixel-aspect-ratio=1/1,colorimetry=bt601 ",
		// The 640×480 frames are scaled as they are pushed, before appsrc.
		" ! videoconvert n-threads=2 ! video/x-raw,format=I420,width=1280,height=720",
		" ! x264enc bitrate=1024 key-int-max=12 bframes=0 threads=2 speed-preset=veryfast tune=zerolatency",
		" ! h264parse config-interval=-1 ! rtspclientsink location=\"rtsp://127.0.0.1:8554/video\" protocols=tcp",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("launch line lacks %q:\n%s", want, line)
		}
	}
	_ = s.SetParameter(mpegserver.Codec("libx265"), mpegserver.MaxBFrames(3))
	line, _ = s.LaunchLine()
	if !strings.Contains(line, "x265enc") || !strings.Contains(line, "bframes=3") ||
		strings.Contains(line, "zerolatency") || !strings.Contains(line, "h265parse") {
		t.Errorf("x265 line:\n%s", line)
	}
}

// shellArgs splits a line exactly as a POSIX shell would.
func shellArgs(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", "printf '%s\\n' "+strings.TrimPrefix(line, "gst-launch-1.0 ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// TestLaunchLineQuoting: no address or name can add elements to the line,
// and passwords never show.
func TestLaunchLineQuoting(t *testing.T) {
	s := mpegserver.New()
	hostile := "rtsp://bob%20!%20fakesink:pa$$%22word@127.0.0.1:8554/a!b$(reboot)`x`;rm"
	s.ResetPath(hostile)
	line, err := s.LaunchLine()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(line, "pa$$") || strings.Contains(line, "word") {
		t.Errorf("password in line: %s", line)
	}
	args := shellArgs(t, line)
	links := 0
	var loc, user string
	for _, a := range args {
		switch {
		case a == "!":
			links++
		case strings.HasPrefix(a, "location="):
			loc = a
		case strings.HasPrefix(a, "user-id="):
			user = a
		}
	}
	if links != 6 {
		t.Errorf("%d links, want 6: %q", links, args)
	}
	if loc != `location="rtsp://127.0.0.1:8554/a!b$(reboot)`+"`x`"+`;rm"` {
		t.Errorf("location word = %q", loc)
	}
	if user != `user-id="bob ! fakesink"` {
		t.Errorf("user word = %q", user)
	}
}

// TestLaunchLineRuns runs the printed line, appsrc swapped for a live test
// source, against the embedded server; a reader must see the stream.
func TestLaunchLineRuns(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("gst-launch-1.0"); err != nil {
		t.Skip("gst-launch-1.0 not installed (make deps)")
	}
	relay := testutil.StartRelay(t)
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Address(relay.URL("line")), mpegserver.Size(320, 240), mpegserver.GOPSize(10))
	line, err := s.LaunchLine()
	if err != nil {
		t.Fatal(err)
	}
	const n = 150
	i, j := strings.Index(line, "appsrc"), strings.Index(line, " ! ")
	run := line[:i] + "videotestsrc is-live=true num-buffers=150" + line[j:]
	// The shell's own word splitting, then gst-launch run directly so a
	// kill reaches it.
	args := shellArgs(t, run)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "gst-launch-1.0", args...)
	cmd.WaitDelay = time.Second
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "line"); err != nil {
		t.Fatalf("%v\n%s\n%s", err, run, out)
	}
	r, err := rtsptest.Read(relay.URL("line"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := relay.Wait(testutil.Context(t, 20*time.Second), "line", func(i rtspserverInfo) bool { return i.Frames >= n }); err != nil {
		t.Fatalf("server did not get all %d frames: %v (%+v)\n%s", n, err, relay.Info("line"), out)
	}
	select {
	case err := <-done:
		if err != nil {
			if !teardownRace(out.String()) {
				t.Fatalf("gst-launch failed: %v\n%s\n%s", err, run, out)
			}
			t.Logf("gst-launch reached EOS, then rtspclientsink failed while being torn down (every frame had arrived): %v", err)
		}
	case <-time.After(5 * time.Second):
		// Every frame arrived; gst-launch is waiting for an EOS message
		// that rtspclientsink sometimes never posts (docs/design.md).
		t.Logf("gst-launch still waiting for EOS 5 s after the last frame arrived; stopping it")
		_ = cmd.Process.Kill()
		<-done
	}
	if got := len(r.AUs()); got < n/2 || got > n {
		t.Errorf("reader saw %d frames of %d", got, n)
	}
	if w, h, err := r.Size(); err != nil || w != 320 || h != 240 {
		t.Errorf("size %dx%d (%v), want 320x240", w, h, err)
	}
}

// teardownRace reports whether gst-launch's output shows the one failure we
// forgive: the pipeline reached EOS and only then, while gst-launch set it to
// NULL, rtspclientsink's last send raced its own connection flush and posted
// an error ("Could not send message. (Received end-of-file)"; seen 1 run in
// 12 with a core busy, 1 in 16 idle, on this 2-core machine, 2026-11-28). The library's Close
// ignores errors posted after the flush for the same reason. Any error
// before EOS, or from another element, still fails the test.
func teardownRace(out string) bool {
	if !strings.Contains(out, "EOS received - stopping pipeline") ||
		!strings.Contains(out, "Setting pipeline to NULL") {
		return false
	}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "ERROR:") {
			if !strings.Contains(l, "GstRTSPClientSink") {
				return false
			}
			n++
		}
	}
	return n > 0
}

func TestTeardownRace(t *testing.T) {
	// Captured from a failed run of TestLaunchLineRuns (trimmed).
	race := `Setting pipeline to PAUSED ...
Progress: (record) Starting recording
Got EOS from element "pipeline0".
EOS received - stopping pipeline...
Execution ended after 0:00:05.026961748
Setting pipeline to NULL ...
ERROR: from element /GstPipeline:pipeline0/GstRTSPClientSink:rtspclientsink0: Could not write to resource.
Additional debug info:
Could not send message. (Received end-of-file)
Freeing pipeline ...
`
	if !teardownRace(race) {
		t.Error("the captured teardown race was not recognised")
	}
	for name, out := range map[string]string{
		"no EOS":        strings.Replace(race, "EOS received - stopping pipeline...\n", "", 1),
		"other element": strings.Replace(race, "GstRTSPClientSink:rtspclientsink0", "GstX264Enc:x264enc0", 1),
		"no error":      strings.Replace(race, "ERROR: from element", "WARNING: from element", 1),
		"preroll":       "ERROR: pipeline doesn't want to preroll.\nSetting pipeline to NULL ...\n",
	} {
		if teardownRace(out) {
			t.Errorf("%s: forgiven, want a failure", name)
		}
	}
}
