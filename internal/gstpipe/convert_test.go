package gstpipe

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"

	"github.com/mpegcoder-go/mpegserver/internal/psnr"
)

// convertCases are the layouts ConvertI420 takes, each with ffmpeg's name
// for it. ffmpeg reads yuvj* and gray as full range, yuv420p, nv12 and
// yuyv422 as limited, as the converter does.
var convertCases = []struct {
	f    Format
	name string
}{
	{RGB24, "rgb24"}, {BGR24, "bgr24"}, {RGBA, "rgba"}, {BGRA, "bgra"}, {ARGB, "argb"}, {Gray, "gray"},
	{I420, "yuv420p"}, {NV12, "nv12"}, {YUYV, "yuyv422"}, {J420, "yuvj420p"}, {J422, "yuvj422p"}, {J444, "yuvj444p"},
}

// ffmpegRaw runs ffmpeg with args, feeding it in, and returns its output.
func ffmpegRaw(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-v", "error"}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %q: %v\n%s", args, err, stderr.String())
	}
	return out
}

// framePlanes splits a tightly packed frame of f into the planes Frame takes.
func framePlanes(f Format, w, h int, b []byte) Frame {
	fr := Frame{Format: f, W: w, H: h}
	ps, n, _ := Layout(f, w, h, 0)
	for i, p := range ps[:n] {
		fr.Planes[i], fr.Strides[i] = b[p.Offset:], p.Stride
	}
	return fr
}

// TestConvertMatchesFFmpeg: every layout, converted by libyuv, is within
// 40 dB PSNR of ffmpeg's own conversion (swscale) of the same frame to
// yuv420p BT.601, limited range (and full range, yuvj420p, for what a
// full-range stream takes), on colour bars and on ffmpeg's test picture.
//
// The odd size (321×241) is the top left of an even frame (322×242), its
// rows read at the even frame's stride, compared with ffmpeg's conversion
// of the even frame: swscale converts an odd frame by stretching chroma
// (321 pixels to 161 samples, drifting a pixel by the right edge), where
// libyuv, GStreamer and players pair pixels 2k and 2k+1 as in an even
// frame; the even frame holds that pairing for both.
func TestConvertMatchesFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	fullOK := map[Format]bool{RGB24: true, BGR24: true, RGBA: true, BGRA: true, Gray: true, J420: true, J422: true, J444: true}
	for _, pic := range []string{"smptehdbars", "testsrc2"} {
		for _, sz := range [][2]int{{320, 240}, {321, 241}} {
			w, h := sz[0], sz[1]
			ew, eh := w+w%2, h+h%2
			src := fmt.Sprintf("%s=size=%dx%d", pic, ew, eh)
			for _, tc := range convertCases {
				in := ffmpegRaw(t, nil, "-f", "lavfi", "-i", src, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", tc.name, "-")
				for _, full := range []bool{false, true} {
					if full && !fullOK[tc.f] {
						continue
					}
					out, rng := "yuv420p", "tv"
					if full {
						out, rng = "yuvj420p", "pc"
					}
					t.Run(fmt.Sprintf("%s/%dx%d/%s/%s", pic, w, h, tc.name, out), func(t *testing.T) {
						want := ffmpegRaw(t, in, "-f", "rawvideo", "-pix_fmt", tc.name, "-s", fmt.Sprintf("%dx%d", ew, eh), "-i", "-",
							"-vf", "scale=out_color_matrix=bt601:out_range="+rng, "-pix_fmt", out, "-f", "rawvideo", "-")
						fr := framePlanes(tc.f, ew, eh, in)
						fr.W, fr.H = w, h
						got := make([]byte, len(want))
						// Converted at the even frame's strides, so the two
						// lie alike in memory; the odd frame's last column
						// and row are left as ffmpeg wrote them.
						copy(got, want)
						ps, _, _ := Layout(I420, ew, eh, 0)
						d := [3][]byte{got[ps[0].Offset:], got[ps[1].Offset:], got[ps[2].Offset:]}
						if err := convertInto(fr, full, d, [3]int{ps[0].Stride, ps[1].Stride, ps[2].Stride}); err != nil {
							t.Fatal(err)
						}
						var db [3]float64
						for i, p := range ps {
							end := p.Offset + p.Stride*p.Rows
							db[i] = psnr.Of(got[p.Offset:end], want[p.Offset:end])
						}
						all := psnr.Of(got, want)
						t.Logf("PSNR %.1f dB (Y %.1f, U %.1f, V %.1f)", all, db[0], db[1], db[2])
						// The frame's PSNR (every sample of the three
						// planes), and no plane far off: a swapped or
						// misplaced chroma plane scores under 25 dB.
						if all < 40 || min(db[0], db[1], db[2]) < 35 {
							t.Errorf("PSNR %.1f dB (Y %.1f, U %.1f, V %.1f), want ≥ 40 (each plane ≥ 35) against ffmpeg", all, db[0], db[1], db[2])
						}
					})
				}
			}
		}
	}
}

// BenchmarkConvert times the converter alone, one frame an op, for every
// layout at three sizes: what Push spends before GStreamer sees a frame.
// `go test -bench Convert ./internal/gstpipe` (docs/benchmarks.md).
func BenchmarkConvert(b *testing.B) {
	for _, sz := range [][2]int{{640, 360}, {1280, 720}, {1920, 1080}} {
		w, h := sz[0], sz[1]
		_, _, n := Layout(I420, w, h, 0)
		dst := make([]byte, n)
		for _, tc := range convertCases {
			_, _, size := Layout(tc.f, w, h, 0)
			src := make([]byte, size)
			for i := range src {
				src[i] = byte(i * 7)
			}
			f := framePlanes(tc.f, w, h, src)
			b.Run(fmt.Sprintf("%s/%dx%d", tc.name, w, h), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					if err := ConvertI420(f, false, dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
