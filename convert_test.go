package mpegserver_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/mpegcoder-go/mpegserver"
)

// convertBands are the colours TestConversion paints, one vertical band
// each: greys catch a wrong offset or range, primaries a wrong matrix or
// swapped channels (BT.601 read as BT.709 moves saturated colours by 20
// or more levels; R and B swapped, by far more).
var convertBands = [][3]int{
	{0, 0, 0}, {255, 255, 255}, {128, 128, 128},
	{220, 30, 30}, {30, 200, 40}, {30, 40, 220}, {200, 120, 40},
}

// bandImage paints the bands across a w × h image.
func bandImage(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, c := range convertBands {
		r := image.Rect(i*w/len(convertBands), 0, (i+1)*w/len(convertBands), h)
		draw.Draw(m, r, image.NewUniform(color.RGBA{uint8(c[0]), uint8(c[1]), uint8(c[2]), 255}), image.Point{}, draw.Src)
	}
	return m
}

// ffconvert converts one raw frame from one ffmpeg pixel format to
// another: ffmpeg is the reference for what a frame in each format means.
func ffconvert(t *testing.T, in []byte, from, to string, w, h int) []byte {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", from, "-s", fmt.Sprintf("%dx%d", w, h), "-i", "-",
		"-vf", "scale=out_color_matrix=bt601:out_range="+map[bool]string{true: "pc", false: "tv"}[strings.HasPrefix(to, "yuvj")],
		"-f", "rawvideo", "-pix_fmt", to, "-")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %s to %s: %v", from, to, err)
	}
	return out
}

// conversionCase is one way of serving the bands: what is served, and the
// colours it means as packed RGB (ffmpeg's reading of the same frame).
type conversionCase struct {
	name   string
	w, h   int // source size; the output is 320×240 when they are odd
	format mpegserver.PixelFormat
	frame  []byte      // served with ServeFrameBlock, or
	img    image.Image // with ServeImageBlock
	ref    []byte      // packed RGB
}

func conversionCases(t *testing.T) []conversionCase {
	var cases []conversionCase
	for _, sz := range [][2]int{{320, 240}, {321, 241}} {
		w, h := sz[0], sz[1]
		rgba := bandImage(w, h)
		ref := ffconvert(t, rgba.Pix, "rgba", "rgb24", w, h)
		for _, name := range mpegserver.PixelFormatNames() {
			f, _ := mpegserver.ParsePixelFormat(name)
			in := ffconvert(t, rgba.Pix, "rgba", name, w, h)
			cases = append(cases, conversionCase{name: name, w: w, h: h, format: f, frame: in, ref: ffconvert(t, in, name, "rgb24", w, h)})
		}
		gray := ffconvert(t, rgba.Pix, "rgba", "gray", w, h)
		pal := image.NewPaletted(rgba.Rect, nil)
		for _, c := range convertBands {
			pal.Palette = append(pal.Palette, color.RGBA{uint8(c[0]), uint8(c[1]), uint8(c[2]), 255})
		}
		draw.Draw(pal, pal.Rect, rgba, image.Point{}, draw.Src)
		cases = append(cases,
			conversionCase{name: "*image.RGBA", w: w, h: h, img: rgba, ref: ref},
			conversionCase{name: "*image.Paletted", w: w, h: h, img: pal, ref: ref},
			conversionCase{name: "*image.Gray", w: w, h: h, img: &image.Gray{Pix: gray, Stride: w, Rect: rgba.Rect},
				ref: ffconvert(t, gray, "gray", "rgb24", w, h)})
		for _, sub := range []struct {
			name  string
			ratio image.YCbCrSubsampleRatio
		}{{"yuvj420p", image.YCbCrSubsampleRatio420}, {"yuvj422p", image.YCbCrSubsampleRatio422}, {"yuvj444p", image.YCbCrSubsampleRatio444}} {
			// Go's YCbCr is JPEG's: full range, as ffmpeg's yuvj formats.
			in := ffconvert(t, rgba.Pix, "rgba", sub.name, w, h)
			m := image.NewYCbCr(rgba.Rect, sub.ratio)
			n := copy(m.Y, in)
			n += copy(m.Cb, in[n:])
			copy(m.Cr, in[n:])
			cases = append(cases, conversionCase{name: "*image.YCbCr " + sub.ratio.String(), w: w, h: h, img: m,
				ref: ffconvert(t, in, sub.name, "rgb24", w, h)})
		}
	}
	// 720p, where the library once tagged BT.709: BT.601 at every size now.
	rgba := bandImage(1280, 720)
	cases = append(cases, conversionCase{name: "rgb24", w: 1280, h: 720, frame: ffconvert(t, rgba.Pix, "rgba", "rgb24", 1280, 720),
		ref: ffconvert(t, rgba.Pix, "rgba", "rgb24", 1280, 720)})
	return cases
}

