package mpegserver_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/mpegcoder-go/mpegserver"
)

// TestFileOutput: a file is written as fast as frames come (no play-time
// pacing), and holds every frame once Close returns, raw or muxed.
func TestFileOutput(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	// 45 s of video at 2 fps: paced at the frame rate, writing it would
	// take 45 s; the bound below is far from that and far above what a
	// loaded machine needs to encode 90 small frames.
	const n = 90
	for _, name := range []string{"out.h264", "out.mp4", "out.mkv"} {
		path := filepath.Join(t.TempDir(), name)
		addr := path
		if name == "out.mp4" {
			addr = "file://" + path
		}
		s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(15), mpegserver.FrameRate(2, 1))
		if err := s.Setup(addr); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		el := time.Since(t0)
		if el > 15*time.Second {
			t.Errorf("%s: %d frames took %v: a file must not be paced at the frame rate", name, n, el)
		}
		out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
			"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", path).Output()
		if err != nil {
			t.Fatalf("%s: ffprobe: %v", name, err)
		}
		if got := strings.TrimSpace(string(out)); got != "h264,320,240,90" {
			t.Errorf("%s: ffprobe says %q, want h264,320,240,90", name, got)
		}
		t.Logf("%s: %d frames written in %v", name, n, el.Round(time.Millisecond))
	}
	s := mpegserver.New()
	if err := s.Setup("/nonexistent-dir/x.mp4"); err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Errorf("unwritable path: %v", err)
	}
}
