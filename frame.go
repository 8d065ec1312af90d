package mpegserver

import (
	"fmt"
	"image"
	"sync"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// rgbFrame checks a packed RGB frame of w × h.
func rgbFrame(b []byte, w, h int) (gstpipe.Frame, error) {
	if b == nil {
		return gstpipe.Frame{}, fmt.Errorf("%w: nil frame (want %d×%d×3 = %d bytes of packed RGB)", ErrFrameSize, w, h, w*h*3)
	}
	if len(b) != w*h*3 {
		return gstpipe.Frame{}, fmt.Errorf("%w: %d bytes, want %d×%d×3 = %d (heightSrc × widthSrc × RGB)",
			ErrFrameSize, len(b), h, w, w*h*3)
	}
	return gstpipe.Frame{Data: b, W: w, H: h, Stride: w * 3, BPP: 3}, nil
}

// rgbPool recycles conversion buffers for images without a fast path.
var rgbPool sync.Pool

// imageFrame adapts an image of w × h; release returns any buffer it took.
func imageFrame(img image.Image, w, h int) (f gstpipe.Frame, release func(), err error) {
	if img == nil {
		return gstpipe.Frame{}, nil, fmt.Errorf("%w: nil image", ErrFrameSize)
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return gstpipe.Frame{}, nil, fmt.Errorf("%w: image is %d×%d, want %d×%d (widthSrc × heightSrc)",
			ErrFrameSize, b.Dx(), b.Dy(), w, h)
	}
	// Fast paths hand the image's own memory to C, which drops alpha
	// while copying: no Go allocation.
	switch m := img.(type) {
	case *image.RGBA:
		return gstpipe.Frame{Data: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], W: w, H: h, Stride: m.Stride, BPP: 4}, func() {}, nil
	case *image.NRGBA:
		return gstpipe.Frame{Data: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], W: w, H: h, Stride: m.Stride, BPP: 4}, func() {}, nil
	}
	buf, _ := rgbPool.Get().(*[]byte)
	if buf == nil || cap(*buf) < w*h*3 {
		s := make([]byte, w*h*3)
		buf = &s
	}
	px := (*buf)[:w*h*3]
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			px[i], px[i+1], px[i+2] = byte(r>>8), byte(g>>8), byte(bl>>8)
			i += 3
		}
	}
	return gstpipe.Frame{Data: px, W: w, H: h, Stride: w * 3, BPP: 3}, func() { rgbPool.Put(buf) }, nil
}
