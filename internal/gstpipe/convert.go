package gstpipe

/*
#cgo LDFLAGS: -lyuv
#include "convert.h"

// ms_convert is ms_to_i420 for Go: planes as separate arguments (cgo
// refuses an array of Go pointers).
static int ms_convert(int fmt, int full, const guint8 *p0, int s0, const guint8 *p1, int s1, const guint8 *p2, int s2,
		int w, int h, guint8 *d0, int ds0, guint8 *d1, int ds1, guint8 *d2, int ds2) {
	const guint8 *p[3] = {p0, p1, p2};
	int s[3] = {s0, s1, s2};
	guint8 *d[3] = {d0, d1, d2};
	int ds[3] = {ds0, ds1, ds2};
	return ms_to_i420(fmt, p, s, w, h, full, d, ds);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Format is the layout of a source frame's pixels.
type Format int

// The layouts frames come in. Packed RGB formats are named by their bytes
// in memory, as ffmpeg names them; Gray and the J formats (Go's
// *image.YCbCr, JFIF) are full range, I420, NV12 and YUYV limited range.
const (
	RGB24 Format = C.MS_RGB24
	BGR24 Format = C.MS_BGR24
	RGBA  Format = C.MS_RGBA
	BGRA  Format = C.MS_BGRA
	ARGB  Format = C.MS_ARGB
	Gray  Format = C.MS_GRAY
	I420  Format = C.MS_I420
	NV12  Format = C.MS_NV12
	YUYV  Format = C.MS_YUYV
	J420  Format = C.MS_J420
	J422  Format = C.MS_J422
	J444  Format = C.MS_J444
)

// Frame is one source frame in Go memory, read once by Push.
type Frame struct {
	Format  Format
	W, H    int
	Planes  [3][]byte // each starting at the frame's first pixel; unused ones nil
	Strides [3]int    // bytes from one row of a plane to the next
}

// Plane is where one plane of a frame lies and how much of it is read.
type Plane struct {
	Offset   int // from the start of a tightly packed frame
	Stride   int
	RowBytes int // bytes read from each row
	Rows     int
}

// Layout gives the planes of a w × h frame of f whose first plane's rows
// are stride bytes apart (0: packed tightly), as V4L2 lays frames out:
// a 4:2:0 planar frame's chroma rows are half as far apart, NV12's
// interleaved chroma rows as far apart as its luma rows. It returns the
// planes, how many are in use (0 for an unknown format) and the bytes the
// whole frame takes. (An array, not a slice: Push calls it per frame and
// allocates nothing.)
func Layout(f Format, w, h, stride int) (ps [3]Plane, n, size int) {
	cw, ch := (w+1)/2, (h+1)/2
	packed := func(rowBytes int) [3]Plane {
		return [3]Plane{{Stride: max(stride, rowBytes), RowBytes: rowBytes, Rows: h}}
	}
	n = 1
	switch f {
	case RGB24, BGR24:
		ps = packed(3 * w)
	case RGBA, BGRA, ARGB:
		ps = packed(4 * w)
	case Gray:
		ps = packed(w)
	case YUYV:
		ps = packed(4 * cw) // a pair of pixels shares 4 bytes
	case NV12:
		s := max(stride, w)
		ps, n = [3]Plane{{Stride: s, RowBytes: w, Rows: h}, {Stride: max(s, 2*cw), RowBytes: 2 * cw, Rows: ch}}, 2
	case I420, J420, J422, J444:
		s, cs, crows := max(stride, w), max(stride/2, cw), ch
		if stride == 0 {
			cs = cw
		}
		rowBytes := cw
		switch f {
		case J422:
			crows = h
		case J444:
			rowBytes, crows, cs = w, h, max(stride, w)
		}
		ps, n = [3]Plane{{Stride: s, RowBytes: w, Rows: h}, {Stride: cs, RowBytes: rowBytes, Rows: crows}, {Stride: cs, RowBytes: rowBytes, Rows: crows}}, 3
	default:
		return ps, 0, 0
	}
	for i := range n {
		ps[i].Offset = size
		size += ps[i].Stride * ps[i].Rows
	}
	return ps, n, size
}

// Check says whether every plane the frame's format reads lies inside its
// slice with rows at least as long as the pixels they hold: what C will
// read, checked before it does.
func (f Frame) Check() error {
	if f.W <= 0 || f.H <= 0 {
		return fmt.Errorf("size %dx%d", f.W, f.H)
	}
	ps, n, _ := Layout(f.Format, f.W, f.H, 0)
	if n == 0 {
		return fmt.Errorf("unknown pixel format %d", f.Format)
	}
	for i, p := range ps[:n] {
		if f.Strides[i] < p.RowBytes {
			return fmt.Errorf("plane %d: rows %d bytes apart, fewer than the %d bytes a row holds", i, f.Strides[i], p.RowBytes)
		}
		// Compared without multiplying: a huge stride must not overflow
		// into a small product.
		n := len(f.Planes[i])
		if n < p.RowBytes || (p.Rows > 1 && f.Strides[i] > (n-p.RowBytes)/(p.Rows-1)) {
			return fmt.Errorf("plane %d holds %d bytes, too few for %d rows of %d bytes, %d bytes apart",
				i, n, p.Rows, p.RowBytes, f.Strides[i])
		}
	}
	return nil
}

// cargs are a frame's planes for C; a nil plane is a NULL pointer.
func (f Frame) cargs() (p [3]*C.guint8, s [3]C.int) {
	for i, b := range f.Planes {
		if len(b) > 0 {
			p[i] = (*C.guint8)(unsafe.Pointer(unsafe.SliceData(b)))
		}
		s[i] = C.int(f.Strides[i])
	}
	return p, s
}

// ConvertI420 converts a frame into dst as a tightly packed I420 frame
// (Y, then U, then V, chroma rows (W+1)/2 bytes), limited range BT.601,
// or full range when full is set. It is the conversion Push makes, for
// tests and benchmarks.
func ConvertI420(f Frame, full bool, dst []byte) error {
	ps, _, n := Layout(I420, f.W, f.H, 0)
	if len(dst) < n {
		return fmt.Errorf("destination holds %d bytes, an I420 frame %d", len(dst), n)
	}
	return convertInto(f, full, [3][]byte{dst[ps[0].Offset:], dst[ps[1].Offset:], dst[ps[2].Offset:]},
		[3]int{ps[0].Stride, ps[1].Stride, ps[2].Stride})
}

// convertInto converts a frame into I420 planes d with strides ds, which
// the caller has sized.
func convertInto(f Frame, full bool, d [3][]byte, ds [3]int) error {
	if err := f.Check(); err != nil {
		return err
	}
	p, s := f.cargs()
	ptr := func(b []byte) *C.guint8 { return (*C.guint8)(unsafe.Pointer(unsafe.SliceData(b))) }
	ret := C.ms_convert(C.int(f.Format), cbool(full), p[0], s[0], p[1], s[1], p[2], s[2], C.int(f.W), C.int(f.H),
		ptr(d[0]), C.int(ds[0]), ptr(d[1]), C.int(ds[1]), ptr(d[2]), C.int(ds[2]))
	runtime.KeepAlive(f.Planes)
	runtime.KeepAlive(d)
	if ret != 0 {
		return fmt.Errorf("libyuv cannot convert format %d (full range %v)", f.Format, full)
	}
	return nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
