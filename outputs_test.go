package mpegserver_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// ffprobeFrames gives a file's codec, size and decoded frame count, and
// the indexes of its keyframe packets.
func ffprobeFrames(t *testing.T, file string) (summary string, keys []int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
		"stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	flags, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=flags",
		"-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range strings.Fields(string(flags)) {
		if strings.HasPrefix(f, "K") {
			keys = append(keys, i)
		}
	}
	// MPEG-TS lists the stream under its program too: the first line.
	return strings.Fields(string(out) + " ?")[0], keys
}

// TestUDPOutput: MPEG-TS over UDP, read by ffmpeg listening on loopback:
// every frame arrives, at the size asked, keyframes every GOP.
func TestUDPOutput(t *testing.T) {
	t.Parallel()
	rx := testutil.StartUDP(t)
	const n, gop = 60, 15
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop))
	addr := rx.URL()
	if err := s.Setup(addr); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Parameter(mpegserver.KeyFormatName); f != "mpegts" {
		t.Errorf("formatName %v", f)
	}
	for i := 0; i < n; i++ {
		if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	stderr := rx.Wait(t, 60*time.Second)
	got, keys := ffprobeFrames(t, rx.File)
	t.Logf("%s: %s, keyframes at %v", addr, got, keys)
	if got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("ffprobe %q, want h264,320,240,%d (ffmpeg: %s)", got, n, stderr)
	}
	if !equalInts(keys, []int{0, 15, 30, 45}) {
		t.Errorf("keyframes at %v", keys)
	}
}

// TestHLSOutput: a playlist of whole-GOP segments, bounded, older
// segments deleted, finished at Close; ffprobe plays it.
func TestHLSOutput(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	dir := t.TempDir()
	playlist := filepath.Join(dir, "live.m3u8")
	// GOP 15 at 30 fps: target duration 1 s, segments of two GOPs.
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(15), mpegserver.PlaylistLength(2))
	if err := s.Setup(playlist); err != nil {
		t.Fatal(err)
	}
	if line, _ := s.LaunchLine(); !strings.Contains(line, `hlssink2 playlist-location="`+playlist+`"`) || !strings.Contains(line, "playlist-length=2 max-files=4") {
		t.Errorf("launch line %s", line)
	}
	for i := 0; i < 150; i++ {
		if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(playlist)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var listed []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(l, ".ts") {
			listed = append(listed, l)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.ts"))
	t.Logf("playlist:\n%s\non disk: %d segments", text, len(segs))
	if len(listed) != 2 || !strings.Contains(text, "#EXT-X-ENDLIST") || !strings.Contains(text, "#EXT-X-TARGETDURATION:1") {
		t.Errorf("playlist lists %v", listed)
	}
	if len(segs) != 4 { // 5 made, the oldest deleted
		t.Errorf("%d segments on disk, want 4", len(segs))
	}
	for _, seg := range listed {
		got, keys := ffprobeFrames(t, filepath.Join(dir, seg))
		if !strings.HasPrefix(got, "h264,320,240,") || len(keys) == 0 || keys[0] != 0 || (len(keys) > 1 && keys[1] != 15) {
			t.Errorf("%s: %s, keyframes at %v (want a keyframe first, GOP 15)", seg, got, keys)
		}
		if !strings.HasSuffix(got, ",30") {
			t.Errorf("%s: %s, want 30 frames (two GOPs)", seg, got)
		}
	}
	if got, _ := ffprobeFrames(t, playlist); got != "h264,320,240,60" {
		t.Errorf("playlist plays as %q, want h264,320,240,60", got)
	}
}
