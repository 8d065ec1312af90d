package mpegserver_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// TestRecordWhileStreaming: one encode to an RTSP server and to a file.
// The server goes away mid-stream: that output is dropped and reported,
// frames keep being taken, and the file has every frame; Close says which
// output failed.
func TestRecordWhileStreaming(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	rec := filepath.Join(t.TempDir(), "cam.mkv")
	const n, gop = 90, 15
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop), mpegserver.Record(rec))
	if err := s.Setup(relay.URL("cam")); err != nil {
		t.Fatal(err)
	}
	line, _ := s.LaunchLine()
	if !strings.Contains(line, "! tee name=t t. ! queue") || !strings.Contains(line, "errorignore convert-to=ok ! rtspclientsink") ||
		!strings.Contains(line, "errorignore convert-to=ok ! matroskamux ! filesink location=\""+rec+"\"") {
		t.Errorf("launch line %s", line)
	}
	var lost time.Time
	for i := 0; i < n; i++ {
		if i == 30 {
			if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserverInfo) bool { return i.Frames >= 20 }); err != nil {
				t.Fatal(err)
			}
			relay.Close()
			lost = time.Now()
		}
		if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
			t.Fatalf("frame %d: %v (the record goes on, so frames must be taken)", i, err)
		}
	}
	var ev mpegserver.Event
	select {
	case ev = <-s.Events():
	case <-time.After(10 * time.Second):
		t.Fatal("no event for the lost output")
	}
	if ev.Kind != mpegserver.OutputFailed || ev.Output != relay.URL("cam") {
		t.Errorf("event %v %q: %v", ev.Kind, ev.Output, ev.Err)
	}
	t.Logf("%v after the server went: %s: %v", ev.At.Sub(lost).Round(time.Millisecond), ev.Kind, ev.Err)
	st := s.Stats()
	err := s.Close()
	if !errors.Is(err, mpegserver.ErrDisconnected) || !strings.Contains(err.Error(), relay.URL("cam")) {
		t.Errorf("Close: %v, want the stream's loss", err)
	}
	if len(st.Outputs) != 2 || st.Outputs[0].Err == nil || st.Outputs[1].Err != nil || st.Outputs[0].Frames >= n {
		t.Errorf("outputs %+v", st.Outputs)
	}
	final := s.Stats().Outputs
	if len(final) != 2 || final[1].Frames != n {
		t.Errorf("after Close: %+v, want the record with all %d frames", final, n)
	}
	t.Logf("stats: stream %d frames (%v), record %d frames", final[0].Frames, final[0].Err, final[1].Frames)
	got, keys := ffprobeFrames(t, rec)
	if got != "h264,320,240,90" {
		t.Errorf("record: %s", got)
	}
	if !equalInts(keys, []int{0, 15, 30, 45, 60, 75}) {
		t.Errorf("record keyframes at %v", keys)
	}
}

// TestRecordLaunchLineRuns: the printed line, tee and all, runs in
// gst-launch-1.0 with a test source for appsrc: nginx-rtmp records the
// stream and the file is written, each with every frame.
func TestRecordLaunchLineRuns(t *testing.T) {
	testutil.NeedTool(t, "gst-launch-1.0")
	testutil.NeedTool(t, "ffprobe")
	srv := testutil.StartRTMP(t)
	rec := filepath.Join(t.TempDir(), "rec.mp4")
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Address(srv.URL+"/line"), mpegserver.Size(320, 240), mpegserver.GOPSize(10), mpegserver.Record(rec))
	line, err := s.LaunchLine()
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(line, "appsrc"), strings.Index(line, " ! ")
	run := line[:i] + "videotestsrc is-live=true num-buffers=60" + line[j:]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gst-launch-1.0", shellArgs(t, run)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, run, out)
	}
	srv.WaitLog(t, "deleteStream", 2, 10*time.Second)
	for _, f := range []string{filepath.Join(srv.Dir, "line.flv"), rec} {
		if got, keys := ffprobeFrames(t, f); got != "h264,320,240,60" || !equalInts(keys, []int{0, 10, 20, 30, 40, 50}) {
			t.Errorf("%s: %s, keyframes %v", f, got, keys)
		}
	}
}
