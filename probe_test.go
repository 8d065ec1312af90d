package mpegserver_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// TestProbeFile: a 5 s file made by ffmpeg is probed for its size, rate,
// codec and duration.
func TestProbeFile(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	file := filepath.Join(t.TempDir(), "src.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30:duration=5",
		"-c:v", "libx264", "-b:v", "1000k", "-pix_fmt", "yuv420p", file).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	for _, src := range []string{file, "file://" + file} {
		info, err := mpegserver.Probe(testutil.Context(t, 10*time.Second), src)
		if err != nil {
			t.Fatal(err)
		}
		if info.Width != 640 || info.Height != 360 || info.FrameRate != (mpegserver.Rational{Num: 30, Den: 1}) ||
			info.Codec != "h264" || info.Live || info.Duration < 4900*time.Millisecond || info.Duration > 5100*time.Millisecond {
			t.Errorf("%s: %+v", src, info)
		}
		t.Logf("%+v", info)
	}
}

// TestProbeErrors: a missing file, a text file and servers that cannot
// answer each give their error, within the bound.
func TestProbeErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	closed := testutil.FreeAddr(t)
	silent := testutil.SilentServer(t)
	// Each probe has 2 s. The bounds leave room for a loaded machine:
	// a missing file fails at once, before the deadline; a server that
	// does not answer fails at the deadline, not at the 10 s default.
	for _, tc := range []struct {
		src   string
		want  error
		bound time.Duration
	}{
		{filepath.Join(dir, "missing.mp4"), os.ErrNotExist, time.Second},
		{text, mpegserver.ErrNoVideo, 5 * time.Second},
		{"rtsp://" + closed + "/x", mpegserver.ErrUnreachable, 5 * time.Second},
		{"rtsp://" + silent + "/x", mpegserver.ErrUnreachable, 5 * time.Second},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		t0 := time.Now()
		_, err := mpegserver.Probe(ctx, tc.src)
		took := time.Since(t0)
		cancel()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.src, err, tc.want)
		}
		if took > tc.bound {
			t.Errorf("%s: took %v, bound %v", tc.src, took, tc.bound)
		}
		t.Logf("%s: %v after %v", tc.src, err, took.Round(time.Millisecond))
	}
}

// TestProbeLiveStream: a stream the library publishes to the relay probes
// as live, with its size and codec.
func TestProbeLiveStream(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.FrameAhead(1))
	if err := s.Setup(relay.URL("live")); err != nil {
		t.Fatal(err)
	}
	feed(t, s, 320, 240)
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "live"); err != nil {
		t.Fatal(err)
	}
	info, err := mpegserver.Probe(testutil.Context(t, 10*time.Second), relay.URL("live"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 320 || info.Height != 240 || info.Codec != "h264" || !info.Live {
		t.Errorf("%+v", info)
	}
	t.Logf("%+v", info)
}
