package mpegserver_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/internal/testpattern"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// makeSource writes a 5 s 640x360 30 fps H.264 file with ffmpeg's testsrc.
func makeSource(t testing.TB, extra ...string) string {
	t.Helper()
	testutil.NeedTool(t, "ffmpeg")
	file := filepath.Join(t.TempDir(), "src.mp4")
	args := append([]string{"-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30:duration=5"}, extra...)
	args = append(args, "-c:v", "libx264", "-b:v", "1000k", "-pix_fmt", "yuv420p", file)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return file
}

// TestTranscodeCopiesSettings is issue 12's end-to-end case: a file is
// probed, read, pushed with its copied settings to the relay and read back
// with the same size, rate and frame count, and a PSNR against the source
// of at least 30 dB.
func TestTranscodeCopiesSettings(t *testing.T) {
	t.Parallel()
	src := makeSource(t)
	r, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), src, mpegserver.ReaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := r.Source()
	if w, h := r.Size(); w != 640 || h != 360 || info.FrameRate != (mpegserver.Rational{Num: 30, Den: 1}) || info.Codec != "h264" {
		t.Fatalf("reader: %dx%d %+v", w, h, info)
	}
	p := r.Parameters()
	t.Logf("reader parameters: %v", p)
	if p["frameCount"] != 150 || p["videoPath"] != src || p["bitRate"].(int) < 100_000 {
		t.Errorf("parameters %v", p)
	}

	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Decoder(r))
	c := s.Config()
	if c.Width != 640 || c.Height != 360 || c.FrameRate != info.FrameRate || c.BitRate != info.BitRate || c.WidthSrc != 640 {
		t.Fatalf("copied config %+v from %+v", c, info)
	}
	frame := make([]byte, r.FrameSize())
	if err := r.Read(frame); err != nil {
		t.Fatal(err)
	}
	reader := publishAndRead(t, relay, s, "copy", frame)
	for {
		err := r.Read(frame)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ServeFrameBlock(frame); err != nil {
			t.Fatal(err)
		}
	}
	if r.Frames() != 150 {
		t.Errorf("read %d frames, want 150", r.Frames())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reader.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	aus := reader.AUs()
	if len(aus) != 149 { // frame 0 went out before the reader joined
		t.Fatalf("read back %d frames, want 149", len(aus))
	}
	if n := relay.Info("copy").Frames; n != 150 {
		t.Errorf("the relay received %d frames, want 150", n)
	}
	if w, h, err := reader.Size(); err != nil || w != 640 || h != 360 {
		t.Errorf("read back %dx%d (%v)", w, h, err)
	}
	if fps, err := reader.FPS(); err != nil || fps != 30 {
		t.Errorf("read back %v fps (%v), want 30", fps, err)
	}
	got := filepath.Join(t.TempDir(), "got.h264")
	f, err := os.Create(got)
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.WriteAnnexB(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A decoder starts at the first keyframe the reader got: frame
	// 1 + its index among what was read back.
	kf := rtsptest.Keyframes(aus)
	if len(kf) == 0 {
		t.Fatal("no keyframe read back")
	}
	psnr := measurePSNR(t, got, src, 1+kf[0])
	t.Logf("PSNR %.2f dB over the %d frames from the first keyframe (%d)", psnr, len(aus)-kf[0], 1+kf[0])
	if psnr < 30 {
		t.Errorf("PSNR %.2f dB, want ≥ 30", psnr)
	}
}

// measurePSNR compares a raw H.264 stream with a reference file from its
// frame skip on, frame by frame, and returns ffmpeg's average PSNR.
func measurePSNR(t testing.TB, got, ref string, skip int) float64 {
	t.Helper()
	filter := fmt.Sprintf("[0:v]setpts=N/(30*TB)[a];[1:v]trim=start_frame=%d,setpts=N/(30*TB)[b];[a][b]psnr", skip)
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-framerate", "30", "-i", got, "-i", ref,
		"-filter_complex", filter, "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg psnr: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`average:([0-9.]+|inf)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no PSNR in:\n%s", out)
	}
	if string(m[1]) == "inf" {
		return 100
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestReaderLiveRTSP reads 60 frames of a live stream the library
// publishes, checks they are the publisher's, in order, then stops the
// publisher: the next Read fails, it does not hang.
func TestReaderLiveRTSP(t *testing.T) {
	t.Parallel()
	const w, h = 320, 240
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(w, h), mpegserver.FrameAhead(1))
	if err := s.Setup(relay.URL("live")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		b := make([]byte, w*h*3)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			testpattern.Draw(b, w, h, i, time.Now())
			if s.ServeFrameBlock(b) != nil {
				return
			}
		}
	}()
	defer func() { close(stop); <-fed }()
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "live"); err != nil {
		t.Fatal(err)
	}
	r, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), relay.URL("live"), mpegserver.ReaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Source().Live {
		t.Errorf("source not live: %+v", r.Source())
	}
	frame := make([]byte, r.FrameSize())
	var idx []int
	reads := 0
	for t0 := time.Now(); len(idx) < 60; reads++ {
		if time.Since(t0) > 30*time.Second {
			t.Fatalf("decoded %d frame indexes in %d reads within 30 s, want 60", len(idx), reads)
		}
		if err := r.Read(frame); err != nil {
			t.Fatal(err)
		}
		if i, ok := testpattern.Decode(frame, w, h); ok {
			idx = append(idx, i)
		}
	}
	back := 0
	for i := 1; i < len(idx); i++ {
		if idx[i] <= idx[i-1] {
			back++
		}
	}
	t.Logf("read %d frames, indexes %d..%d, %d out of order", len(idx), idx[0], idx[len(idx)-1], back)
	if back > 0 || idx[len(idx)-1]-idx[0]+1 != len(idx) {
		t.Errorf("frames not consecutive: %d..%d in %d reads", idx[0], idx[len(idx)-1], len(idx))
	}

	// The publisher goes away: the relay ends its readers' sessions.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for {
		err = r.Read(frame)
		if err != nil {
			break
		}
		if time.Since(t0) > 10*time.Second {
			t.Fatal("still reading 10 s after the source stopped")
		}
	}
	took := time.Since(t0)
	t.Logf("after the source stopped: %v after %v", err, took.Round(time.Millisecond))
	if !errors.Is(err, mpegserver.ErrDisconnected) && !errors.Is(err, mpegserver.ErrStalled) {
		t.Errorf("error %v, want ErrDisconnected or ErrStalled", err)
	}
	if took > mpegserver.DefaultReadTimeout+2*time.Second {
		t.Errorf("took %v", took)
	}
	if err := r.Read(frame); err == nil {
		t.Error("Read after the end gave a frame")
	}
	r.Close()
	if err := r.Read(frame); !errors.Is(err, mpegserver.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
}

