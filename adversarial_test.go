package mpegserver_test

// Adversarial tests: camera pixel formats with libyuv scaling in the push
// path, combined with the audio track, Record, the embedded RTSP relay and
// SetParameter between Setups. Each has a time bound.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// advFrame is a frame of w × h in format f with its rows packed tightly:
// mid-grey chroma, luma (or every byte of RGB) moving with i.
//
//go:norace
func advFrame(f mpegserver.PixelFormat, w, h, i int) []byte {
	b := make([]byte, f.FrameSize(w, h))
	switch f {
	case mpegserver.YUV420P, mpegserver.YUVJ420P, mpegserver.NV12:
		for k := range b {
			b[k] = 128
		}
		for k := 0; k < w*h; k++ {
			b[k] = byte(16 + (k%w+i)%200)
		}
	case mpegserver.YUYV422:
		for k := 0; k+1 < len(b); k += 2 {
			b[k] = byte(16 + (k/2+i)%200)
			b[k+1] = 128
		}
	default:
		for k := range b {
			b[k] = byte(k + i)
		}
	}
	return b
}

// advBound fails the test if f does not return within d.
func advBound(t *testing.T, what string, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: still running after %v", what, d)
	}
}

// advEncode sets s up on path, calls serve n times (i = 0 … n-1) and
// closes s, all within advBound's 60 s; it reports whether all went well.
func advEncode(t *testing.T, s *mpegserver.Server, path string, n int, serve func(i int) error) bool {
	t.Helper()
	advBound(t, "encode", 60*time.Second, func() {
		if err := s.Setup(path); err != nil {
			t.Errorf("Setup: %v", err)
			return
		}
		for i := 0; i < n; i++ {
			if err := serve(i); err != nil {
				t.Errorf("serve %d: %v", i, err)
				return
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return !t.Failed()
}

// TestAdvCameraFormatsScaledWithAudioToFiles: NV12 and YUYV422 camera
// frames of 640×360, scaled to 320×240 by libyuv, beside a silent track,
// to .mp4 and .mkv: each file has h264 320×240 with every frame and an
// AAC track as long as the frames.
func TestAdvCameraFormatsScaledWithAudioToFiles(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	const sw, sh, n = 640, 360, 30
	dir := t.TempDir()
	for _, f := range []mpegserver.PixelFormat{mpegserver.NV12, mpegserver.YUYV422} {
		for _, ext := range []string{"mp4", "mkv"} {
			file := filepath.Join(dir, fmt.Sprintf("%s.%s", f, ext))
			s := newServer(t, mpegserver.SourceFormat(f), mpegserver.SourceSize(sw, sh), mpegserver.Size(320, 240),
				mpegserver.GOPSize(10), mpegserver.Audio(mpegserver.Silence()))
			if got := s.Config().FrameSize(); got != f.FrameSize(sw, sh) {
				t.Errorf("%s: Config.FrameSize %d, want %d", f, got, f.FrameSize(sw, sh))
			}
			advBound(t, file, 60*time.Second, func() {
				if err := s.Setup(file); err != nil {
					t.Errorf("%s: Setup: %v", file, err)
					return
				}
				for i := 0; i < n; i++ {
					if err := s.ServeFrameBlock(advFrame(f, sw, sh, i)); err != nil {
						t.Errorf("%s: frame %d: %v", file, i, err)
						return
					}
				}
				if err := s.Close(); err != nil {
					t.Errorf("%s: Close: %v", file, err)
				}
			})
			if t.Failed() {
				return
			}
			if got, _ := ffprobeFrames(t, file); got != fmt.Sprintf("h264,320,240,%d", n) {
				t.Errorf("%s: video %s", file, got)
			}
			wantTracks(t, file, file, "aac", float64(n)/30)
		}
	}
}

// TestAdvRecordBesideRelayWithAudioYUYV: YUYV422 frames scaled from
// 640×480 to 320×240, stereo samples served in step, to the embedded RTSP
// relay and a .mkv record: the relay gets video frames and audio packets,
// the record both tracks with every frame.
func TestAdvRecordBesideRelayWithAudioYUYV(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	rec := filepath.Join(t.TempDir(), "rec.mkv")
	const sw, sh, n = 640, 480, 60
	s := newServer(t, mpegserver.SourceFormat(mpegserver.YUYV422), mpegserver.SourceSize(sw, sh), mpegserver.Size(320, 240),
		mpegserver.GOPSize(15), mpegserver.Audio(mpegserver.Samples(48000, 2)), mpegserver.Record(rec))
	pcm := make([]byte, 1600*4) // one frame's time at 48 kHz stereo
	for k := range pcm {
		pcm[k] = byte(k * 7)
	}
	advBound(t, "stream", 60*time.Second, func() {
		if err := s.Setup(relay.URL("cam")); err != nil {
			t.Errorf("Setup: %v", err)
			return
		}
		for i := 0; i < n; i++ {
			if err := s.ServeAudioBlock(pcm); err != nil {
				t.Errorf("audio %d: %v", i, err)
				return
			}
			if err := s.ServeFrameBlock(advFrame(mpegserver.YUYV422, sw, sh, i)); err != nil {
				t.Errorf("frame %d: %v", i, err)
				return
			}
		}
		if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserverInfo) bool {
			return i.Frames >= n-5 && i.AudioPackets > 0
		}); err != nil {
			t.Errorf("relay: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if t.Failed() {
		return
	}
	st := s.Stats()
	t.Logf("served %v audio, filled %v; outputs %+v", st.AudioServed, st.AudioFilled, st.Outputs)
	if got, _ := ffprobeFrames(t, rec); got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("record: %s", got)
	}
	wantTracks(t, "record", rec, "aac", float64(n)/30)
}

// TestAdvSetParameterBetweenSetups: one Server, audio on, set up three
// times, each time with another SourceFormat and source size: NV12
// 640×360, then YUYV422 320×240 (no scaling), then BGR24 800×600. A frame
// of the old layout is refused with ErrFrameSize after the change; each
// file has its own frames and both tracks.
func TestAdvSetParameterBetweenSetups(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	dir := t.TempDir()
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(10), mpegserver.Audio(mpegserver.Silence()))
	type step struct {
		f      mpegserver.PixelFormat
		sw, sh int
		n      int
	}
	steps := []step{{mpegserver.NV12, 640, 360, 20}, {mpegserver.YUYV422, 320, 240, 25}, {mpegserver.BGR24, 800, 600, 15}}
	var prev *step
	for k, st := range steps {
		st := st
		if err := s.SetParameter(mpegserver.SourceFormat(st.f), mpegserver.SourceSize(st.sw, st.sh)); err != nil {
			t.Fatalf("step %d: SetParameter: %v", k, err)
		}
		file := filepath.Join(dir, fmt.Sprintf("%d.mp4", k))
		advBound(t, file, 60*time.Second, func() {
			if err := s.Setup(file); err != nil {
				t.Errorf("%s: Setup: %v", file, err)
				return
			}
			if prev != nil && prev.f.FrameSize(prev.sw, prev.sh) != st.f.FrameSize(st.sw, st.sh) {
				if err := s.ServeFrame(advFrame(prev.f, prev.sw, prev.sh, 0)); !errors.Is(err, mpegserver.ErrFrameSize) {
					t.Errorf("%s: old layout's frame: %v, want ErrFrameSize", file, err)
				}
			}
			for i := 0; i < st.n; i++ {
				if err := s.ServeFrameBlock(advFrame(st.f, st.sw, st.sh, i)); err != nil {
					t.Errorf("%s: frame %d: %v", file, i, err)
					return
				}
			}
			if err := s.Close(); err != nil {
				t.Errorf("%s: Close: %v", file, err)
			}
		})
		if t.Failed() {
			return
		}
		if got, _ := ffprobeFrames(t, file); got != fmt.Sprintf("h264,320,240,%d", st.n) {
			t.Errorf("%s: video %s", file, got)
		}
		wantTracks(t, file, file, "aac", float64(st.n)/30)
		prev = &steps[k]
	}
}

// TestAdvOddSourceSizes: NV12 at 641×361 (and I420, YUYV422 at odd
// sizes) scaled to 320×240: the frame length is FrameSize's (chroma
// rounded up), such frames are taken and the file has every frame; or
// Setup refuses the size with ErrBadParameter. Never a crash or a hang.
func TestAdvOddSourceSizes(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	dir := t.TempDir()
	const n = 10
	for _, tc := range []struct {
		f      mpegserver.PixelFormat
		sw, sh int
	}{
		{mpegserver.NV12, 641, 361}, {mpegserver.YUV420P, 641, 361}, {mpegserver.YUYV422, 641, 361},
		{mpegserver.NV12, 3, 3}, {mpegserver.YUVJ420P, 321, 239},
	} {
		file := filepath.Join(dir, fmt.Sprintf("%s-%dx%d.mkv", tc.f, tc.sw, tc.sh))
		s := newServer(t, mpegserver.SourceFormat(tc.f), mpegserver.SourceSize(tc.sw, tc.sh), mpegserver.Size(320, 240),
			mpegserver.Audio(mpegserver.Silence()))
		refused := false
		advBound(t, file, 60*time.Second, func() {
			if err := s.Setup(file); err != nil {
				if !errors.Is(err, mpegserver.ErrBadParameter) {
					t.Errorf("%s: Setup: %v, want nil or ErrBadParameter", file, err)
				}
				refused = true
				t.Logf("%s: refused: %v", file, err)
				return
			}
			if got, want := s.Config().FrameSize(), tc.f.FrameSize(tc.sw, tc.sh); got != want {
				t.Errorf("%s: Config.FrameSize %d, PixelFormat.FrameSize %d", file, got, want)
			}
			for i := 0; i < n; i++ {
				if err := s.ServeFrameBlock(advFrame(tc.f, tc.sw, tc.sh, i)); err != nil {
					t.Errorf("%s: frame %d: %v", file, i, err)
					return
				}
			}
			if err := s.Close(); err != nil {
				t.Errorf("%s: Close: %v", file, err)
			}
		})
		if t.Failed() {
			return
		}
		if !refused {
			if got, _ := ffprobeFrames(t, file); got != fmt.Sprintf("h264,320,240,%d", n) {
				t.Errorf("%s: video %s", file, got)
			}
		}
	}
}

// TestAdvWrongLengthEachFormat: for every pixel format (scaled 330×250 →
// 320×240, audio on), frames one byte short, one byte long, of the output
// size and empty are refused with ErrFrameSize, by ServeFrame and by
// ServeFrameBlock, and the stream takes good frames afterwards: the file
// has exactly the good ones.
func TestAdvWrongLengthEachFormat(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	dir := t.TempDir()
	const sw, sh, n = 330, 250, 8
	for _, name := range mpegserver.PixelFormatNames() {
		f, err := mpegserver.ParsePixelFormat(name)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".mkv")
		s := newServer(t, mpegserver.SourceFormat(f), mpegserver.SourceSize(sw, sh), mpegserver.Size(320, 240),
			mpegserver.Audio(mpegserver.Silence()))
		advBound(t, file, 60*time.Second, func() {
			if err := s.Setup(file); err != nil {
				t.Errorf("%s: Setup: %v", name, err)
				return
			}
			good := advFrame(f, sw, sh, 0)
			bad := [][]byte{nil, {}, good[:len(good)-1], append(append([]byte{}, good...), 0), make([]byte, f.FrameSize(320, 240))}
			for i := 0; i < n; i++ {
				for _, b := range bad {
					if err := s.ServeFrame(b); !errors.Is(err, mpegserver.ErrFrameSize) {
						t.Errorf("%s: ServeFrame %d bytes (want %d): %v", name, len(b), len(good), err)
					}
					if err := s.ServeFrameBlock(b); !errors.Is(err, mpegserver.ErrFrameSize) {
						t.Errorf("%s: ServeFrameBlock %d bytes: %v", name, len(b), err)
					}
				}
				if err := s.ServeFrameBlock(advFrame(f, sw, sh, i)); err != nil {
					t.Errorf("%s: good frame %d after bad ones: %v", name, i, err)
					return
				}
			}
			if err := s.Close(); err != nil {
				t.Errorf("%s: Close: %v", name, err)
			}
		})
		if t.Failed() {
			return
		}
		if got, _ := ffprobeFrames(t, file); got != fmt.Sprintf("h264,320,240,%d", n) {
			t.Errorf("%s: video %s", name, got)
		}
	}
}

// TestAdvCloseWhileAudioBlocked: ServeAudioBlock waiting (audio far ahead
// of the frames, to a file) returns with an error when Close comes, and
// Close returns; neither hangs.
func TestAdvCloseWhileAudioBlocked(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a.mkv")
	s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360), mpegserver.Size(320, 240),
		mpegserver.Audio(mpegserver.Samples(48000, 1)), mpegserver.FrameAhead(2))
	if err := s.Setup(file); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeFrameBlock(advFrame(mpegserver.NV12, 640, 360, 0)); err != nil {
		t.Fatal(err)
	}
	pcm := make([]byte, 4800*2) // 0.1 s mono
	blocked := make(chan error, 1)
	served := 0
	go func() {
		for i := 0; i < 1000; i++ { // 100 s: far past FrameAhead
			if err := s.ServeAudioBlock(pcm); err != nil {
				blocked <- err
				return
			}
			served++
		}
		blocked <- nil
	}()
	// It must block: nothing comes back within a second.
	select {
	case err := <-blocked:
		t.Fatalf("ServeAudioBlock never blocked (err %v) with no frames served", err)
	case <-time.After(time.Second):
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-blocked:
		if err == nil {
			t.Errorf("ServeAudioBlock returned nil after Close")
		}
		t.Logf("ServeAudioBlock after Close: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("ServeAudioBlock still blocked 15 s after Close")
	}
	select {
	case err := <-closed:
		t.Logf("Close: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("Close hung")
	}
	if err := s.ServeAudioBlock(pcm); !errors.Is(err, mpegserver.ErrNotSetUp) && !errors.Is(err, mpegserver.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestAdvServeAudioWithoutAudio: a YUYV422 stream without a track, and
// one with Silence(): ServeAudio, ServeAudioBlock and ServeAudioContext
// say ErrBadParameter (no panic, no block), and frames still flow.
func TestAdvServeAudioWithoutAudio(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	for k, opts := range [][]mpegserver.Option{nil, {mpegserver.Audio(mpegserver.Silence())}} {
		opts = append(opts, mpegserver.SourceFormat(mpegserver.YUYV422), mpegserver.SourceSize(640, 360), mpegserver.Size(320, 180))
		s := newServer(t, opts...)
		path := fmt.Sprintf("p%d", k)
		advBound(t, path, 30*time.Second, func() {
			if err := s.Setup(relay.URL(path)); err != nil {
				t.Errorf("Setup: %v", err)
				return
			}
			pcm := make([]byte, 1600*4)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for what, err := range map[string]error{
				"ServeAudio": s.ServeAudio(pcm), "ServeAudioBlock": s.ServeAudioBlock(pcm), "ServeAudioContext": s.ServeAudioContext(ctx, pcm),
			} {
				if !errors.Is(err, mpegserver.ErrBadParameter) {
					t.Errorf("%s %s: %v, want ErrBadParameter", path, what, err)
				}
			}
			for i := 0; i < 10; i++ {
				if err := s.ServeFrameBlock(advFrame(mpegserver.YUYV422, 640, 360, i)); err != nil {
					t.Errorf("frame %d: %v", i, err)
					return
				}
			}
			if err := relay.Wait(testutil.Context(t, 10*time.Second), path, func(i rtspserverInfo) bool { return i.Frames >= 5 }); err != nil {
				t.Errorf("relay %s: %v", path, err)
			}
			_ = s.Close()
		})
	}
}

// TestAdvImagesIntoCameraStream: with SourceFormat NV12 and a source of
// 640×360 scaled to 320×240 and audio on, ServeImageBlock takes
// *image.YCbCr 4:2:0 and 4:2:2 and *image.RGBA of 640×360 (the image path
// ignores SourceFormat), refuses a 320×240 image with ErrFrameSize, and
// the .mp4 has every accepted image and the track.
func TestAdvImagesIntoCameraStream(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	file := filepath.Join(t.TempDir(), "img.mp4")
	s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360), mpegserver.Size(320, 240),
		mpegserver.Audio(mpegserver.Silence()))
	imgs := []image.Image{
		image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio420),
		image.NewYCbCr(image.Rect(0, 0, 640, 360), image.YCbCrSubsampleRatio422),
		image.NewRGBA(image.Rect(0, 0, 640, 360)),
		image.NewGray(image.Rect(0, 0, 640, 360)),
		// A sub-image: its stride is wider than its width.
		image.NewYCbCr(image.Rect(0, 0, 700, 400), image.YCbCrSubsampleRatio420).SubImage(image.Rect(10, 20, 650, 380)),
	}
	const rounds = 6
	advBound(t, "images", 60*time.Second, func() {
		if err := s.Setup(file); err != nil {
			t.Errorf("Setup: %v", err)
			return
		}
		small := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
		for r := 0; r < rounds; r++ {
			for k, img := range imgs {
				if err := s.ServeImageBlock(img); err != nil {
					t.Errorf("round %d image %d (%T): %v", r, k, img, err)
					return
				}
			}
			if err := s.ServeImageBlock(small); !errors.Is(err, mpegserver.ErrFrameSize) {
				t.Errorf("320×240 image into a 640×360 source: %v, want ErrFrameSize", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if t.Failed() {
		return
	}
	n := rounds * len(imgs)
	if got, _ := ffprobeFrames(t, file); got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("video %s, want %d frames", got, n)
	}
	wantTracks(t, "images", file, "aac", float64(n)/30)
}

// advBandsYUV are (Y, U, V) bands, advBandsRGB and advBandsGray the bands
// served to the RGB and grey formats.
var (
	advBandsYUV  = [][3]int{{16, 128, 128}, {235, 128, 128}, {81, 90, 240}, {145, 54, 34}, {41, 240, 110}, {120, 100, 170}}
	advBandsRGB  = [][3]int{{0, 0, 0}, {255, 255, 255}, {220, 30, 30}, {30, 200, 40}, {30, 40, 220}, {200, 120, 40}}
	advBandsGray = []int{0, 255, 128, 60, 200, 100}
)

func advClip(v float64) int {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return int(v + 0.5)
}

// advExpect is the RGB band b of format f means (BT.601).
func advExpect(f mpegserver.PixelFormat, b int) [3]int {
	switch f {
	case mpegserver.YUV420P, mpegserver.NV12, mpegserver.YUYV422:
		c := advBandsYUV[b]
		y, u, v := 1.164*float64(c[0]-16), float64(c[1]-128), float64(c[2]-128)
		return [3]int{advClip(y + 1.596*v), advClip(y - 0.813*v - 0.391*u), advClip(y + 2.018*u)}
	case mpegserver.YUVJ420P:
		c := advBandsYUV[b]
		y, u, v := float64(c[0]), float64(c[1]-128), float64(c[2]-128)
		return [3]int{advClip(y + 1.402*v), advClip(y - 0.344*u - 0.714*v), advClip(y + 1.772*u)}
	case mpegserver.Gray:
		g := advBandsGray[b]
		return [3]int{g, g, g}
	}
	return advBandsRGB[b]
}

// advBandFrame paints vertical bands across a w × h frame of format f,
// rows stride bytes apart (0: tight; chroma rows of the planar 4:2:0
// formats stride/2 apart, NV12's stride) with 0xEE in the padding, as
// the library's documentation lays it out.
func advBandFrame(f mpegserver.PixelFormat, w, h, stride int) []byte {
	nb := len(advBandsRGB)
	band := func(x int) int { return x * nb / w }
	cw, ch := (w+1)/2, (h+1)/2
	var out []byte
	plane := func(rows, rowBytes, st int, px func(r, k int) byte) {
		if st < rowBytes {
			st = rowBytes
		}
		for r := 0; r < rows; r++ {
			row := make([]byte, st)
			for k := range row {
				if k < rowBytes {
					row[k] = px(r, k)
				} else {
					row[k] = 0xEE
				}
			}
			out = append(out, row...)
		}
	}
	switch f {
	case mpegserver.RGB24, mpegserver.BGR24, mpegserver.RGBA, mpegserver.BGRA, mpegserver.ARGB:
		order := map[mpegserver.PixelFormat][]int{
			mpegserver.RGB24: {0, 1, 2}, mpegserver.BGR24: {2, 1, 0}, mpegserver.RGBA: {0, 1, 2, -1},
			mpegserver.BGRA: {2, 1, 0, -1}, mpegserver.ARGB: {-1, 0, 1, 2},
		}[f]
		bpp := len(order)
		plane(h, bpp*w, stride, func(r, k int) byte {
			c := order[k%bpp]
			if c < 0 {
				return 0x5A // alpha: ignored
			}
			return byte(advBandsRGB[band(k/bpp)][c])
		})
	case mpegserver.Gray:
		plane(h, w, stride, func(r, k int) byte { return byte(advBandsGray[band(k)]) })
	case mpegserver.YUV420P, mpegserver.YUVJ420P:
		plane(h, w, stride, func(r, k int) byte { return byte(advBandsYUV[band(k)][0]) })
		for c := 1; c <= 2; c++ {
			c := c
			plane(ch, cw, stride/2, func(r, k int) byte { return byte(advBandsYUV[band(min(2*k, w-1))][c]) })
		}
	case mpegserver.NV12:
		plane(h, w, stride, func(r, k int) byte { return byte(advBandsYUV[band(k)][0]) })
		plane(ch, 2*cw, stride, func(r, k int) byte { return byte(advBandsYUV[band(min(2*(k/2), w-1))][1+k%2]) })
	case mpegserver.YUYV422:
		plane(h, 4*cw, stride, func(r, k int) byte {
			x := 2*(k/4) + (k%4)/2 // Y0 U Y1 V
			x = min(x, w-1)
			switch k % 4 {
			case 1:
				return byte(advBandsYUV[band(min(2*(k/4), w-1))][1])
			case 3:
				return byte(advBandsYUV[band(min(2*(k/4), w-1))][2])
			}
			return byte(advBandsYUV[band(x)][0])
		})
	}
	return out
}

// TestAdvStrideOddScaledColours: every format at an odd size (641×361),
// rows padded with 0xEE to a stride, scaled to 320×240, audio on, to a
// .mkv: the frame length is Config.FrameSize's and the middle of each
// band decodes to the colour served (BT.601, the stream's range).
func TestAdvStrideOddScaledColours(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	const sw, sh, ow, oh = 641, 361, 320, 240
	strides := map[mpegserver.PixelFormat]int{
		mpegserver.RGB24: 3*sw + 13, mpegserver.BGR24: 3*sw + 13, mpegserver.RGBA: 4*sw + 12, mpegserver.BGRA: 4*sw + 12,
		mpegserver.ARGB: 4*sw + 12, mpegserver.Gray: 704, mpegserver.YUV420P: 704, mpegserver.YUVJ420P: 704,
		mpegserver.NV12: 704, mpegserver.YUYV422: 4*((sw+1)/2) + 16,
	}
	for _, name := range mpegserver.PixelFormatNames() {
		f, _ := mpegserver.ParsePixelFormat(name)
		for _, stride := range []int{0, strides[f]} {
			t.Run(fmt.Sprintf("%s/stride%d", name, stride), func(t *testing.T) {
				frame := advBandFrame(f, sw, sh, stride)
				path := filepath.Join(t.TempDir(), "bands.mkv")
				s := newServer(t, mpegserver.SourceFormat(f), mpegserver.SourceSize(sw, sh), mpegserver.SourceStride(stride),
					mpegserver.Size(ow, oh), mpegserver.BitRate(20000), mpegserver.GOPSize(5), mpegserver.Audio(mpegserver.Silence()))
				if got := s.Config().FrameSize(); got != len(frame) {
					t.Fatalf("Config.FrameSize %d, frame laid out as documented %d", got, len(frame))
				}
				if !advEncode(t, s, path, 3, func(int) error { return s.ServeFrameBlock(frame) }) {
					return
				}
				rng := "tv"
				if f == mpegserver.YUVJ420P {
					rng = "pc"
				}
				raw := decodeFirstFrame(t, path, ow, oh, rng)
				// Top, middle, bottom: a stride error skews rows.
				advCheckBands(t, raw, ow, oh, len(advBandsRGB), []int{2, oh / 2, oh - 3}, 8, "range "+rng,
					func(b int) [3]int { return advExpect(f, b) })
			})
		}
	}
}

// advDecode decodes the first frame of path as the stream declares its
// range (BT.601) and returns packed RGB of ow × oh and the range.
func advDecode(t *testing.T, path string, ow, oh int) ([]byte, string) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=color_range",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	rng := strings.TrimSpace(string(out))
	if rng != "pc" {
		rng = "tv"
	}
	return decodeFirstFrame(t, path, ow, oh, rng), rng
}

// advCheckBands compares the colour decoded at the middle of each of nb
// bands, on each of rows, with want(b), within tol per channel.
func advCheckBands(t *testing.T, raw []byte, ow, oh, nb int, rows []int, tol int, what string, want func(b int) [3]int) {
	t.Helper()
	for b := 0; b < nb; b++ {
		x := (b*ow/nb + (b+1)*ow/nb) / 2
		for _, y := range rows {
			o := (y*ow + x) * 3
			got, w := raw[o:o+3], want(b)
			for c := range w {
				if d := int(got[c]) - w[c]; d < -tol || d > tol {
					t.Errorf("band %d row %d (%s): decoded %v, want %v", b, y, what, got, w)
					break
				}
			}
		}
	}
}

// TestAdvYCbCrImageIntoAnyStream: a *image.YCbCr 4:2:0 (full range, as
// image/jpeg gives it) served with ServeImageBlock into streams whose
// SourceFormat is each YUV and RGB layout, at the output size and scaled
// from 642×362: the colours decoded (with the range the stream declares)
// are the image's, so a full-range image is never passed as limited.
func TestAdvYCbCrImageIntoAnyStream(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	const ow, oh = 320, 240
	for _, f := range []mpegserver.PixelFormat{mpegserver.YUV420P, mpegserver.NV12, mpegserver.YUYV422, mpegserver.RGB24, mpegserver.YUVJ420P} {
		for _, sz := range [][2]int{{ow, oh}, {642, 362}} {
			t.Run(fmt.Sprintf("%s/%dx%d", f, sz[0], sz[1]), func(t *testing.T) {
				sw, sh := sz[0], sz[1]
				// The YUVJ420P layout of the bands is a YCbCr 4:2:0 image's.
				m := image.NewYCbCr(image.Rect(0, 0, sw, sh), image.YCbCrSubsampleRatio420)
				buf := advBandFrame(mpegserver.YUVJ420P, sw, sh, 0)
				n := copy(m.Y, buf)
				n += copy(m.Cb, buf[n:])
				copy(m.Cr, buf[n:])
				path := filepath.Join(t.TempDir(), "img.mkv")
				s := newServer(t, mpegserver.SourceFormat(f), mpegserver.SourceSize(sw, sh), mpegserver.Size(ow, oh),
					mpegserver.BitRate(20000), mpegserver.GOPSize(5), mpegserver.Audio(mpegserver.Silence()))
				if !advEncode(t, s, path, 3, func(int) error { return s.ServeImageBlock(m) }) {
					return
				}
				raw, rng := advDecode(t, path, ow, oh)
				advCheckBands(t, raw, ow, oh, len(advBandsYUV), []int{oh / 2}, 8, "stream range "+rng,
					func(b int) [3]int { return advExpect(mpegserver.YUVJ420P, b) })
			})
		}
	}
}

// TestAdvBackupWithAudioAndCameraFormat: NV12 640×360 scaled to 320×240,
// stereo samples served from another goroutine than the frames,
// Reconnect and a backup relay. The primary relay goes away: the stream
// moves to the backup with both tracks (video frames and audio packets
// reach it, ffprobe reading it finds h264 320×240 and aac). (Backup with
// Record is refused, as documented.)
func TestAdvBackupWithAudioAndCameraFormat(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	primary, backup := testutil.StartRelay(t), testutil.StartRelay(t)
	rec := filepath.Join(t.TempDir(), "rec.mkv")
	const sw, sh = 640, 360
	opts := []mpegserver.Option{mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(sw, sh), mpegserver.Size(320, 240),
		mpegserver.GOPSize(15), mpegserver.FrameAhead(2), mpegserver.Audio(mpegserver.Samples(48000, 2)),
		mpegserver.Reconnect(true), mpegserver.ReconnectMaxWait(time.Second), mpegserver.Backup(backup.URL("cam"))}
	// Backup with Record is documented as refused (Config.Backup): at Setup.
	withRec := newServer(t, append(opts, mpegserver.Record(rec))...)
	if err := withRec.Setup(primary.URL("rec")); !errors.Is(err, mpegserver.ErrBadParameter) {
		t.Errorf("Backup with Record: %v, want ErrBadParameter", err)
	}
	s := newServer(t, opts...)
	if err := s.Setup(primary.URL("cam")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	feedCtx, stop := context.WithCancel(ctx)
	frames := make(chan int, 1)
	audioErr := make(chan error, 1)
	go func() {
		pcm := make([]byte, 1600*4)
		for feedCtx.Err() == nil {
			if err := s.ServeAudioContext(feedCtx, pcm); err != nil {
				if feedCtx.Err() == nil {
					audioErr <- err
					return
				}
			}
		}
		audioErr <- nil
	}()
	go func() {
		i := 0
		defer func() { frames <- i }()
		for ; feedCtx.Err() == nil; i++ {
			if err := s.ServeFrameContext(feedCtx, advFrame(mpegserver.NV12, sw, sh, i)); err != nil {
				if feedCtx.Err() == nil {
					t.Errorf("frame %d: %v", i, err)
				}
				return
			}
		}
	}()
	if err := primary.Wait(ctx, "cam", func(i rtspserverInfo) bool { return i.Frames >= 20 && i.AudioPackets > 10 }); err != nil {
		stop()
		t.Fatalf("primary: %v %+v", err, primary.Info("cam"))
	}
	primary.Close()
	ev := waitEvent(t, s, mpegserver.Reconnected, 15*time.Second)
	if ev.Output != backup.URL("cam") {
		t.Errorf("reconnected to %q, want the backup", ev.Output)
	}
	if err := backup.Wait(ctx, "cam", func(i rtspserverInfo) bool { return i.Frames >= 20 && i.AudioPackets > 10 }); err != nil {
		t.Errorf("backup: %v %+v", err, backup.Info("cam"))
	}
	pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
	out, err := exec.CommandContext(pctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
		"stream=codec_type,codec_name,width,height", "-of", "csv=p=0", backup.URL("cam")).Output()
	pcancel()
	got := strings.Fields(string(out))
	t.Logf("ffprobe on the backup: %v (%v)", got, err)
	if !containsAll(got, "h264,video,320,240", "aac,audio") {
		t.Errorf("ffprobe on the backup relay: %q, want h264 320×240 video and aac audio", got)
	}
	stop()
	n := <-frames
	if err := <-audioErr; err != nil {
		t.Errorf("ServeAudioContext: %v", err)
	}
	var cerr error
	advBound(t, "Close", 20*time.Second, func() { cerr = s.Close() })
	st := s.Stats()
	t.Logf("served %d frames, pushed %d, Close: %v, audio served %v dropped %v, outputs %+v", n, st.Pushed, cerr, st.AudioServed, st.AudioDropped, st.Outputs)
	if cerr != nil {
		t.Errorf("Close after moving to the backup: %v", cerr)
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.HasPrefix(h, w) || h == w {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestAdvSetParameterWhileStreaming: SetParameter changing SourceFormat
// and size while a stream (NV12 640×360, audio on) runs takes effect at
// the next Setup only: frames of the running layout are still taken, one
// of the new layout is refused with ErrFrameSize, and the file has the
// running layout's frames at the output size. Frames and SetParameter
// come from different goroutines (the race detector watches).
func TestAdvSetParameterWhileStreaming(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	file := filepath.Join(t.TempDir(), "a.mp4")
	const n = 40
	s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360), mpegserver.Size(320, 240),
		mpegserver.Audio(mpegserver.Silence()))
	advBound(t, "stream", 60*time.Second, func() {
		if err := s.Setup(file); err != nil {
			t.Errorf("Setup: %v", err)
			return
		}
		changed := make(chan error, 1)
		for i := 0; i < n; i++ {
			if i == 10 {
				go func() {
					changed <- s.SetParameter(mpegserver.SourceFormat(mpegserver.YUYV422), mpegserver.SourceSize(320, 200),
						mpegserver.Size(160, 120), mpegserver.Audio(mpegserver.AudioConfig{}))
				}()
			}
			if i == 20 {
				if err := <-changed; err != nil {
					t.Errorf("SetParameter while streaming: %v", err)
				}
				if err := s.ServeFrame(advFrame(mpegserver.YUYV422, 320, 200, i)); !errors.Is(err, mpegserver.ErrFrameSize) {
					t.Errorf("new layout's frame before the next Setup: %v, want ErrFrameSize", err)
				}
			}
			if err := s.ServeFrameBlock(advFrame(mpegserver.NV12, 640, 360, i)); err != nil {
				t.Errorf("frame %d: %v", i, err)
				return
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if t.Failed() {
		return
	}
	if got, _ := ffprobeFrames(t, file); got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("file: %s", got)
	}
	wantTracks(t, "file", file, "aac", float64(n)/30)
	// The next Setup has the new layout, and no track.
	file2 := filepath.Join(t.TempDir(), "b.mp4")
	if !advEncode(t, s, file2, 10, func(i int) error { return s.ServeFrameBlock(advFrame(mpegserver.YUYV422, 320, 200, i)) }) {
		return
	}
	if got, _ := ffprobeFrames(t, file2); got != "h264,160,120,10" {
		t.Errorf("second file: %s", got)
	}
	if tr := probeTracks(t, file2); tr.audio != "" {
		t.Errorf("second file has an audio track %q after Audio(AudioConfig{})", tr.audio)
	}
}

// TestAdvSampleRates: samples at 8, 44.1 and 96 kHz, mono and stereo,
// beside NV12 frames scaled from 640×360, to .mp4 and .webm (Opus): the
// track has the channels asked and is as long as the frames (resampled to
// 48 kHz, not played at the wrong speed).
func TestAdvSampleRates(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	testutil.NeedTool(t, "ffmpeg")
	dir := t.TempDir()
	const n = 45 // 1.5 s
	for _, tc := range []struct {
		rate, ch int
		ext      string
	}{{8000, 1, "mp4"}, {44100, 2, "mp4"}, {96000, 2, "mkv"}, {44100, 1, "webm"}, {22050, 2, "webm"}} {
		file := filepath.Join(dir, fmt.Sprintf("%d-%d.%s", tc.rate, tc.ch, tc.ext))
		opts := []mpegserver.Option{mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360), mpegserver.Size(320, 240),
			mpegserver.Audio(mpegserver.Samples(tc.rate, tc.ch))}
		if tc.ext == "webm" {
			opts = append(opts, mpegserver.Codec("libvpx"))
		}
		s := newServer(t, opts...)
		perFrame := tc.rate / 30 * tc.ch * 2
		if tc.rate%30 != 0 {
			perFrame = 0
		}
		advBound(t, file, 90*time.Second, func() {
			if err := s.Setup(file); err != nil {
				t.Errorf("%s: Setup: %v", file, err)
				return
			}
			if perFrame == 0 { // 44.1 kHz: 1.5 s at once, before the frames
				if err := s.ServeAudioBlock(make([]byte, tc.rate*3/2*tc.ch*2)); err != nil {
					t.Errorf("%s: audio: %v", file, err)
					return
				}
			}
			for i := 0; i < n; i++ {
				if perFrame > 0 {
					if err := s.ServeAudioBlock(make([]byte, perFrame)); err != nil {
						t.Errorf("%s: audio %d: %v", file, i, err)
						return
					}
				}
				if err := s.ServeFrameBlock(advFrame(mpegserver.NV12, 640, 360, i)); err != nil {
					t.Errorf("%s: frame %d: %v", file, i, err)
					return
				}
			}
			if err := s.Close(); err != nil {
				t.Errorf("%s: Close: %v", file, err)
			}
		})
		if t.Failed() {
			return
		}
		want := map[string]string{"mp4": "aac", "mkv": "aac", "webm": "opus"}[tc.ext]
		wantTracks(t, file, file, want, float64(n)/30)
		out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels",
			"-of", "csv=p=0", file).Output()
		if err != nil || strings.TrimSpace(string(out)) != fmt.Sprint(tc.ch) {
			t.Errorf("%s: channels %q (%v), want %d", file, out, err, tc.ch)
		}
		if st := s.Stats(); st.AudioServed < time.Duration(n)*time.Second/30-50*time.Millisecond {
			t.Errorf("%s: AudioServed %v", file, st.AudioServed)
		}
	}
}

// TestAdvToneSurvivesResampling: a 440 Hz tone on the left and 1000 Hz on
// the right, served at 44.1 kHz in pieces of odd lengths beside YUYV422
// frames scaled from 640×480, to .mkv: decoded, each channel has its own
// pitch (neither swapped nor played at the wrong rate).
func TestAdvToneSurvivesResampling(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	file := filepath.Join(t.TempDir(), "tone.mkv")
	const rate, n = 44100, 90 // 3 s
	s := newServer(t, mpegserver.SourceFormat(mpegserver.YUYV422), mpegserver.SourceSize(640, 480), mpegserver.Size(320, 240),
		mpegserver.Audio(mpegserver.Samples(rate, 2)))
	pcm := make([]byte, rate*3*4)
	for i := 0; i < rate*3; i++ {
		l := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate))
		r := int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/rate))
		binary.LittleEndian.PutUint16(pcm[4*i:], uint16(l))
		binary.LittleEndian.PutUint16(pcm[4*i+2:], uint16(r))
	}
	off := 0
	if !advEncode(t, s, file, n, func(i int) error {
		// 1470 samples a frame on average, in uneven pieces.
		end := min(len(pcm), (i+1)*rate/30*4+4*(i%7)*13)
		if end > off {
			if err := s.ServeAudioBlock(pcm[off:end]); err != nil {
				return fmt.Errorf("audio: %w", err)
			}
			off = end
		}
		return s.ServeFrameBlock(advFrame(mpegserver.YUYV422, 640, 480, i))
	}) {
		return
	}
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", file, "-map", "0:a:0", "-ac", "2", "-ar", "48000",
		"-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	samples := len(out) / 4
	t.Logf("decoded %d stereo samples (%.3f s)", samples, float64(samples)/48000)
	if samples < 48000*2 {
		t.Fatalf("only %d samples", samples)
	}
	// Zero crossings over 1 s from 0.5 s on: twice the frequency.
	for ch, want := range []float64{440, 1000} {
		cross := 0
		prev := int16(binary.LittleEndian.Uint16(out[4*24000+2*ch:]))
		for i := 24001; i < 72000; i++ {
			v := int16(binary.LittleEndian.Uint16(out[4*i+2*ch:]))
			if (prev < 0) != (v < 0) {
				cross++
			}
			prev = v
		}
		if got := float64(cross) / 2; got < want*0.97 || got > want*1.03 {
			t.Errorf("channel %d: %.0f Hz, want %.0f", ch, got, want)
		} else {
			t.Logf("channel %d: %.0f Hz", ch, got)
		}
	}
}

// TestAdvConcurrentAudioAndClose: on the relay, two goroutines serve
// samples with ServeAudioBlock while a third serves NV12 frames and the
// test closes the Server at once (five rounds, each with a new Server):
// every call returns (nil or an error, never a hang or a panic) and
// Close returns within its bound.
func TestAdvConcurrentAudioAndClose(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	for round := 0; round < 5; round++ {
		s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360), mpegserver.Size(320, 240),
			mpegserver.FrameAhead(2), mpegserver.Audio(mpegserver.Samples(48000, 1)), mpegserver.CloseTimeout(5*time.Second))
		path := fmt.Sprintf("r%d", round)
		if err := s.Setup(relay.URL(path)); err != nil {
			t.Fatal(err)
		}
		done := make(chan string, 3)
		for g := 0; g < 2; g++ {
			go func() {
				pcm := make([]byte, 800*2)
				for i := 0; ; i++ {
					if err := s.ServeAudioBlock(pcm); err != nil {
						done <- fmt.Sprintf("audio after %d: %v", i, err)
						return
					}
				}
			}()
		}
		go func() {
			for i := 0; ; i++ {
				if err := s.ServeFrameBlock(advFrame(mpegserver.NV12, 640, 360, i)); err != nil {
					done <- fmt.Sprintf("frames after %d: %v", i, err)
					return
				}
			}
		}()
		if err := relay.Wait(testutil.Context(t, 10*time.Second), path, func(i rtspserverInfo) bool {
			return i.Frames >= uint64(3*round+1) && i.AudioPackets > 0
		}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		advBound(t, "Close", 15*time.Second, func() {
			if err := s.Close(); err != nil {
				t.Errorf("round %d: Close: %v", round, err)
			}
		})
		deadline := time.After(10 * time.Second)
		for k := 0; k < 3; k++ {
			select {
			case msg := <-done:
				if !strings.Contains(msg, mpegserver.ErrClosed.Error()) && !strings.Contains(msg, mpegserver.ErrNotSetUp.Error()) {
					t.Errorf("round %d: %s (want ErrClosed or ErrNotSetUp)", round, msg)
				}
				if round == 0 {
					t.Logf("%s", msg)
				}
			case <-deadline:
				t.Fatalf("round %d: a Serve call still blocked 10 s after Close", round)
			}
		}
	}
}

// TestAdvUnusualImageTypes: *image.YCbCr with the subsample ratios
// ServeImage does not read directly (4:4:0, 4:1:1, 4:1:0), *image.NYCbCrA,
// *image.NRGBA (opaque) and *image.RGBA64, at 642×362 into an NV12 stream
// scaled to 320×240 with audio: each decodes to the bands drawn in it.
func TestAdvUnusualImageTypes(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	const sw, sh, ow, oh = 642, 362, 320, 240
	nb := len(advBandsRGB)
	rgbAt := func(x int) color.RGBA {
		c := advBandsRGB[x*nb/sw]
		return color.RGBA{uint8(c[0]), uint8(c[1]), uint8(c[2]), 255}
	}
	r := image.Rect(0, 0, sw, sh)
	ycc := func(ratio image.YCbCrSubsampleRatio) image.Image {
		m := image.NewYCbCr(r, ratio)
		for y := 0; y < sh; y++ {
			for x := 0; x < sw; x++ {
				c := rgbAt(x)
				Y, Cb, Cr := color.RGBToYCbCr(c.R, c.G, c.B)
				m.Y[m.YOffset(x, y)] = Y
				m.Cb[m.COffset(x, y)] = Cb
				m.Cr[m.COffset(x, y)] = Cr
			}
		}
		return m
	}
	nycca := image.NewNYCbCrA(r, image.YCbCrSubsampleRatio420)
	copyY := ycc(image.YCbCrSubsampleRatio420).(*image.YCbCr)
	nycca.YCbCr = *copyY
	for k := range nycca.A {
		nycca.A[k] = 255
	}
	nrgba, rgba64 := image.NewNRGBA(r), image.NewRGBA64(r)
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			nrgba.Set(x, y, rgbAt(x))
			rgba64.Set(x, y, rgbAt(x))
		}
	}
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"ycbcr440", ycc(image.YCbCrSubsampleRatio440)}, {"ycbcr411", ycc(image.YCbCrSubsampleRatio411)},
		{"ycbcr410", ycc(image.YCbCrSubsampleRatio410)}, {"nycbcra", nycca}, {"nrgba", nrgba}, {"rgba64", rgba64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "img.mkv")
			s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(sw, sh), mpegserver.Size(ow, oh),
				mpegserver.BitRate(20000), mpegserver.GOPSize(5), mpegserver.Audio(mpegserver.Silence()))
			if !advEncode(t, s, path, 3, func(int) error { return s.ServeImageBlock(tc.img) }) {
				return
			}
			raw, rng := advDecode(t, path, ow, oh)
			advCheckBands(t, raw, ow, oh, nb, []int{oh / 2}, 10, "range "+rng, func(b int) [3]int { return advBandsRGB[b] })
		})
	}
}

