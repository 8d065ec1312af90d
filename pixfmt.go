package mpegserver

import (
	"fmt"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// PixelFormat is the layout of the frames ServeFrame takes
// (Config.SourceFormat) and Read gives (ReaderConfig.Format), named as
// ffmpeg's -pix_fmt names it. Packed RGB formats are named by their bytes
// in memory. YUV formats are BT.601; YUV420P, NV12 and YUYV422 limited
// range (Y 16–235), as cameras and video give them, YUVJ420P full range
// (Y 0–255), as JPEG and Go's *image.YCbCr.
type PixelFormat int

// The pixel formats. The zero value is RGB24.
const (
	RGB24    PixelFormat = iota // R, G, B: 3 bytes a pixel (the default)
	BGR24                       // B, G, R (OpenCV's order)
	RGBA                        // R, G, B, A; alpha is ignored
	BGRA                        // B, G, R, A; alpha is ignored
	ARGB                        // A, R, G, B; alpha is ignored
	Gray                        // 1 byte a pixel: 0 black, 255 white
	YUV420P                     // planar: Y, then U and V at half width and height (I420)
	NV12                        // planar: Y, then U and V interleaved at half width and height
	YUYV422                     // packed 4:2:2: Y0, U, Y1, V for each pair of pixels (V4L2's YUYV)
	YUVJ420P                    // as YUV420P, full range; the stream says so (JPEG's and *image.YCbCr's range)
	numPixelFormats
)

// pixelFormats holds each format's name and its layout for the converter.
var pixelFormats = [numPixelFormats]struct {
	name   string
	layout gstpipe.Format
}{
	RGB24: {"rgb24", gstpipe.RGB24}, BGR24: {"bgr24", gstpipe.BGR24}, RGBA: {"rgba", gstpipe.RGBA},
	BGRA: {"bgra", gstpipe.BGRA}, ARGB: {"argb", gstpipe.ARGB}, Gray: {"gray", gstpipe.Gray},
	YUV420P: {"yuv420p", gstpipe.I420}, NV12: {"nv12", gstpipe.NV12}, YUYV422: {"yuyv422", gstpipe.YUYV},
	YUVJ420P: {"yuvj420p", gstpipe.J420},
}

// String is ffmpeg's name for the format.
func (f PixelFormat) String() string {
	if f < 0 || f >= numPixelFormats {
		return fmt.Sprintf("PixelFormat(%d)", int(f))
	}
	return pixelFormats[f].name
}

// ParsePixelFormat reads a format by ffmpeg's name ("rgb24", "nv12", ...).
func ParsePixelFormat(name string) (PixelFormat, error) {
	for f, p := range pixelFormats {
		if strings.EqualFold(name, p.name) {
			return PixelFormat(f), nil
		}
	}
	return 0, fmt.Errorf("%w: pixel format %q (want one of %s)", ErrBadParameter, name, strings.Join(PixelFormatNames(), ", "))
}

// PixelFormatNames lists every format's name.
func PixelFormatNames() []string {
	names := make([]string, numPixelFormats)
	for f, p := range pixelFormats {
		names[f] = p.name
	}
	return names
}

// FrameSize is the byte length of a w × h frame in this format with rows
// packed tightly (as ffmpeg's rawvideo writes them); 4:2:0 chroma planes
// are (w+1)/2 × (h+1)/2.
func (f PixelFormat) FrameSize(w, h int) int { return f.frameSize(w, h, 0) }

func (f PixelFormat) frameSize(w, h, stride int) int {
	if f < 0 || f >= numPixelFormats {
		return 0
	}
	_, _, n := gstpipe.Layout(pixelFormats[f].layout, w, h, stride)
	return n
}

// fullRange says whether the stream carries full-range YUV.
func (f PixelFormat) fullRange() bool { return f == YUVJ420P }

// minStride is the least SourceStride a w-wide frame of f can have: its
// first plane's row, and for 4:2:0 planar twice the chroma row, as the
// chroma rows are half as far apart.
func (f PixelFormat) minStride(w int) int {
	ps, _, _ := gstpipe.Layout(pixelFormats[f].layout, w, 1, 0)
	switch f {
	case YUV420P, YUVJ420P:
		return 2 * ps[1].RowBytes
	}
	return ps[0].RowBytes
}
