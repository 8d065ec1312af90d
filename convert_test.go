package mpegserver_test

import (
	"fmt"
	"image"
	"image/color"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/mpegcoder-go/mpegserver"
)

// convertBands are the colours TestConversion paints, one vertical band
// each: greys catch a wrong offset or range, primaries a wrong matrix
// (BT.601 read as BT.709 moves saturated colours by 20 or more levels).
var convertBands = [][3]int{
	{0, 0, 0}, {255, 255, 255}, {128, 128, 128},
	{220, 30, 30}, {30, 200, 40}, {30, 40, 220}, {200, 120, 40},
}

// TestConversion: frames are converted to I420 on the way in (gstpipe), so
// the colours a reader decodes, with the matrix the stream declares, must
// be the colours pushed. Checked for packed RGB and for RGBA images, at a
// size under 720 lines (BT.601) and one above (BT.709), odd sizes included.
func TestConversion(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	testutil.NeedTool(t, "ffprobe")
	cases := []struct {
		sw, sh int // source size
		w, h   int // output size
		image  bool
		matrix string // as ffprobe names it
	}{
		{320, 240, 320, 240, false, "smpte170m"},
		{321, 241, 320, 240, true, "smpte170m"}, // odd source, scaled
		{1280, 720, 1280, 720, false, "bt709"},
		{1280, 720, 1280, 720, true, "bt709"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d image=%v", tc.sw, tc.sh, tc.image), func(t *testing.T) {
			band := func(x int) [3]int { return convertBands[x*len(convertBands)/tc.sw] }
			rgb := make([]byte, tc.sw*tc.sh*3)
			img := image.NewRGBA(image.Rect(0, 0, tc.sw, tc.sh))
			for y := 0; y < tc.sh; y++ {
				for x := 0; x < tc.sw; x++ {
					c := band(x)
					copy(rgb[(y*tc.sw+x)*3:], []byte{byte(c[0]), byte(c[1]), byte(c[2])})
					img.SetRGBA(x, y, color.RGBA{byte(c[0]), byte(c[1]), byte(c[2]), 255})
				}
			}
			path := filepath.Join(t.TempDir(), "colours.mkv")
			// A high bit rate keeps flat bands close to lossless.
			s := newServer(t, mpegserver.SourceSize(tc.sw, tc.sh), mpegserver.Size(tc.w, tc.h), mpegserver.BitRate(20000), mpegserver.GOPSize(5))
			if err := s.Setup(path); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10; i++ {
				var err error
				if tc.image {
					err = s.ServeImageBlock(img)
				} else {
					err = s.ServeFrameBlock(rgb)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
				"-show_entries", "stream=pix_fmt,color_space,color_range", "-of", "csv=p=0", path).Output()
			if err != nil {
				t.Fatalf("ffprobe: %v", err)
			}
			if got, want := strings.TrimSpace(string(out)), "yuv420p,tv,"+tc.matrix; got != want {
				t.Fatalf("stream says %q, want %q", got, want)
			}
			// Decode with the declared matrix and range, explicitly, so
			// the check does not depend on ffmpeg's defaults.
			raw, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-frames:v", "1",
				"-vf", "scale=in_color_matrix="+map[string]string{"smpte170m": "bt601", "bt709": "bt709"}[tc.matrix]+":in_range=tv,format=rgb24",
				"-f", "rawvideo", "-").Output()
			if err != nil {
				t.Fatalf("ffmpeg: %v", err)
			}
			if len(raw) != tc.w*tc.h*3 {
				t.Fatalf("decoded %d bytes, want %d", len(raw), tc.w*tc.h*3)
			}
			for i, want := range convertBands {
				// The middle of each band, away from chroma blending at edges.
				x0 := i * tc.w / len(convertBands)
				x1 := (i + 1) * tc.w / len(convertBands)
				x, y := (x0+x1)/2, tc.h/2
				o := (y*tc.w + x) * 3
				got := [3]int{int(raw[o]), int(raw[o+1]), int(raw[o+2])}
				for c := range got {
					if d := got[c] - want[c]; d < -6 || d > 6 {
						t.Errorf("band %d at x=%d: decoded %v, pushed %v", i, x, got, want)
						break
					}
				}
			}
		})
	}
}