// TestAdvRefusedCombinations: settings that cannot work are refused
// clearly, at SetParameter or at Setup, and never panic: an unknown
// PixelFormat; a stride kept from a narrower source once the source
// grows; a Record to the same file as the stream; a raw .h264 record
// beside an audio track; Setup on a Server already set up.
func TestAdvRefusedCombinations(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newServer(t)
	if err := s.SetParameter(mpegserver.SourceFormat(mpegserver.PixelFormat(99))); !errors.Is(err, mpegserver.ErrBadParameter) {
		t.Errorf("PixelFormat(99): %v", err)
	}
	if err := s.SetParameter(mpegserver.SourceFormat(mpegserver.PixelFormat(-1))); !errors.Is(err, mpegserver.ErrBadParameter) {
		t.Errorf("PixelFormat(-1): %v", err)
	}
	if err := s.SetParameter(mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360), mpegserver.SourceStride(704)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetParameter(mpegserver.SourceSize(1280, 720)); !errors.Is(err, mpegserver.ErrBadParameter) {
		t.Errorf("stride 704 kept for a 1280-wide NV12 source: %v, want ErrBadParameter", err)
	}
	if w, h := s.Config().SourceSize(); w != 640 || h != 360 {
		t.Errorf("refused SetParameter changed the source size to %dx%d", w, h)
	}
	if err := s.SetParameter(mpegserver.SourceFormat(mpegserver.RGB24)); !errors.Is(err, mpegserver.ErrBadParameter) {
		t.Errorf("stride 704 kept for a 640-wide RGB24 source (1920 bytes a row): %v, want ErrBadParameter", err)
	}

	same := filepath.Join(dir, "same.mkv")
	s2 := newServer(t, mpegserver.Audio(mpegserver.Silence()), mpegserver.SourceFormat(mpegserver.YUYV422), mpegserver.Record(same))
	advBound(t, "same file", 20*time.Second, func() {
		if err := s2.Setup(same); !errors.Is(err, mpegserver.ErrBadParameter) && !errors.Is(err, mpegserver.ErrUnsupportedAddress) {
			t.Errorf("Record to the stream's own file: %v", err)
		}
	})

	relay := testutil.StartRelay(t)
	raw := filepath.Join(dir, "rec.h264")
	s3 := newServer(t, mpegserver.Size(320, 240), mpegserver.Audio(mpegserver.Silence()), mpegserver.Record(raw))
	advBound(t, "raw record", 20*time.Second, func() {
		err := s3.Setup(relay.URL("raw"))
		t.Logf("raw .h264 record beside audio: %v", err)
		if err == nil {
			// Taken: then the record must be the video alone, with every frame.
			for i := 0; i < 10; i++ {
				if err := s3.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
					t.Errorf("frame %d: %v", i, err)
					return
				}
			}
			if err := s3.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		} else if !errors.Is(err, mpegserver.ErrUnsupportedAddress) && !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("raw record: %v", err)
		}
	})
	if _, err := os.Stat(raw); err == nil && !t.Failed() {
		if got, _ := ffprobeFrames(t, raw); got != "h264,320,240,10" {
			t.Errorf("raw record: %s", got)
		}
	}

	// Setup on a Server already streaming closes that stream first (its
	// documentation): the first file is finished, with both tracks, and
	// the second has the layout SetParameter gave in between.
	s4 := newServer(t, mpegserver.Size(320, 240), mpegserver.Audio(mpegserver.Silence()), mpegserver.SourceFormat(mpegserver.NV12),
		mpegserver.SourceSize(640, 360))
	one, two := filepath.Join(dir, "one.mp4"), filepath.Join(dir, "two.mp4")
	advBound(t, "Setup twice", 30*time.Second, func() {
		if err := s4.Setup(one); err != nil {
			t.Errorf("Setup: %v", err)
			return
		}
		for i := 0; i < 15; i++ {
			if err := s4.ServeFrameBlock(advFrame(mpegserver.NV12, 640, 360, i)); err != nil {
				t.Errorf("frame %d: %v", i, err)
				return
			}
		}
		if err := s4.SetParameter(mpegserver.SourceFormat(mpegserver.YUYV422), mpegserver.SourceSize(480, 270)); err != nil {
			t.Errorf("SetParameter: %v", err)
		}
		if err := s4.Setup(two); err != nil {
			t.Errorf("second Setup without Close: %v", err)
			return
		}
		for i := 0; i < 12; i++ {
			if err := s4.ServeFrameBlock(advFrame(mpegserver.YUYV422, 480, 270, i)); err != nil {
				t.Errorf("YUYV frame %d after the second Setup: %v", i, err)
				return
			}
		}
		if err := s4.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if t.Failed() {
		return
	}
	if got, _ := ffprobeFrames(t, one); got != "h264,320,240,15" {
		t.Errorf("first file (closed by the second Setup): %s", got)
	}
	wantTracks(t, "first file", one, "aac", 0.5)
	if got, _ := ffprobeFrames(t, two); got != "h264,320,240,12" {
		t.Errorf("second file: %s", got)
	}
	wantTracks(t, "second file", two, "aac", 0.4)
}

// TestAdvRelayReaderCountsWithAudioAndRecord: NV12 1280×720 scaled down
// to 320×240, stereo samples served in step, to the embedded relay with
// a .mkv record beside: a reader joining after frame 0 sees exactly the
// other n-1 frames at 320×240 while audio packets reach the relay; the
// record has all n frames and the track.
func TestAdvRelayReaderCountsWithAudioAndRecord(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	rec := filepath.Join(t.TempDir(), "rec.mkv")
	const sw, sh, n = 1280, 720, 60
	s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(sw, sh), mpegserver.Size(320, 240),
		mpegserver.GOPSize(10), mpegserver.Audio(mpegserver.Samples(48000, 2)), mpegserver.Record(rec))
	pcm := make([]byte, 1600*4)
	r := publishAndRead(t, relay, s, "cam", advFrame(mpegserver.NV12, sw, sh, 0))
	advBound(t, "stream", 60*time.Second, func() {
		for i := 1; i < n; i++ {
			if err := s.ServeAudioBlock(pcm); err != nil {
				t.Errorf("audio %d: %v", i, err)
				return
			}
			if err := s.ServeFrameBlock(advFrame(mpegserver.NV12, sw, sh, i)); err != nil {
				t.Errorf("frame %d: %v", i, err)
				return
			}
		}
		if err := r.WaitFrames(testutil.Context(t, 15*time.Second), n-1); err != nil {
			t.Errorf("reader: %v (%d AUs)", err, len(r.AUs()))
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := r.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
			t.Errorf("reader end: %v", err)
		}
	})
	if t.Failed() {
		return
	}
	info := relay.Info("cam")
	w, h, err := r.Size()
	t.Logf("reader: %d AUs, %dx%d (%v); relay %+v", len(r.AUs()), w, h, err, info)
	if len(r.AUs()) != n-1 || w != 320 || h != 240 {
		t.Errorf("reader: %d AUs at %dx%d, want %d at 320x240", len(r.AUs()), w, h, n-1)
	}
	if info.AudioPackets < 40 { // 2 s of AAC: about 94 packets of 1024 samples
		t.Errorf("relay got %d audio packets for 2 s", info.AudioPackets)
	}
	if got, _ := ffprobeFrames(t, rec); got != fmt.Sprintf("h264,320,240,%d", n) {
		t.Errorf("record: %s", got)
	}
	wantTracks(t, "record", rec, "aac", float64(n)/30)
}

