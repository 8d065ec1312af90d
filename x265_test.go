package mpegserver_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// TestX265ManyBFramesEveryPreset: the original's "Optimize the video
// encoding" example (libx265, GOP 24, maxBframe 16) encodes at every
// preset; x265 refuses B-frames at or above its lookahead depth, which the
// library raises as needed. ffprobe reads every frame back, B-frames
// among them.
func TestX265ManyBFramesEveryPreset(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	// Small pictures: what the slow presets cost grows with the picture;
	// the lookahead rule checked here does not depend on it.
	const frames, w, h = 48, 160, 96
	for _, preset := range []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"} {
		t.Run(preset, func(t *testing.T) {
			t.Parallel() // with each other only: the test itself is not parallel, so nothing else needs the CPU they take
			out := filepath.Join(t.TempDir(), "x265.mkv")
			// Close waits for every queued frame to be encoded: the slow
			// presets on a loaded machine need long, and how long is not
			// what is checked here.
			s := newServer(t, mpegserver.Codec("libx265"), mpegserver.Size(w, h), mpegserver.GOPSize(24),
				mpegserver.MaxBFrames(16), mpegserver.Preset(preset), mpegserver.CloseTimeout(2*time.Minute))
			if err := s.Setup(out); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < frames; i++ {
				if err := s.ServeFrameBlock(testFrame(w, h, i)); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			probe, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
				"frame=pict_type", "-of", "csv=p=0", out).Output()
			if err != nil {
				t.Fatal(err)
			}
			types := strings.Fields(string(probe))
			if len(types) != frames || !strings.Contains(string(probe), "B") {
				t.Errorf("%d frames read back (want %d), types %v", len(types), frames, types)
			}
		})
	}
}

// TestEncoderRefusalFailsSetup: settings the encoder refuses fail Setup
// with its reason (x265enc would otherwise report them at the first
// frame), and the server stays usable.
func TestEncoderRefusalFailsSetup(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "x.mkv")
	for _, tc := range []struct {
		w, h int
		why  string
	}{
		{16384, 16, "Can not initialize x265 encoder"},
		{8, 8, "does not take video of this size"},
	} {
		s := newServer(t, mpegserver.Codec("libx265"), mpegserver.Size(tc.w, tc.h))
		for try := 0; try < 2; try++ { // the second answer comes from the cache
			t0 := time.Now()
			err := s.Setup(out)
			t.Logf("%dx%d: %v (%v)", tc.w, tc.h, err, time.Since(t0).Round(time.Millisecond))
			if !errors.Is(err, mpegserver.ErrBadParameter) || !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), "x265enc") {
				t.Fatalf("%dx%d: %v", tc.w, tc.h, err)
			}
		}
		if err := s.ServeFrameBlock(testFrame(tc.w, tc.h, 0)); !errors.Is(err, mpegserver.ErrNotSetUp) {
			t.Errorf("frame after a refused Setup: %v", err)
		}
		if err := s.SetParameter(mpegserver.Size(320, 240)); err != nil {
			t.Fatal(err)
		}
		if err := s.Setup(out); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
