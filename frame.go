package mpegserver

import (
	"fmt"
	"image"
	"reflect"
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
	if v := reflect.ValueOf(img); v.Kind() == reflect.Pointer && v.IsNil() {
		return gstpipe.Frame{}, nil, fmt.Errorf("%w: nil %T", ErrFrameSize, img)
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
		f, err := rgbxFrame(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, h, img)
		return f, func() {}, err
	case *image.NRGBA:
		f, err := rgbxFrame(m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), w, h, img)
		return f, func() {}, err
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

// rgbxFrame checks that 4-byte pixels of w × h starting at off, rows
// stride apart, lie inside pix before C reads them: an image built by hand
// can have a short Pix or a bad stride.
func rgbxFrame(pix []byte, stride, off, w, h int, img image.Image) (gstpipe.Frame, error) {
	if stride < 4*w {
		return gstpipe.Frame{}, fmt.Errorf("%w: %T stride %d is less than 4 × width %d", ErrFrameSize, img, stride, w)
	}
	// Compared without multiplying: a huge stride must not overflow into
	// a small product.
	avail, last := len(pix)-off, 4*w
	if off < 0 || avail < last || (h > 1 && stride > (avail-last)/(h-1)) {
		return gstpipe.Frame{}, fmt.Errorf("%w: %T Pix holds %d bytes, too few for %d×%d pixels with rows %d bytes apart",
			ErrFrameSize, img, len(pix), w, h, stride)
	}
	return gstpipe.Frame{Data: pix[off:], W: w, H: h, Stride: stride, BPP: 4}, nil
}
