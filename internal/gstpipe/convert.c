// convert.h first: it says in words when libyuv is missing.
#include "convert.h"

#include <libyuv.h>

// Full range to limited range, Y' = 16 + Y * 219/255 and C' = 128 +
// (C - 128) * 224/255, done by libyuv's InterpolatePlane (a blend of two
// planes, (a * (256 - f) + b * f + 128) >> 8) against a constant row:
// f = 36, b = 113 for luma; f = 31, b = 130 for chroma. Within one level
// of the exact map, with no detour through RGB, which would clip the
// colours RGB cannot show.
#define MS_MAX_ROW 16384 // maxDimension in config.go
static const guint8 ms_luma_k[MS_MAX_ROW] = {[0 ... MS_MAX_ROW - 1] = 113};
static const guint8 ms_chroma_k[MS_MAX_ROW] = {[0 ... MS_MAX_ROW - 1] = 130};

static int ms_limit_range(const guint8 *const p[3], const int s[3], int w, int h, guint8 *const d[3], const int ds[3]) {
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	if (w > MS_MAX_ROW)
		return -1;
	if (InterpolatePlane(p[0], s[0], ms_luma_k, 0, d[0], ds[0], w, h, 36) != 0)
		return -1;
	for (int k = 1; k < 3; k++)
		if (InterpolatePlane(p[k], s[k], ms_chroma_k, 0, d[k], ds[k], cw, ch, 31) != 0)
			return -1;
	return 0;
}

// ms_halve subsamples one chroma plane of sw x sh by dx across and dy
// down (1 or 2) with a 2-sample box, pairing samples 2k and 2k+1 as in
// an even frame; an odd last column or row stands alone. (libyuv's
// I422ToI420 and I444ToI420 stretch an odd size instead, 321 samples to
// 161, which drifts a sample by the far edge.)
static void ms_halve(const guint8 *src, int s, int sw, int sh, int dx, int dy, guint8 *dst, int ds) {
	int ow = sw / dx, oh = sh / dy; // samples from whole pairs
	int ew = ow * dx, eh = oh * dy; // the samples they cover
	if (ow > 0 && oh > 0)
		ScalePlane(src, s, ew, eh, dst, ds, ow, oh, kFilterBox);
	if (ew < sw && oh > 0)
		ScalePlane(src + ew, s, 1, eh, dst + ow, ds, 1, oh, kFilterBox);
	if (eh < sh && ow > 0)
		ScalePlane(src + (gsize)eh * s, s, ew, 1, dst + (gsize)oh * ds, ds, ow, 1, kFilterBox);
	if (ew < sw && eh < sh)
		dst[(gsize)oh * ds + ow] = src[(gsize)eh * s + ew]; // the corner sample of an odd frame
}

// ms_subsample takes 4:2:2 or 4:4:4 to 4:2:0, range unchanged.
static int ms_subsample(int fmt, const guint8 *const p[3], const int s[3], int w, int h, guint8 *const d[3], const int ds[3]) {
	int cw = fmt == MS_J444 ? w : (w + 1) / 2, dx = fmt == MS_J444 ? 2 : 1;
	CopyPlane(p[0], s[0], d[0], ds[0], w, h);
	for (int k = 1; k < 3; k++)
		ms_halve(p[k], s[k], cw, h, dx, 2, d[k], ds[k]);
	return 0;
}

int ms_to_i420(int fmt, const guint8 *const p[3], const int s[3], int w, int h, int full, guint8 *const d[3],
		const int ds[3]) {
	guint8 *y = d[0], *u = d[1], *v = d[2];
	int ys = ds[0], us = ds[1], vs = ds[2];
	int ret = -1;
	if (full) {
		// A full-range stream (yuvj420p): full-range sources go as they
		// are, RGB through libyuv's J (JPEG) matrix.
		switch (fmt) {
		case MS_J420: ret = I420Copy(p[0], s[0], p[1], s[1], p[2], s[2], y, ys, u, us, v, vs, w, h); break;
		case MS_J422:
		case MS_J444: ret = ms_subsample(fmt, p, s, w, h, d, ds); break;
		case MS_GRAY: ret = I400ToI420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
		case MS_RGB24: ret = RAWToJ420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
		case MS_BGR24: ret = RGB24ToJ420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
		case MS_RGBA: ret = ABGRToJ420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
		case MS_BGRA: ret = ARGBToJ420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
		}
		return ret == 0 ? 0 : -1;
	}
	// libyuv names packed pixels by a little-endian word: its RAW is R,G,B
	// in memory, RGB24 B,G,R, ABGR R,G,B,A, ARGB B,G,R,A, BGRA A,R,G,B.
	switch (fmt) {
	case MS_RGB24: ret = RAWToI420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
	case MS_BGR24: ret = RGB24ToI420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
	case MS_RGBA: ret = ABGRToI420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
	case MS_BGRA: ret = ARGBToI420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
	case MS_ARGB: ret = BGRAToI420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
	case MS_I420: ret = I420Copy(p[0], s[0], p[1], s[1], p[2], s[2], y, ys, u, us, v, vs, w, h); break;
	case MS_NV12: ret = NV12ToI420(p[0], s[0], p[1], s[1], y, ys, u, us, v, vs, w, h); break;
	case MS_YUYV: ret = YUY2ToI420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
	case MS_J420: return ms_limit_range(p, s, w, h, d, ds);
	case MS_GRAY: ret = I400ToI420(p[0], s[0], y, ys, u, us, v, vs, w, h); break;
	case MS_J422:
	case MS_J444: ret = ms_subsample(fmt, p, s, w, h, d, ds); break;
	}
	if (ret == 0 && (fmt == MS_GRAY || fmt == MS_J422 || fmt == MS_J444)) {
		// Subsampled (or grey chroma set) above; the range now, in place
		// on planes still in cache.
		const guint8 *dp[3] = {y, u, v};
		ret = ms_limit_range(dp, ds, w, h, d, ds);
	}
	return ret == 0 ? 0 : -1;
}

