// RGB to I420 conversion, done while a frame is copied in.
#ifndef MPEGSERVER_I420_H
#define MPEGSERVER_I420_H

#include <glib.h>

// ms_to_i420_rgb converts packed RGB (3 bytes a pixel), ms_to_i420_rgbx
// RGBx (4 bytes, the fourth ignored). bt709 picks the matrix: BT.709 if
// non-zero, else BT.601; limited range either way.
void ms_to_i420_rgb(const guint8 *src, int w, int h, int stride, guint8 *yp, int ys, guint8 *up, int us,
	guint8 *vp, int vs, int bt709);
void ms_to_i420_rgbx(const guint8 *src, int w, int h, int stride, guint8 *yp, int ys, guint8 *up, int us,
	guint8 *vp, int vs, int bt709);

#endif
