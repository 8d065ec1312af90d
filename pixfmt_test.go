package mpegserver_test

import (
	"errors"
	"fmt"
	"log"
	"path/filepath"
	"testing"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// TestPixelFormatNames: every format reads back by its ffmpeg name, and a
// frame's size is ffmpeg's rawvideo size (4:2:0 chroma rounded up).
func TestPixelFormatNames(t *testing.T) {
	want := map[string]int{
		"rgb24": 321 * 241 * 3, "bgr24": 321 * 241 * 3, "rgba": 321 * 241 * 4, "bgra": 321 * 241 * 4, "argb": 321 * 241 * 4,
		"gray": 321 * 241, "yuv420p": 321*241 + 2*161*121, "nv12": 321*241 + 2*161*121, "yuyv422": 4 * 161 * 241,
		"yuvj420p": 321*241 + 2*161*121,
	}
	names := mpegserver.PixelFormatNames()
	if len(names) != len(want) {
		t.Errorf("formats %v, want %d", names, len(want))
	}
	for _, name := range names {
		f, err := mpegserver.ParsePixelFormat(name)
		if err != nil || f.String() != name {
			t.Errorf("%s: %v %v", name, f, err)
		}
		if got := f.FrameSize(321, 241); got != want[name] {
			t.Errorf("%s: a 321x241 frame is %d bytes, want %d", name, got, want[name])
		}
	}
	if _, err := mpegserver.ParsePixelFormat("yuv444p"); !errors.Is(err, mpegserver.ErrBadParameter) {
		t.Errorf("yuv444p: %v", err)
	}
	if c := mpegserver.DefaultConfig(); c.SourceFormat != mpegserver.RGB24 || c.FrameSize() != 640*360*3 {
		t.Errorf("default source format %v, frame %d bytes", c.SourceFormat, c.FrameSize())
	}
}

// TestSourceFormatByName: the map with the original's keys takes the
// format by name (or as a PixelFormat) and gives it back by name, so
// SetParameters(other.Parameters()) carries it across; an unknown name
// changes nothing.
func TestSourceFormatByName(t *testing.T) {
	s := mpegserver.New()
	if err := s.SetParameters(map[string]any{"sourceFormat": "nv12", "sourceStride": 704}); err != nil {
		t.Fatal(err)
	}
	if c := s.Config(); c.SourceFormat != mpegserver.NV12 || c.SourceStride != 704 {
		t.Errorf("config %v %d", c.SourceFormat, c.SourceStride)
	}
	other := mpegserver.New()
	if err := other.SetParameters(s.Parameters()); err != nil || other.Config().SourceFormat != mpegserver.NV12 {
		t.Errorf("round trip: %v %v", other.Config().SourceFormat, err)
	}
	if err := other.SetParameters(map[string]any{"sourceFormat": mpegserver.YUYV422, "sourceStride": 0}); err != nil || other.Config().SourceFormat != mpegserver.YUYV422 {
		t.Errorf("as a PixelFormat: %v %v", other.Config().SourceFormat, err)
	}
	for _, bad := range []any{"yuv444p", 3} {
		if err := other.SetParameters(map[string]any{"sourceFormat": bad}); !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	if f, _ := other.Parameter("sourceFormat"); f != "yuyv422" {
		t.Errorf("after refusals: %v", f)
	}
}

// TestSourceStrideChecks: a stride shorter than a row, or an unknown
// format, is a bad parameter; the frame length follows the stride.
func TestSourceStrideChecks(t *testing.T) {
	for _, opts := range [][]mpegserver.Option{
		{mpegserver.SourceStride(-1)},
		{mpegserver.SourceStride(640*3 - 1)},
		{mpegserver.SourceFormat(mpegserver.YUV420P), mpegserver.SourceSize(321, 241), mpegserver.SourceStride(321)}, // chroma rows 160 apart, 161 wide
		{mpegserver.SourceFormat(mpegserver.PixelFormat(99))},
	} {
		s := mpegserver.New()
		if err := s.SetParameter(opts...); !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("%v: %v", s.Config(), err)
		}
	}
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.SourceFormat(mpegserver.NV12), mpegserver.SourceStride(704)); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Config().FrameSize(), 704*360+704*180; got != want {
		t.Errorf("NV12 640x360 with rows 704 bytes apart: %d bytes, want %d", got, want)
	}
}

