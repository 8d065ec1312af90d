#include "i420.h"

// Y'CbCr coefficients, limited range, scaled by 256: Y from R, G, B; then
// Cb; then Cr. Each chroma row sums to 0 so greys get exactly 128.
static const int ms_bt601[9] = {66, 129, 25, -38, -74, 112, 112, -94, -18};
static const int ms_bt709[9] = {47, 157, 16, -26, -86, 112, 112, -102, -10};

// ms_to_i420 converts in one pass over the source: two rows at a time, each
// 2x2 block's chroma from the mean of its four pixels (as swscale does).
// Odd sizes repeat the last row or column. Inlined per bpp so the compiler
// sees a constant pixel stride.
static inline __attribute__((always_inline)) void ms_to_i420(const guint8 *src, int w, int h, int stride, const int bpp,
		guint8 *yp, int ys, guint8 *up, int us, guint8 *vp, int vs, const int *k) {
	const int kyr = k[0], kyg = k[1], kyb = k[2], kur = k[3], kug = k[4], kub = k[5], kvr = k[6], kvg = k[7], kvb = k[8];
	for (int j = 0; j < h; j += 2) {
		const guint8 *r0 = src + (gsize)j * stride;
		const guint8 *r1 = j + 1 < h ? r0 + stride : r0;
		guint8 *y0 = yp + (gsize)j * ys;
		guint8 *y1 = j + 1 < h ? y0 + ys : y0;
		guint8 *u = up + (gsize)(j / 2) * us;
		guint8 *v = vp + (gsize)(j / 2) * vs;
		for (int i = 0; i < w; i++) {
			const guint8 *a = r0 + i * bpp, *b = r1 + i * bpp;
			y0[i] = (guint8)(((kyr * a[0] + kyg * a[1] + kyb * a[2] + 128) >> 8) + 16);
			y1[i] = (guint8)(((kyr * b[0] + kyg * b[1] + kyb * b[2] + 128) >> 8) + 16);
		}
		for (int i = 0; i < w; i += 2) {
			int i1 = i + 1 < w ? i + 1 : i;
			const guint8 *a = r0 + i * bpp, *b = r0 + i1 * bpp, *c = r1 + i * bpp, *d = r1 + i1 * bpp;
			int R = a[0] + b[0] + c[0] + d[0], G = a[1] + b[1] + c[1] + d[1], B = a[2] + b[2] + c[2] + d[2];
			u[i / 2] = (guint8)(((kur * R + kug * G + kub * B + 512) >> 10) + 128);
			v[i / 2] = (guint8)(((kvr * R + kvg * G + kvb * B + 512) >> 10) + 128);
		}
	}
}

void ms_to_i420_rgb(const guint8 *src, int w, int h, int stride, guint8 *yp, int ys, guint8 *up, int us,
		guint8 *vp, int vs, int bt709) {
	ms_to_i420(src, w, h, stride, 3, yp, ys, up, us, vp, vs, bt709 ? ms_bt709 : ms_bt601);
}

void ms_to_i420_rgbx(const guint8 *src, int w, int h, int stride, guint8 *yp, int ys, guint8 *up, int us,
		guint8 *vp, int vs, int bt709) {
	ms_to_i420(src, w, h, stride, 4, yp, ys, up, us, vp, vs, bt709 ? ms_bt709 : ms_bt601);
}