// probeColour is what ffprobe says about a file's first video stream:
// pixel format, range, matrix.
func probeColour(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=pix_fmt,color_range,color_space", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// decodeFirstFrame decodes the first frame of path to packed RGB of
// ow × oh, with BT.601 and the range given (tv or pc).
func decodeFirstFrame(t *testing.T, path string, ow, oh int, rng string) []byte {
	t.Helper()
	raw, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-frames:v", "1",
		"-vf", "scale=in_color_matrix=bt601:in_range="+rng+",format=rgb24", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	if len(raw) != ow*oh*3 {
		t.Fatalf("decoded %d bytes, want %d", len(raw), ow*oh*3)
	}
	return raw
}

// checkBands decodes the first frame of path as the stream declares it
// (BT.601, with the range given) and compares the middle of each band
// with the reference.
func checkBands(t *testing.T, path string, ow, oh int, rng string, ref []byte, sw, sh int) {
	t.Helper()
	raw := decodeFirstFrame(t, path, ow, oh, rng)
	for i := range convertBands {
		// The middle of each band, away from chroma blending at edges.
		mid := func(w int) int { return (i*w/len(convertBands) + (i+1)*w/len(convertBands)) / 2 }
		o, r := (oh/2*ow+mid(ow))*3, (sh/2*sw+mid(sw))*3
		got, want := raw[o:o+3], ref[r:r+3]
		for c := range got {
			if d := int(got[c]) - int(want[c]); d < -6 || d > 6 {
				t.Errorf("band %d: decoded %v, served %v", i, got, want)
				break
			}
		}
	}
}

// TestConversion: frames are converted (or copied) into I420 on the way
// in, by libyuv, so the colours a reader decodes, with the matrix and
// range the stream declares, must be the colours served. Checked for
// every SourceFormat served as bytes and for every image type ServeImage
// reads directly (and one it draws first), at an even size, an odd one
// (scaled) and 720p. The stream declares BT.601 at every size (libyuv has
// no BT.709 for RGB to YUV), limited range, or full range for yuvj420p.
func TestConversion(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	testutil.NeedTool(t, "ffprobe")
	for _, tc := range conversionCases(t) {
		t.Run(fmt.Sprintf("%s %dx%d", tc.name, tc.w, tc.h), func(t *testing.T) {
			ow, oh := tc.w&^1, tc.h&^1
			path := filepath.Join(t.TempDir(), "colours.mkv")
			// A high bit rate keeps flat bands close to lossless.
			s := newServer(t, mpegserver.SourceSize(tc.w, tc.h), mpegserver.Size(ow, oh), mpegserver.SourceFormat(tc.format),
				mpegserver.BitRate(20000), mpegserver.GOPSize(5))
			if err := s.Setup(path); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				var err error
				if tc.img != nil {
					err = s.ServeImageBlock(tc.img)
				} else {
					err = s.ServeFrameBlock(tc.frame)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			want, rng := "yuv420p,tv,smpte170m", "tv"
			if tc.format == mpegserver.YUVJ420P {
				want, rng = "yuvj420p,pc,smpte170m", "pc"
			}
			if got := probeColour(t, path); got != want {
				t.Errorf("stream says %q, want %q", got, want)
			}
			checkBands(t, path, ow, oh, rng, tc.ref, tc.w, tc.h)
		})
	}
}

// TestColourTagsOverRTSP: what the encoder writes about colour reaches a
// recording made from the RTSP stream (ffmpeg copying it to a file), at
// 720p too: BT.601 (smpte170m) and limited range.
func TestColourTagsOverRTSP(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(1280, 720), mpegserver.FrameAhead(1))
	rgb := bandImage(1280, 720)
	if err := s.Setup(relay.URL("colour")); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeImageBlock(rgb); err != nil {
		t.Fatal(err)
	}
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "colour"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rec.mkv")
	rec := exec.Command("ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", relay.URL("colour"), "-c", "copy", "-frames:v", "30", path)
	var stderr bytes.Buffer
	rec.Stderr = &stderr
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- rec.Wait() }()
	deadline := time.After(30 * time.Second)
	for serving := true; serving; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("recording: %v\n%s", err, stderr.String())
			}
			serving = false
		case <-deadline:
			_ = rec.Process.Kill()
			t.Fatal("no 30-frame recording within 30 s")
		default:
			if err := s.ServeImageBlock(rgb); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := probeColour(t, path), "yuv420p,tv,smpte170m"; got != want {
		t.Errorf("recording says %q, want %q", got, want)
	}
}