// padRows copies a tightly packed plane of rows × rowBytes into rows
// stride bytes apart, as a camera driver pads them.
func padRows(plane []byte, rows, rowBytes, stride int) []byte {
	out := make([]byte, rows*stride)
	for r := 0; r < rows; r++ {
		copy(out[r*stride:], plane[r*rowBytes:(r+1)*rowBytes])
	}
	return out
}

// TestCameraFramesWithStride: frames whose rows are padded (V4L2's
// bytesperline beyond the pixels) are read at their stride: the colours
// decoded are the tight frame's. A frame of the wrong length is refused
// with ErrFrameSize and the stream goes on.
func TestCameraFramesWithStride(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	testutil.NeedTool(t, "ffprobe")
	const w, h, stride = 320, 240, 384
	rgba := bandImage(w, h)
	for _, tc := range []struct {
		f      mpegserver.PixelFormat
		planes [][3]int // rows, bytes a row, stride of each plane
	}{
		{mpegserver.RGB24, [][3]int{{h, 3 * w, 3 * stride}}},
		{mpegserver.YUV420P, [][3]int{{h, w, stride}, {h / 2, w / 2, stride / 2}, {h / 2, w / 2, stride / 2}}},
		{mpegserver.NV12, [][3]int{{h, w, stride}, {h / 2, w, stride}}},
		{mpegserver.YUYV422, [][3]int{{h, 2 * w, 2 * stride}}},
	} {
		t.Run(tc.f.String(), func(t *testing.T) {
			tight := ffconvert(t, rgba.Pix, "rgba", tc.f.String(), w, h)
			var padded []byte
			off := 0
			for _, p := range tc.planes {
				padded = append(padded, padRows(tight[off:], p[0], p[1], p[2])...)
				off += p[0] * p[1]
			}
			path := filepath.Join(t.TempDir(), "stride.mkv")
			s := newServer(t, mpegserver.Size(w, h), mpegserver.SourceFormat(tc.f), mpegserver.SourceStride(tc.planes[0][2]),
				mpegserver.BitRate(20000), mpegserver.GOPSize(5))
			if got := s.Config().FrameSize(); got != len(padded) {
				t.Fatalf("FrameSize %d, padded frame %d", got, len(padded))
			}
			if err := s.Setup(path); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				if err := s.ServeFrameBlock(padded); err != nil {
					t.Fatal(err)
				}
				// Tight, short or long: not a frame at this stride.
				for _, bad := range [][]byte{tight, padded[:len(padded)-tc.planes[len(tc.planes)-1][2]], append(padded, 0)} {
					if err := s.ServeFrame(bad); !errors.Is(err, mpegserver.ErrFrameSize) {
						t.Errorf("%d bytes: %v", len(bad), err)
					}
				}
			}
			// The last row may stop where its pixels do.
			last := tc.planes[len(tc.planes)-1]
			if err := s.ServeFrameBlock(padded[:len(padded)-(last[2]-last[1])]); err != nil {
				t.Errorf("frame without the last row's padding: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			checkBands(t, path, w, h, "tv", ffconvert(t, tight, tc.f.String(), "rgb24", w, h), w, h)
		})
	}
}

// A camera's own frames, served as they come: here NV12 (a V4L2 camera's,
// a Jetson's or a phone's buffer). 4:2:0 frames go to the encoder with one
// copy and no conversion; SourceStride says how far apart padded rows are.
func ExampleSourceFormat() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(640, 480), mpegserver.SourceFormat(mpegserver.NV12)); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("camera")); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, s.Config().FrameSize()) // the Y plane, then U and V interleaved
	fmt.Println(len(frame), "bytes a frame")
	for i := 0; i < 30; i++ {
		// ... the camera fills frame ...
		if err := s.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", s.Stats().Pushed)
	// Output:
	// 460800 bytes a frame
	// pushed 30
}
