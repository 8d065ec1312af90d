#include <string.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>
#include "convert.h"
#include "reader.h"

struct MsReader {
	GstElement *pipe;
	GstElement *conv;
	GstElement *filter;
	GstElement *sink;
	guint64 rtsp_latency_ms;
	const char *media; // the caps prefix of the stream read: "video/" or "audio/"
};

// caps_for is what reaches the appsink: the decoder's own 4:2:0 (I420 or
// NV12, which most decoders give, so videoconvert passes it through), at
// a fixed size when given. The one conversion, to what the caller asked
// for, is libyuv's as the frame is copied out (ms_sample_copy).
static GstCaps *caps_for(int width, int height) {
	GstCaps *c = gst_caps_from_string("video/x-raw,format=(string){I420,NV12}");
	if (width > 0 && height > 0)
		gst_caps_set_simple(c, "width", G_TYPE_INT, width, "height", G_TYPE_INT, height,
			"pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
	return c;
}

// on_pad_added links the first pad of the media read to the converter;
// any other stream (audio beside video, a second video) goes to a
// fakesink, so an unlinked pad never stops the demuxer.
static void on_pad_added(GstElement *src, GstPad *pad, gpointer data) {
	MsReader *r = data;
	GstCaps *caps = gst_pad_get_current_caps(pad);
	if (caps == NULL)
		caps = gst_pad_query_caps(pad, NULL);
	gboolean video = caps != NULL && gst_caps_get_size(caps) > 0 &&
		g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), r->media);
	if (caps != NULL)
		gst_caps_unref(caps);
	GstPad *sink = gst_element_get_static_pad(r->conv, "sink");
	if (video && !gst_pad_is_linked(sink) && GST_PAD_LINK_SUCCESSFUL(gst_pad_link(pad, sink))) {
		gst_object_unref(sink);
		return;
	}
	gst_object_unref(sink);
	GstElement *fake = gst_element_factory_make("fakesink", NULL);
	if (fake == NULL)
		return;
	g_object_set(fake, "sync", FALSE, "async", FALSE, NULL);
	gst_bin_add(GST_BIN(r->pipe), fake);
	gst_element_sync_state_with_parent(fake);
	GstPad *fs = gst_element_get_static_pad(fake, "sink");
	gst_pad_link(pad, fs);
	gst_object_unref(fs);
}

// on_source_setup shortens rtspsrc's jitter buffer (2 s by default): a
// reader wants the newest frame, not a smooth one.
static void on_source_setup(GstElement *bin, GstElement *source, gpointer data) {
	MsReader *r = data;
	if (r->rtsp_latency_ms > 0 && g_object_class_find_property(G_OBJECT_GET_CLASS(source), "latency") != NULL &&
		g_str_has_prefix(G_OBJECT_TYPE_NAME(source), "GstRTSPSrc"))
		g_object_set(source, "latency", (guint)r->rtsp_latency_ms, NULL);
}

// reader_new builds uridecodebin ! conv ! scale ! capsfilter caps ! appsink
// (names[1], names[2] the converters) reading the media's first stream.
static MsReader *reader_new(const char *uri, const char *media, const char *names[5], GstCaps *caps,
		guint64 rtsp_latency_ms, char **err_out) {
	GstElement *e[5];
	for (int i = 0; i < 5; i++) {
		e[i] = gst_element_factory_make(names[i], NULL);
		if (e[i] == NULL) {
			for (int j = 0; j < i; j++)
				gst_object_unref(e[j]);
			*err_out = g_strdup_printf("GStreamer element %s is not installed", names[i]);
			gst_caps_unref(caps);
			return NULL;
		}
	}
	MsReader *r = g_new0(MsReader, 1);
	r->pipe = gst_pipeline_new(NULL);
	r->conv = e[1];
	r->filter = e[3];
	r->sink = e[4];
	r->rtsp_latency_ms = rtsp_latency_ms;
	r->media = media;
	// The address is a property, never part of a launch string.
	g_object_set(e[0], "uri", uri, NULL);
	g_object_set(e[3], "caps", caps, NULL);
	gst_caps_unref(caps);
	// A few frames decoded ahead; a slow reader holds the decoder back
	// rather than the reader's memory growing.
	g_object_set(e[4], "sync", FALSE, "max-buffers", 4, "drop", FALSE, "emit-signals", FALSE, NULL);
	gst_bin_add_many(GST_BIN(r->pipe), e[0], e[1], e[2], e[3], e[4], NULL);
	if (!gst_element_link_many(e[1], e[2], e[3], e[4], NULL)) {
		*err_out = g_strdup_printf("cannot link %s ! %s ! appsink", names[1], names[2]);
		ms_reader_free(r);
		return NULL;
	}
	g_signal_connect(e[0], "pad-added", G_CALLBACK(on_pad_added), r);
	g_signal_connect(e[0], "source-setup", G_CALLBACK(on_source_setup), r);
	return r;
}

MsReader *ms_reader_new(const char *uri, int width, int height, guint64 rtsp_latency_ms, char **err_out) {
	const char *names[] = {"uridecodebin", "videoconvert", "videoscale", "capsfilter", "appsink"};
	return reader_new(uri, "video/", names, caps_for(width, height), rtsp_latency_ms, err_out);
}

// ms_audio_reader_new reads the first audio stream as interleaved S16LE
// at rate with channels.
MsReader *ms_audio_reader_new(const char *uri, int rate, int channels, guint64 rtsp_latency_ms, char **err_out) {
	const char *names[] = {"uridecodebin", "audioconvert", "audioresample", "capsfilter", "appsink"};
	GstCaps *caps = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout", G_TYPE_STRING,
		"interleaved", "rate", G_TYPE_INT, rate, "channels", G_TYPE_INT, channels, NULL);
	return reader_new(uri, "audio/", names, caps, rtsp_latency_ms, err_out);
}