// TestAdvNetworkOutputsWithCameraFormats: YUYV422 640×480 scaled to
// 320×240 with 44.1 kHz samples to nginx-rtmp (its FLV recording), and
// NV12 scaled with a silent track to HLS: both tracks and every frame.
func TestAdvNetworkOutputsWithCameraFormats(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	const n = 60
	t.Run("RTMP", func(t *testing.T) {
		srv := testutil.StartRTMP(t)
		s := newServer(t, mpegserver.SourceFormat(mpegserver.YUYV422), mpegserver.SourceSize(640, 480), mpegserver.Size(320, 240),
			mpegserver.GOPSize(15), mpegserver.Audio(mpegserver.Samples(44100, 2)))
		if !advEncode(t, s, srv.URL+"/cam", n, func(i int) error {
			if i == 0 {
				if err := s.ServeAudioBlock(make([]byte, 44100*2*4)); err != nil { // 2 s
					return fmt.Errorf("audio: %w", err)
				}
			}
			return s.ServeFrameBlock(advFrame(mpegserver.YUYV422, 640, 480, i))
		}) {
			return
		}
		srv.WaitLog(t, "deleteStream", 2, 10*time.Second)
		flv := filepath.Join(srv.Dir, "cam.flv")
		if got, _ := ffprobeFrames(t, flv); got != fmt.Sprintf("h264,320,240,%d", n) {
			t.Errorf("flv: %s", got)
		}
		wantTracks(t, "flv", flv, "aac", float64(n)/30)
	})
	t.Run("HLS", func(t *testing.T) {
		pl := filepath.Join(t.TempDir(), "live.m3u8")
		s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360), mpegserver.Size(320, 240),
			mpegserver.GOPSize(30), mpegserver.Audio(mpegserver.Silence()), mpegserver.PlaylistLength(100))
		if !advEncode(t, s, pl, n, func(i int) error { return s.ServeFrameBlock(advFrame(mpegserver.NV12, 640, 360, i)) }) {
			return
		}
		tr := probeTracks(t, pl)
		t.Logf("hls: %+v", tr)
		if tr.video != "h264" || tr.audio != "aac" {
			t.Errorf("hls tracks %+v", tr)
		}
		out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
			"stream=width,height,nb_read_frames", "-of", "csv=p=0", pl).Output()
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), fmt.Sprintf("320,240,%d", n)) {
			t.Errorf("hls video: %q %v, want %d frames at 320x240", out, err, n)
		}
	})
}

