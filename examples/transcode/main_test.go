package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The example transcodes the repository's clip to a file with its
// settings: same size, rate and frame count, with the codec asked for.
func TestTranscode(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (make deps)")
	}
	out := filepath.Join(t.TempDir(), "out.mkv")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	n, err := transcode(ctx, "../../testdata/clip.mp4", out, "libx265")
	if err != nil || n != 60 {
		t.Fatalf("pushed %d frames: %v", n, err)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_name,width,height,r_frame_rate,nb_read_frames", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(probe)); got != "hevc,320,240,30/1,60" {
		t.Errorf("ffprobe: %s", got)
	}
}
