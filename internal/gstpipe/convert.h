// Pixel conversion on libyuv: camera and image layouts into the I420 the
// pipeline carries, and decoded I420/NV12 out to what a reader asks for.
#ifndef MPEGSERVER_CONVERT_H
#define MPEGSERVER_CONVERT_H

// Say what is missing in words rather than leave a bare "No such file".
#if defined(__has_include)
#if !__has_include(<libyuv.h>)
#error "libyuv is not installed: mpegserver converts pixels with libyuv. Install libyuv-dev (make deps, or apt-get install libyuv-dev)."
#endif
#endif

#include <glib.h>

// Source layouts, as ffmpeg names them, plus the full-range ("J", JFIF)
// planar layouts of Go's *image.YCbCr. Memory order: MS_RGB24 is R,G,B;
// MS_RGBA R,G,B,A; MS_BGRA B,G,R,A; MS_ARGB A,R,G,B. MS_GRAY is full
// range, as ffmpeg's gray and Go's *image.Gray.
enum {
	MS_RGB24, MS_BGR24, MS_RGBA, MS_BGRA, MS_ARGB, MS_GRAY,
	MS_I420, MS_NV12, MS_YUYV, MS_J420, MS_J422, MS_J444,
	MS_FORMATS
};

// ms_to_i420 converts one w x h frame, planes p[k] with strides s[k]
// (unused planes NULL), into I420 planes d[k] with strides ds[k]: limited
// range BT.601 (what libyuv's RGB to YUV computes), or full range when
// full is set. Returns 0, or -1 for a pairing libyuv does not do.
int ms_to_i420(int fmt, const guint8 *const p[3], const int s[3], int w, int h, int full,
	guint8 *const d[3], const int ds[3]);

// ms_scale_i420 is ms_to_i420 for a frame of another size than the
// output's (ow x oh): converted into scratch (an I420 frame of w x h)
// unless it is I420 already, then scaled by libyuv (box filter).
int ms_scale_i420(int fmt, const guint8 *const p[3], const int s[3], int w, int h, int full, guint8 *scratch,
	guint8 *const d[3], const int ds[3], int ow, int oh);

// ms_layout gives the planes and strides of a tightly packed w x h frame
// of fmt at base (as ffmpeg's rawvideo lays it out) and returns its size.
gsize ms_layout(int fmt, int w, int h, guint8 *base, guint8 *d[3], int ds[3]);

// Colour matrices a decoded frame can declare.
enum { MS_MATRIX_BT601, MS_MATRIX_BT709, MS_MATRIX_BT2020 };

// ms_from_yuv converts a decoded I420 (nv12 = 0) or NV12 frame into fmt
// (MS_RGB24, MS_BGR24, MS_RGBA, MS_BGRA, MS_I420 or MS_NV12) at d/ds,
// reading YUV with the matrix and range it declares. Returns 0 or -1.
int ms_from_yuv(int nv12, const guint8 *const p[3], const int s[3], int w, int h, int matrix, int full,
	int fmt, guint8 *const d[3], const int ds[3]);

#endif