// TestAdvAVSyncScaledCameraRecordBesideRelay: NV12 1280×720 frames scaled
// to 320×240 (libyuv's work on the caller's goroutine), each followed by
// its samples, to the embedded relay with a .mkv record beside: in the
// record, every white frame's tone sounds with it (within avBound), and
// the track is as long as the video. Once straight through, once with
// the producer pausing 500 ms after frame 0, before its samples (as a
// program does that waits for a viewer to join after the first frame).
func TestAdvAVSyncScaledCameraRecordBesideRelay(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	for _, pause := range []bool{false, true} {
		t.Run(map[bool]string{false: "straight", true: "pause after frame 0"}[pause], func(t *testing.T) { advAVSync(t, pause) })
	}
}

func advAVSync(t *testing.T, pause bool) {
	relay := testutil.StartRelay(t)
	rec := filepath.Join(t.TempDir(), "rec.mkv")
	const sw, sh, n = 1280, 720, 160
	src := newAVSource(320, 240) // its audio; the frames are NV12 here
	dark, white := make([]byte, mpegserver.NV12.FrameSize(sw, sh)), make([]byte, mpegserver.NV12.FrameSize(sw, sh))
	for k := range dark {
		dark[k], white[k] = 128, 128
		if k < sw*sh {
			dark[k], white[k] = 16, 235
		}
	}
	s := newServer(t, append(avOptions(320, 240), mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(sw, sh),
		mpegserver.Record(rec))...)
	advBound(t, "stream", 60*time.Second, func() {
		if err := s.Setup(relay.URL("av")); err != nil {
			t.Errorf("Setup: %v", err)
			return
		}
		for i := 0; i < n; i++ {
			f := dark
			if src.marked(i) {
				f = white
			}
			if err := s.ServeFrameBlock(f); err != nil {
				t.Errorf("frame %d: %v", i, err)
				return
			}
			if i == 0 && pause {
				<-time.After(500 * time.Millisecond) // the stimulus: the producer stalls
			}
			if err := s.ServeAudioBlock(src.audio(i)); err != nil {
				t.Errorf("audio %d: %v", i, err)
				return
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if t.Failed() {
		return
	}
	st := s.Stats()
	t.Logf("audio served %v, filled %v; relay %+v", st.AudioServed, st.AudioFilled, relay.Info("av"))
	offs, markers := avOffsets(t, rec)
	if !pause {
		checkOffsets(t, "record beside the relay", offs, markers, 4)
	} else {
		// After the pause the tones sound one frame late (34 ms seen in
		// each run, 1 ms without the pause), inside avBound but near it:
		// held here to two frames, and to one offset for every marker.
		t.Logf("after a pause: %s (%d video markers)", fmtOffsets(offs), markers)
		if markers < 4 || len(offs) != markers {
			t.Errorf("%d video markers, %d with their tone", markers, len(offs))
		}
		if len(offs) > 0 {
			if lo, hi := slices.Min(offs), slices.Max(offs); lo < -67*time.Millisecond || hi > 67*time.Millisecond || hi-lo > avBound {
				t.Errorf("A/V offsets after a pause %s: want within two frames and one spread of %v", fmtOffsets(offs), avBound)
			}
		}
	}
	// The video's end on the file's time line (a pause moves the frames
	// after it later: the track is then longer than n frames' time).
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
		"-of", "csv=p=0", rec).Output()
	if err != nil {
		t.Fatal(err)
	}
	pts := strings.Fields(string(out))
	if len(pts) != n {
		t.Errorf("record: %d frames, want %d", len(pts), n)
	}
	first, _ := strconv.ParseFloat(strings.Trim(pts[0], ","), 64)
	last, _ := strconv.ParseFloat(strings.Trim(pts[len(pts)-1], ","), 64)
	videoEnd := last + 1.0/30 - first
	tr := probeTracks(t, rec)
	t.Logf("record: video from %.3f to %.3f s (%.3f s), audio %.3f s", first, last+1.0/30, videoEnd, tr.audioDur)
	if tr.audio != "aac" || tr.audioDur < videoEnd-0.1 || tr.audioDur > videoEnd+0.1 {
		t.Errorf("record: %.3f s of %q audio for %.3f s of video", tr.audioDur, tr.audio, videoEnd)
	}
}

// TestAdvCloseOnStalledLinkWithAudio: NV12 frames scaled from 1280×720
// and samples, each from its own goroutine, to the relay through a proxy
// that then stalls (sockets open, nothing forwarded). With the stall
// timeout long, the blocking calls end up waiting (or are still
// filling buffers 6 s on); CloseContext with a
// 2 s deadline returns within its bound with an error wrapping the
// deadline, and both blocked calls return.
func TestAdvCloseOnStalledLinkWithAudio(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	proxy := testutil.StartProxy(t, relay.Addr())
	s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(1280, 720), mpegserver.Size(640, 360),
		mpegserver.BitRate(4000), mpegserver.Audio(mpegserver.Samples(48000, 2)), mpegserver.StallTimeout(60*time.Second),
		mpegserver.CloseTimeout(30*time.Second))
	if err := s.Setup("rtsp://" + proxy.Addr() + "/st"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var frames, pieces atomic.Int64
	done := make(chan string, 2)
	go func() {
		for i := 0; ; i++ {
			if err := s.ServeFrameBlock(advFrame(mpegserver.NV12, 1280, 720, i)); err != nil {
				done <- "frames: " + err.Error()
				return
			}
			frames.Add(1)
		}
	}()
	go func() {
		pcm := make([]byte, 1600*4)
		for {
			if err := s.ServeAudioBlock(pcm); err != nil {
				done <- "audio: " + err.Error()
				return
			}
			pieces.Add(1)
		}
	}()
	if err := relay.Wait(ctx, "st", func(i rtspserverInfo) bool { return i.Frames >= 15 && i.AudioPackets > 0 }); err != nil {
		t.Fatal(err)
	}
	proxy.Stall(true, true)
	// Wait until both producers are held (their counts stop moving), or
	// 6 s at most: the relay, hearing nothing, drops the session after
	// its 10 s read timeout.
	var f0, a0 int64 = -1, -1
	cap6 := time.After(6 * time.Second)
	for still := 0; still < 2; {
		select {
		case <-cap6:
			still = 2
			continue
		case msg := <-done:
			t.Fatalf("a call failed before Close: %s", msg)
		case <-time.After(500 * time.Millisecond):
		}
		f, a := frames.Load(), pieces.Load()
		if f == f0 && a == a0 {
			still++
		} else {
			still = 0
		}
		f0, a0 = f, a
	}
	t.Logf("held after %d frames, %d pieces of audio", f0, a0)
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer ccancel()
	start := time.Now()
	var err error
	advBound(t, "CloseContext", 15*time.Second, func() { err = s.CloseContext(cctx) })
	took := time.Since(start)
	t.Logf("CloseContext: %v after %v", err, took.Round(time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CloseContext on a stalled link: %v, want an error wrapping the deadline", err)
	}
	if took > 5*time.Second {
		t.Errorf("CloseContext took %v with a 2 s deadline", took)
	}
	for k := 0; k < 2; k++ {
		select {
		case msg := <-done:
			t.Logf("%s", msg)
		case <-time.After(10 * time.Second):
			t.Fatal("a Serve call still blocked 10 s after CloseContext returned")
		}
	}
}

// TestAdvParametersRoundTrip: a Server with a camera layout (NV12, a
// stride, a source size other than the output): Parameters(), through
// JSON as a configuration file keeps it, goes back in with SetParameters
// unchanged; sourceFormat by name in any case; a wrong name or type is
// refused and changes nothing. (The audio track is not a parameter:
// Parameters' doc says to give it again as an option.)
func TestAdvParametersRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(641, 361), mpegserver.SourceStride(704),
		mpegserver.Size(320, 240), mpegserver.Audio(mpegserver.Samples(44100, 1)))
	before := s.Config()
	p := s.Parameters()
	t.Logf("parameters: %v", p)
	if p[mpegserver.KeySourceFormat] == nil || p[mpegserver.KeySourceStride] == nil {
		t.Errorf("Parameters lacks the source layout: %v", p)
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	s2 := newServer(t)
	if err := s2.SetParameters(back); err != nil {
		t.Fatalf("SetParameters(Parameters() through JSON): %v", err)
	}
	after := s2.Config()
	if after.SourceFormat != before.SourceFormat || after.SourceStride != before.SourceStride ||
		after.WidthSrc != before.WidthSrc || after.HeightSrc != before.HeightSrc || after.FrameSize() != before.FrameSize() {
		t.Errorf("round trip: %v %d %dx%d (%d bytes), want %v %d %dx%d (%d bytes)", after.SourceFormat, after.SourceStride,
			after.WidthSrc, after.HeightSrc, after.FrameSize(), before.SourceFormat, before.SourceStride, before.WidthSrc,
			before.HeightSrc, before.FrameSize())
	}
	if err := s2.SetParameters(map[string]any{mpegserver.KeySourceFormat: "YUYV422", mpegserver.KeySourceStride: 0}); err != nil {
		t.Errorf("sourceFormat YUYV422: %v", err)
	} else if c := s2.Config(); c.SourceFormat != mpegserver.YUYV422 {
		t.Errorf("sourceFormat YUYV422 gave %v", c.SourceFormat)
	}
	for _, bad := range []map[string]any{
		{mpegserver.KeySourceFormat: "nv21"},
		{mpegserver.KeySourceFormat: 7},
		{mpegserver.KeySourceStride: "704"},
		{mpegserver.KeySourceStride: -2},
		{mpegserver.KeySourceFormat: "rgb24", mpegserver.KeySourceStride: 700}, // 641 × 3 a row
	} {
		c0 := s2.Config()
		if err := s2.SetParameters(bad); err == nil {
			t.Errorf("SetParameters(%v) taken: %v %d", bad, s2.Config().SourceFormat, s2.Config().SourceStride)
		} else if c := s2.Config(); c.SourceFormat != c0.SourceFormat || c.SourceStride != c0.SourceStride {
			t.Errorf("refused SetParameters(%v) changed the layout", bad)
		}
	}
}

// TestAdvImageIgnoresSourceStride: with SourceFormat NV12 and a
// SourceStride for the camera's padded rows, ServeImageBlock of an
// *image.RGBA (its own stride) is read at the image's stride: the bands
// decode to their colours.
func TestAdvImageIgnoresSourceStride(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	const sw, sh, ow, oh = 640, 360, 320, 240
	nb := len(advBandsRGB)
	m := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			c := advBandsRGB[x*nb/sw]
			m.Set(x, y, color.RGBA{uint8(c[0]), uint8(c[1]), uint8(c[2]), 255})
		}
	}
	path := filepath.Join(t.TempDir(), "img.mkv")
	s := newServer(t, mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(sw, sh), mpegserver.SourceStride(704),
		mpegserver.Size(ow, oh), mpegserver.BitRate(20000), mpegserver.Audio(mpegserver.Silence()))
	if !advEncode(t, s, path, 3, func(int) error {
		if err := s.ServeImageBlock(m); err != nil {
			return fmt.Errorf("image: %w", err)
		}
		if err := s.ServeFrameBlock(advBandFrame(mpegserver.NV12, sw, sh, 704)); err != nil {
			return fmt.Errorf("NV12 frame beside: %w", err)
		}
		return nil
	}) {
		return
	}
	raw, rng := advDecode(t, path, ow, oh)
	advCheckBands(t, raw, ow, oh, nb, []int{2, oh / 2, oh - 3}, 8, "range "+rng, func(b int) [3]int { return advBandsRGB[b] })
}

// TestAdvOddOutputSize: an output of 321×241 from NV12 640×360, with
// audio: refused at SetParameter or Setup with ErrBadParameter, or taken
// and the file is that size (or the even size below) with every frame.
func TestAdvOddOutputSize(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	file := filepath.Join(t.TempDir(), "odd.mp4")
	s := mpegserver.New()
	t.Cleanup(func() { _ = s.Close() })
	if err := s.SetParameter(mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360), mpegserver.Size(321, 241),
		mpegserver.Audio(mpegserver.Silence())); err != nil {
		if !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("SetParameter: %v", err)
		}
		t.Logf("refused at SetParameter: %v", err)
		return
	}
	var got string
	advBound(t, "encode", 60*time.Second, func() {
		if err := s.Setup(file); err != nil {
			if !errors.Is(err, mpegserver.ErrBadParameter) {
				t.Errorf("Setup: %v, want nil or ErrBadParameter", err)
			}
			t.Logf("refused at Setup: %v", err)
			return
		}
		for i := 0; i < 10; i++ {
			if err := s.ServeFrameBlock(advFrame(mpegserver.NV12, 640, 360, i)); err != nil {
				t.Errorf("frame %d: %v", i, err)
				return
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		got = "done"
	})
	if got == "done" {
		summary, _ := ffprobeFrames(t, file)
		t.Logf("taken: %s", summary)
		if summary != "h264,321,241,10" && summary != "h264,320,240,10" {
			t.Errorf("file: %s", summary)
		}
	}
}

// TestAdvCommandPipesCameraFormats: the command as a user runs it,
// ffmpeg's raw NV12 or YUYV422 640×360 on standard input, scaled to
// 320×240, a silent track, a .mp4 and a .mkv record; the input ends
// with half a frame (ffmpeg killed mid-write). The run ends by itself
// with status 1 naming the partial frame, and both files hold every
// whole frame and the track.
func TestAdvCommandPipesCameraFormats(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	testutil.NeedTool(t, "ffprobe")
	dir := t.TempDir()
	bin := filepath.Join(dir, "mpegserver")
	bctx, bcancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer bcancel()
	if out, err := exec.CommandContext(bctx, "go", "build", "-o", bin, "./cmd/mpegserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const n = 45
	for _, pf := range []string{"nv12", "yuyv422"} {
		t.Run(pf, func(t *testing.T) {
			f, _ := mpegserver.ParsePixelFormat(pf)
			raw, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-frames:v",
				fmt.Sprint(n), "-pix_fmt", pf, "-f", "rawvideo", "-").Output()
			if err != nil || len(raw) != n*f.FrameSize(640, 360) {
				t.Fatalf("ffmpeg: %v, %d bytes, want %d", err, len(raw), n*f.FrameSize(640, 360))
			}
			raw = append(raw, raw[:f.FrameSize(640, 360)/2]...)
			out, rec := filepath.Join(dir, pf+".mp4"), filepath.Join(dir, pf+"-rec.mkv")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "push", "--input", "-", "--pix-fmt", pf, "--src-width", "640", "--src-height", "360",
				"--width", "320", "--height", "240", "--audio", "silent", "--record", rec, "--quiet", out)
			cmd.Stdin = bytes.NewReader(raw)
			msg, err := cmd.CombinedOutput()
			t.Logf("push: %v\n%s", err, msg)
			if ctx.Err() != nil {
				t.Fatal("the command did not end within 60 s of its input ending")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(msg), "input ended inside a frame") {
				t.Errorf("push: %v; want exit status 1 naming the partial frame", err)
			}
			for _, file := range []string{out, rec} {
				if got, _ := ffprobeFrames(t, file); got != fmt.Sprintf("h264,320,240,%d", n) {
					t.Errorf("%s: %s", filepath.Base(file), got)
				}
				wantTracks(t, filepath.Base(file), file, "aac", float64(n)/30)
			}
		})
	}
}

