package mpegserver

import (
	"fmt"
	"image"
	"image/draw"
	"reflect"
	"sync"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// source is what a served frame must be: the configured size, format and
// stride.
type source struct {
	w, h   int
	format PixelFormat
	stride int // SourceStride: 0 for rows packed tightly
}

func sourceOf(c Config) source {
	w, h := c.SourceSize()
	return source{w: w, h: h, format: c.SourceFormat, stride: c.SourceStride}
}

// bytesFrame checks a frame served as bytes and splits it into its
// planes. With rows packed tightly its length must be exactly a frame's;
// with a stride, the last row may stop where its pixels do.
func bytesFrame(b []byte, src source) (gstpipe.Frame, error) {
	layout := pixelFormats[src.format].layout
	ps, n, size := gstpipe.Layout(layout, src.w, src.h, src.stride)
	last := ps[n-1]
	least := last.Offset + (last.Rows-1)*last.Stride + last.RowBytes
	if b == nil || len(b) < least || len(b) > size {
		what := fmt.Sprintf("a %d×%d %s frame (widthSrc × heightSrc, SourceFormat) is %d bytes", src.w, src.h, src.format, size)
		if src.stride > 0 {
			what += fmt.Sprintf(" with rows %d bytes apart (%d without the last row's padding)", src.stride, least)
		}
		if b == nil {
			return gstpipe.Frame{}, fmt.Errorf("%w: nil frame; %s", ErrFrameSize, what)
		}
		return gstpipe.Frame{}, fmt.Errorf("%w: %d bytes; %s", ErrFrameSize, len(b), what)
	}
	f := gstpipe.Frame{Format: layout, W: src.w, H: src.h}
	for i, p := range ps[:n] {
		f.Planes[i], f.Strides[i] = b[p.Offset:], p.Stride
	}
	return f, nil
}

// rgbaPool recycles the images drawn for image types without a direct
// path.
var rgbaPool sync.Pool

// imageFrame adapts an image of w × h; release returns any buffer it took.
// Images libyuv reads as they are (RGBA, NRGBA, Gray, YCbCr 4:2:0, 4:2:2,
// 4:4:4) are handed to C in their own memory, their planes checked first:
// an image built by hand can have a short Pix or a bad stride. Any other
// image is drawn into an RGBA image first (image/draw).
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
	none := func() {}
	f = gstpipe.Frame{W: w, H: h}
	switch m := img.(type) {
	case *image.RGBA:
		f.Format, f.Planes[0], f.Strides[0] = gstpipe.RGBA, m.Pix, m.Stride
	case *image.NRGBA:
		f.Format, f.Planes[0], f.Strides[0] = gstpipe.RGBA, m.Pix, m.Stride
	case *image.Gray:
		f.Format, f.Planes[0], f.Strides[0] = gstpipe.Gray, m.Pix, m.Stride
	case *image.NYCbCrA:
		return imageFrame(&m.YCbCr, w, h)
	case *image.YCbCr:
		if ok := ycbcrFrame(m, &f); ok {
			break
		}
		return drawnFrame(img, w, h)
	default:
		return drawnFrame(img, w, h)
	}
	if err := f.Check(); err != nil {
		return gstpipe.Frame{}, nil, fmt.Errorf("%w: %T: %v", ErrFrameSize, img, err)
	}
	return f, none, nil
}

// ycbcrFrame takes a YCbCr image's planes as they are when libyuv reads
// its subsampling and the image starts on a chroma sample (a sub-image
// cut at an odd pixel shares its first chroma sample with a pixel left
// out).
func ycbcrFrame(m *image.YCbCr, f *gstpipe.Frame) bool {
	odd := func(v int) bool { return v%2 != 0 }
	switch {
	case m.SubsampleRatio == image.YCbCrSubsampleRatio444:
		f.Format = gstpipe.J444
	case m.SubsampleRatio == image.YCbCrSubsampleRatio422 && !odd(m.Rect.Min.X):
		f.Format = gstpipe.J422
	case m.SubsampleRatio == image.YCbCrSubsampleRatio420 && !odd(m.Rect.Min.X) && !odd(m.Rect.Min.Y):
		f.Format = gstpipe.J420
	default:
		return false
	}
	f.Planes = [3][]byte{m.Y, m.Cb, m.Cr}
	f.Strides = [3]int{m.YStride, m.CStride, m.CStride}
	return true
}

// drawnFrame draws any image into a pooled RGBA image. An image whose
// own methods fail on it (a YCbCr with short planes, any type built by
// hand) is refused with ErrFrameSize rather than let its panic end the
// caller's stream.
func drawnFrame(img image.Image, w, h int) (f gstpipe.Frame, release func(), err error) {
	m, _ := rgbaPool.Get().(*image.RGBA)
	if m == nil || m.Rect.Dx() != w || m.Rect.Dy() != h {
		m = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	defer func() {
		if p := recover(); p != nil {
			rgbaPool.Put(m)
			f, release, err = gstpipe.Frame{}, nil, fmt.Errorf("%w: %T cannot be read: %v", ErrFrameSize, img, p)
		}
	}()
	draw.Draw(m, m.Rect, img, img.Bounds().Min, draw.Src)
	f = gstpipe.Frame{Format: gstpipe.RGBA, W: w, H: h, Planes: [3][]byte{m.Pix}, Strides: [3]int{m.Stride}}
	return f, func() { rgbaPool.Put(m) }, nil
}
