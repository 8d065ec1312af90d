package mpegserver_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
	"github.com/pion/rtp"
)

// TestRecordWhileStreaming: one encode to an RTSP server and to a file.
// The server goes away mid-stream: that output is dropped and reported,
// frames keep being taken, and the file has every frame; Close says which
// output failed.
func TestRecordWhileStreaming(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	rec := filepath.Join(t.TempDir(), "cam.mkv")
	const n, gop = 90, 15
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop), mpegserver.Record(rec))
	if err := s.Setup(relay.URL("cam")); err != nil {
		t.Fatal(err)
	}
	line, _ := s.LaunchLine()
	// Each branch has a parser of its own after errorignore (docs/outputs.md).
	if !strings.Contains(line, "! tee name=t t. ! queue") || !strings.Contains(line, "errorignore convert-to=ok ! h264parse config-interval=-1 ! rtspclientsink") ||
		!strings.Contains(line, "errorignore convert-to=ok ! h264parse config-interval=-1 ! matroskamux ! filesink location=\""+rec+"\"") {
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
	t.Parallel()
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

// TestRecordSurvivesServerRestart: stream and record with Reconnect. The
// RTSP server goes away and comes back on the same address: the stream's
// output is brought back by itself (a new branch behind the same
// encoder, starting with a keyframe) while the record never stops; the
// file has every frame, and Close reports nothing wrong.
func TestRecordSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	addr := testutil.FreeAddr(t)
	relay := startRelayAt(t, addr)
	rec := filepath.Join(t.TempDir(), "cam.mkv")
	const gop = 15
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop), mpegserver.Record(rec),
		mpegserver.Reconnect(true), mpegserver.ReconnectMaxWait(300*time.Millisecond))
	if err := s.Setup(relay.URL("cam")); err != nil {
		t.Fatal(err)
	}
	frames := &frameSeq{s: s, w: 320, h: 240}
	if !frames.serve(t, 30) {
		t.FailNow()
	}
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserverInfo) bool { return i.Frames >= 20 }); err != nil {
		t.Fatal(err)
	}
	relay.Close()
	lost := time.Now()
	if !frames.serve(t, 30) { // the record goes on while the server is away
		t.FailNow()
	}
	ev := waitEvent(t, s, mpegserver.OutputFailed, 20*time.Second)
	if ev.Output != "rtsp://"+addr+"/cam" {
		t.Errorf("failed output %q", ev.Output)
	}
	relay2 := startRelayAt(t, addr)
	// The first picture the returning server gets must be a keyframe
	// (the new branch asks the encoder for one): the first packet that is
	// not an access unit delimiter (9) or SEI (6).
	firstNAL := make(chan byte, 1)
	cancelSub := relay2.Subscribe("cam", func(_ rtspserver.Track, pkt *rtp.Packet) {
		if len(pkt.Payload) == 0 {
			return
		}
		nal := pkt.Payload[0] & 0x1f
		if nal == 28 && len(pkt.Payload) > 1 { // FU-A: the fragment's type
			nal = pkt.Payload[1] & 0x1f
		}
		if nal != 9 && nal != 6 {
			select {
			case firstNAL <- nal:
			default:
			}
		}
	})
	defer cancelSub()
	back := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); frames.serve(t, 60) }()
	ev = waitEvent(t, s, mpegserver.Reconnected, 20*time.Second)
	t.Logf("lost %v after the stop; back at attempt %d, %v after the server returned", ev.At.Sub(lost).Round(time.Millisecond),
		ev.Attempt, time.Since(back).Round(time.Millisecond))
	if ev.Output != "rtsp://"+addr+"/cam" {
		t.Errorf("reconnected output %q", ev.Output)
	}
	if err := relay2.WaitPublisher(testutil.Context(t, 10*time.Second), "cam"); err != nil {
		t.Fatal(err)
	}
	r, err := rtsptest.Read(relay2.URL("cam"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	<-done
	if !frames.serve(t, 2*gop) {
		t.FailNow()
	}
	if err := r.WaitFrames(testutil.Context(t, 10*time.Second), gop); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v (every output was up at the end)", err)
	}
	final := s.Stats().Outputs
	t.Logf("stats before Close: %+v; after: %+v; the reader after the restart got %d frames, keyframes at %v",
		st.Outputs, final, len(r.AUs()), rtsptest.Keyframes(r.AUs()))
	// 7: SPS, which the parser puts ahead of each keyframe; 5: IDR.
	if nal := <-firstNAL; nal != 7 && nal != 5 {
		t.Errorf("the returning server's first packet carries NAL type %d, not a keyframe's", nal)
	}
	if keys := rtsptest.Keyframes(r.AUs()); len(keys) < 2 || keys[1]-keys[0] != gop {
		t.Errorf("keyframes at %v, want every %d", keys, gop)
	}
	if len(final) != 2 || final[0].Err != nil || final[1].Err != nil || final[1].Frames != int64(frames.next) {
		t.Errorf("outputs after Close: %+v (served %d)", final, frames.next)
	}
	if got, _ := ffprobeFrames(t, rec); got != fmt.Sprintf("h264,320,240,%d", frames.next) {
		t.Errorf("record: %s, want all %d frames", got, frames.next)
	}
}