// TestAdvWebMRecordBesideRelay: VP8 from NV12 frames scaled from
// 640×360, samples served, to the relay with a .webm record beside: the
// record's track is Opus (WebM's), the relay gets video and audio
// packets; or Setup refuses the pair clearly (ErrUnsupportedAddress or
// ErrUnknownCodec or ErrBadParameter).
func TestAdvWebMRecordBesideRelay(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	rec := filepath.Join(t.TempDir(), "rec.webm")
	const n = 45
	s := newServer(t, mpegserver.Codec("libvpx"), mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceSize(640, 360),
		mpegserver.Size(320, 240), mpegserver.Audio(mpegserver.Samples(48000, 2)), mpegserver.Record(rec))
	refused := false
	advBound(t, "stream", 60*time.Second, func() {
		if err := s.Setup(relay.URL("vp8")); err != nil {
			refused = true
			t.Logf("refused: %v", err)
			if !errors.Is(err, mpegserver.ErrUnsupportedAddress) && !errors.Is(err, mpegserver.ErrUnknownCodec) && !errors.Is(err, mpegserver.ErrBadParameter) {
				t.Errorf("Setup: %v", err)
			}
			return
		}
		pcm := make([]byte, 1600*4)
		for i := 0; i < n; i++ {
			if err := s.ServeAudioBlock(pcm); err != nil {
				t.Errorf("audio %d: %v", i, err)
				return
			}
			if err := s.ServeFrameBlock(advFrame(mpegserver.NV12, 640, 360, i)); err != nil {
				t.Errorf("frame %d: %v", i, err)
				return
			}
		}
		if err := relay.Wait(testutil.Context(t, 10*time.Second), "vp8", func(i rtspserverInfo) bool {
			return i.Frames >= n-5 && i.AudioPackets > 0
		}); err != nil {
			t.Errorf("relay: %v %+v", err, relay.Info("vp8"))
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if refused || t.Failed() {
		return
	}
	t.Logf("relay %+v", relay.Info("vp8"))
	if got, _ := ffprobeFrames(t, rec); got != fmt.Sprintf("vp8,320,240,%d", n) {
		t.Errorf("record: %s", got)
	}
	wantTracks(t, "record", rec, "opus", float64(n)/30)
}