GstBus *ms_reader_bus(MsReader *r) { return gst_pipeline_get_bus(GST_PIPELINE(r->pipe)); }

int ms_reader_play(MsReader *r) {
	return gst_element_set_state(r->pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
}

// ms_reader_fix_size holds the output at the first frame's size, so a
// source that changes size mid-stream is scaled to it.
void ms_reader_fix_size(MsReader *r, int width, int height) {
	GstCaps *caps = caps_for(width, height);
	g_object_set(r->filter, "caps", caps, NULL);
	gst_caps_unref(caps);
}

void ms_reader_free(MsReader *r) {
	if (r == NULL)
		return;
	gst_element_set_state(r->pipe, GST_STATE_NULL);
	gst_object_unref(r->pipe);
	g_free(r);
}

// ms_reader_pull waits up to timeout for the next frame. The sample is the
// caller's (ms_sample_free).
int ms_reader_pull(MsReader *r, GstClockTime timeout, GstSample **sample, MsSampleInfo *info) {
	memset(info, 0, sizeof(*info));
	*sample = NULL;
	GstAppSink *sink = GST_APP_SINK(r->sink);
	GstSample *s = gst_app_sink_try_pull_sample(sink, timeout);
	if (s == NULL)
		return gst_app_sink_is_eos(sink) ? MS_READ_EOS : MS_READ_TIMEOUT;
	if (r->media[0] == 'a') {
		GstBuffer *b = gst_sample_get_buffer(s);
		info->pts = b != NULL ? GST_BUFFER_PTS(b) : GST_CLOCK_TIME_NONE;
		*sample = s;
		return MS_READ_FRAME;
	}
	GstVideoInfo vi;
	GstCaps *caps = gst_sample_get_caps(s);
	if (caps == NULL || !gst_video_info_from_caps(&vi, caps)) {
		gst_sample_unref(s);
		return MS_READ_TIMEOUT;
	}
	info->width = GST_VIDEO_INFO_WIDTH(&vi);
	info->height = GST_VIDEO_INFO_HEIGHT(&vi);
	info->fps_n = GST_VIDEO_INFO_FPS_N(&vi);
	info->fps_d = GST_VIDEO_INFO_FPS_D(&vi);
	GstBuffer *b = gst_sample_get_buffer(s);
	info->pts = b != NULL ? GST_BUFFER_PTS(b) : GST_CLOCK_TIME_NONE;
	*sample = s;
	return MS_READ_FRAME;
}

// ms_sample_copy copies a sample's picture into dst as fmt, tightly
// packed (ms_layout), converting with the matrix and range its caps
// declare: what videoconvert would have used. Returns 0 if dst is short
// or the buffer cannot be read.
int ms_sample_copy(GstSample *s, int fmt, guint8 *dst, gsize len) {
	GstVideoInfo vi;
	if (!gst_video_info_from_caps(&vi, gst_sample_get_caps(s)))
		return 0;
	int w = GST_VIDEO_INFO_WIDTH(&vi), h = GST_VIDEO_INFO_HEIGHT(&vi);
	guint8 *d[3];
	int ds[3];
	gsize need = ms_layout(fmt, w, h, dst, d, ds);
	if (need == 0 || len < need)
		return 0;
	GstVideoFrame f;
	if (!gst_video_frame_map(&f, &vi, gst_sample_get_buffer(s), GST_MAP_READ))
		return 0;
	const guint8 *p[3];
	int ps[3];
	for (int k = 0; k < 3; k++) {
		p[k] = k < GST_VIDEO_FRAME_N_PLANES(&f) ? GST_VIDEO_FRAME_PLANE_DATA(&f, k) : NULL;
		ps[k] = k < GST_VIDEO_FRAME_N_PLANES(&f) ? GST_VIDEO_FRAME_PLANE_STRIDE(&f, k) : 0;
	}
	int matrix = MS_MATRIX_BT601;
	switch (vi.colorimetry.matrix) {
	case GST_VIDEO_COLOR_MATRIX_BT709: matrix = MS_MATRIX_BT709; break;
	case GST_VIDEO_COLOR_MATRIX_BT2020: matrix = MS_MATRIX_BT2020; break;
	default: break;
	}
	int full = vi.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
	int nv12 = GST_VIDEO_INFO_FORMAT(&vi) == GST_VIDEO_FORMAT_NV12;
	int ret = ms_from_yuv(nv12, p, ps, w, h, matrix, full, fmt, d, ds);
	gst_video_frame_unmap(&f);
	return ret == 0;
}

// ms_sample_size is how many bytes a sample's buffer holds.
gsize ms_sample_size(GstSample *s) {
	GstBuffer *b = gst_sample_get_buffer(s);
	return b != NULL ? gst_buffer_get_size(b) : 0;
}

// ms_sample_extract copies up to len bytes of a sample's buffer into dst.
gsize ms_sample_extract(GstSample *s, guint8 *dst, gsize len) {
	GstBuffer *b = gst_sample_get_buffer(s);
	return b != NULL ? gst_buffer_extract(b, 0, dst, len) : 0;
}

void ms_sample_free(GstSample *s) {
	if (s != NULL)
		gst_sample_unref(s);
}

gint64 ms_reader_duration(MsReader *r) {
	gint64 d = -1;
	if (!gst_element_query_duration(r->pipe, GST_FORMAT_TIME, &d))
		return -1;
	return d;
}