// TestReaderCyclesLeaveNothing: opening, reading and closing readers
// leaves no file descriptor and no goroutine behind.
func TestReaderCyclesLeaveNothing(t *testing.T) {
	cycle := func() {
		r, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), "testdata/clip.mp4", mpegserver.ReaderConfig{})
		if err != nil {
			t.Fatal(err)
		}
		f := make([]byte, r.FrameSize())
		for i := 0; i < 5; i++ {
			if err := r.Read(f); err != nil {
				t.Fatal(err)
			}
		}
		r.Close()
	}
	cycle() // GStreamer's own one-time set-up
	fds, gs := openFDs(t), goroutines()
	for i := 0; i < 30; i++ {
		cycle()
	}
	fds2, gs2 := openFDs(t), goroutines()
	t.Logf("30 cycles: fds %d -> %d, goroutines %d -> %d", fds, fds2, gs, gs2)
	if fds2 > fds || gs2 > gs {
		t.Errorf("fds %d -> %d, goroutines %d -> %d", fds, fds2, gs, gs2)
	}
}

// TestReaderHTTP: a file served over HTTP (loopback) probes and reads like
// the file itself.
func TestReaderHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	defer srv.Close()
	url := srv.URL + "/clip.mp4"
	info, err := mpegserver.Probe(testutil.Context(t, 10*time.Second), url)
	if err != nil {
		t.Fatal(err)
	}
	r, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), url, mpegserver.ReaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for f := make([]byte, r.FrameSize()); r.Read(f) == nil; n++ {
	}
	t.Logf("%s: %+v, read %d frames", url, info, n)
	if info.Width != 320 || info.Height != 240 || info.Codec != "h264" || n != 60 {
		t.Errorf("%+v, %d frames", info, n)
	}
	if _, err := mpegserver.Probe(testutil.Context(t, 10*time.Second), srv.URL+"/missing.mp4"); err == nil {
		t.Error("a 404 probed without error")
	} else {
		t.Logf("404: %v", err)
	}
}