int ms_scale_i420(int fmt, const guint8 *const p[3], const int s[3], int w, int h, int full, guint8 *scratch,
		guint8 *const d[3], const int ds[3], int ow, int oh) {
	const guint8 *sp[3] = {p[0], p[1], p[2]};
	int ss[3] = {s[0], s[1], s[2]};
	if (fmt != (full ? MS_J420 : MS_I420)) {
		guint8 *t[3];
		if (scratch == NULL || ms_layout(MS_I420, w, h, scratch, t, ss) == 0 || ms_to_i420(fmt, p, s, w, h, full, t, ss) != 0)
			return -1;
		sp[0] = t[0], sp[1] = t[1], sp[2] = t[2];
	}
	return I420Scale(sp[0], ss[0], sp[1], ss[1], sp[2], ss[2], w, h, d[0], ds[0], d[1], ds[1], d[2], ds[2], ow, oh,
		kFilterBox) == 0 ? 0 : -1;
}

gsize ms_layout(int fmt, int w, int h, guint8 *base, guint8 *d[3], int ds[3]) {
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	d[1] = d[2] = NULL;
	ds[1] = ds[2] = 0;
	d[0] = base;
	switch (fmt) {
	case MS_RGB24:
	case MS_BGR24: ds[0] = w * 3; return (gsize)ds[0] * h;
	case MS_RGBA:
	case MS_BGRA:
	case MS_ARGB: ds[0] = w * 4; return (gsize)ds[0] * h;
	case MS_GRAY: ds[0] = w; return (gsize)w * h;
	case MS_YUYV: ds[0] = cw * 4; return (gsize)ds[0] * h;
	case MS_NV12:
		ds[0] = w, ds[1] = cw * 2;
		d[1] = base + (gsize)w * h;
		return (gsize)w * h + (gsize)ds[1] * ch;
	case MS_I420:
	case MS_J420:
		ds[0] = w, ds[1] = ds[2] = cw;
		d[1] = base + (gsize)w * h;
		d[2] = d[1] + (gsize)cw * ch;
		return (gsize)w * h + 2 * (gsize)cw * ch;
	}
	return 0;
}

// ms_constants picks libyuv's YUV to RGB constants. The "Yvu" set, with
// U and V swapped on the way in, makes R and B trade places on the way
// out: that is how libyuv itself writes R,G,B order (its I420ToRAW).
static const struct YuvConstants *ms_constants(int matrix, int full, int swap) {
	switch (matrix) {
	case MS_MATRIX_BT709:
		return swap ? (full ? &kYvuF709Constants : &kYvuH709Constants) : (full ? &kYuvF709Constants : &kYuvH709Constants);
	case MS_MATRIX_BT2020:
		return swap ? (full ? &kYvuV2020Constants : &kYvu2020Constants) : (full ? &kYuvV2020Constants : &kYuv2020Constants);
	}
	return swap ? (full ? &kYvuJPEGConstants : &kYvuI601Constants) : (full ? &kYuvJPEGConstants : &kYuvI601Constants);
}

int ms_from_yuv(int nv12, const guint8 *const p[3], const int s[3], int w, int h, int matrix, int full, int fmt,
		guint8 *const d[3], const int ds[3]) {
	int swap = fmt == MS_RGB24 || fmt == MS_RGBA;
	const struct YuvConstants *k = ms_constants(matrix, full, swap);
	const guint8 *u = swap ? p[2] : p[1], *v = swap ? p[1] : p[2];
	int us = swap ? s[2] : s[1], vs = swap ? s[1] : s[2];
	int ret = -1;
	if (nv12) {
		switch (fmt) {
		case MS_RGB24: ret = NV21ToRGB24Matrix(p[0], s[0], p[1], s[1], d[0], ds[0], k, w, h); break;
		case MS_BGR24: ret = NV12ToRGB24Matrix(p[0], s[0], p[1], s[1], d[0], ds[0], k, w, h); break;
		case MS_RGBA: ret = NV21ToARGBMatrix(p[0], s[0], p[1], s[1], d[0], ds[0], k, w, h); break;
		case MS_BGRA: ret = NV12ToARGBMatrix(p[0], s[0], p[1], s[1], d[0], ds[0], k, w, h); break;
		case MS_I420: ret = NV12ToI420(p[0], s[0], p[1], s[1], d[0], ds[0], d[1], ds[1], d[2], ds[2], w, h); break;
		case MS_NV12: ret = NV12Copy(p[0], s[0], p[1], s[1], d[0], ds[0], d[1], ds[1], w, h); break;
		}
		return ret == 0 ? 0 : -1;
	}
	switch (fmt) {
	case MS_RGB24:
	case MS_BGR24: ret = I420ToRGB24Matrix(p[0], s[0], u, us, v, vs, d[0], ds[0], k, w, h); break;
	case MS_RGBA:
	case MS_BGRA: ret = I420ToARGBMatrix(p[0], s[0], u, us, v, vs, d[0], ds[0], k, w, h); break;
	case MS_I420: ret = I420Copy(p[0], s[0], p[1], s[1], p[2], s[2], d[0], ds[0], d[1], ds[1], d[2], ds[2], w, h); break;
	case MS_NV12: ret = I420ToNV12(p[0], s[0], p[1], s[1], p[2], s[2], d[0], ds[0], d[1], ds[1], w, h); break;
	}
	return ret == 0 ? 0 : -1;
}
