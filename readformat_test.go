package mpegserver_test

import (
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/psnr"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// TestReaderFormats: Read gives every format it offers as ffmpeg decodes
// the same file: the decoder's own 4:2:0 (yuv420p, nv12) bit for bit, and
// RGB in either byte order within 40 dB PSNR, converted with the matrix
// the file declares: BT.709 for a tagged 720p file, BT.601 for an
// untagged 360p one (what GStreamer and ffmpeg both assume there).
func TestReaderFormats(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	dir := t.TempDir()
	for _, src := range []struct {
		name, lavfi string
		w, h        int
		tags        []string
		matrix      string
	}{
		{"bt709-720p", "testsrc2=size=1280x720:rate=30", 1280, 720,
			[]string{"-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"}, "bt709"},
		{"untagged-360p", "smptehdbars=size=640x360:rate=30", 640, 360, nil, "bt601"},
	} {
		file := filepath.Join(dir, src.name+".mp4")
		args := append([]string{"-v", "error", "-f", "lavfi", "-i", src.lavfi, "-frames:v", "5", "-c:v", "libx264", "-pix_fmt", "yuv420p"}, src.tags...)
		if out, err := exec.Command("ffmpeg", append(args, file)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		for _, f := range []mpegserver.PixelFormat{mpegserver.RGB24, mpegserver.BGR24, mpegserver.RGBA, mpegserver.BGRA, mpegserver.YUV420P, mpegserver.NV12} {
			t.Run(src.name+"/"+f.String(), func(t *testing.T) {
				want, err := exec.Command("ffmpeg", "-v", "error", "-i", file,
					"-vf", "scale=in_color_matrix="+src.matrix+":in_range=tv", "-f", "rawvideo", "-pix_fmt", f.String(), "-").Output()
				if err != nil {
					t.Fatal(err)
				}
				r, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), file, mpegserver.ReaderConfig{Format: f})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				n := r.FrameSize()
				if n != f.FrameSize(src.w, src.h) || len(want) != 5*n {
					t.Fatalf("frame %d bytes, ffmpeg gave %d for 5", n, len(want))
				}
				for i := 0; i < 5; i++ {
					got, err := r.ReadFrame()
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					db := psnr.Of(got, want[i*n:(i+1)*n])
					switch {
					case (f == mpegserver.YUV420P || f == mpegserver.NV12) && !math.IsInf(db, 1):
						t.Errorf("frame %d: %.1f dB from ffmpeg's decode, want identical", i, db)
					case db < 40:
						t.Errorf("frame %d: %.1f dB from ffmpeg's decode, want ≥ 40", i, db)
					}
				}
			})
		}
	}
}

// TestReaderFormatChecks: a format Read does not give is a bad parameter;
// an odd size comes out as every format lays it out.
func TestReaderFormatChecks(t *testing.T) {
	src := makeSource(t)
	for _, f := range []mpegserver.PixelFormat{mpegserver.Gray, mpegserver.YUYV422, mpegserver.YUVJ420P, mpegserver.ARGB, 99} {
		if _, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), src, mpegserver.ReaderConfig{Format: f}); !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("%v: %v", f, err)
		}
	}
	for _, f := range []mpegserver.PixelFormat{mpegserver.RGB24, mpegserver.YUV420P, mpegserver.NV12} {
		r, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), src, mpegserver.ReaderConfig{Width: 321, Height: 241, Format: f})
		if err != nil {
			t.Fatal(err)
		}
		frame := make([]byte, r.FrameSize())
		if err := r.Read(frame); err != nil || len(frame) != f.FrameSize(321, 241) {
			t.Errorf("%v: %d bytes, %v", f, len(frame), err)
		}
		if err := r.Read(frame[:len(frame)-1]); !errors.Is(err, mpegserver.ErrFrameSize) {
			t.Errorf("%v: a short buffer: %v", f, err)
		}
		r.Close()
	}
}
