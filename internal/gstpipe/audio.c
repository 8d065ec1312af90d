#include <gst/app/gstappsrc.h>

#include "audio.h"
#include "gstpipe.h"

// ms_push_audio copies interleaved samples (or, with data NULL, as many
// bytes of silence) into a new buffer and gives it to appsrc, which takes
// the only reference. Offsets count samples, as audio buffers do.
GstFlowReturn ms_push_audio(GstElement *src, const guint8 *data, gsize size, GstClockTime pts, GstClockTime dur,
		guint64 offset, guint64 offset_end) {
	GstBuffer *buf = gst_buffer_new_allocate(NULL, size, NULL);
	if (buf == NULL)
		return GST_FLOW_ERROR;
	if (data != NULL)
		gst_buffer_fill(buf, 0, data, size);
	else
		gst_buffer_memset(buf, 0, 0, size);
	GST_BUFFER_PTS(buf) = pts;
	GST_BUFFER_DTS(buf) = pts;
	GST_BUFFER_DURATION(buf) = dur;
	GST_BUFFER_OFFSET(buf) = offset;
	GST_BUFFER_OFFSET_END(buf) = offset_end;
	return gst_app_src_push_buffer(GST_APP_SRC(src), buf);
}

// ms_level_time is how much time appsrc holds that has not left it.
guint64 ms_level_time(GstElement *src) {
	return gst_app_src_get_current_level_time(GST_APP_SRC(src));
}

// ms_link_into links from's src pad into into: on a request pad of the
// template pad (hlssink2 has "video" and "audio", both ANY), or on any
// compatible pad when pad is empty. Returns 0 on failure.
int ms_link_into(GstElement *from, GstElement *into, const char *pad) {
	if (pad == NULL || pad[0] == '\0')
		return gst_element_link(from, into);
	return gst_element_link_pads(from, NULL, into, pad);
}

static GstPadProbeReturn ms_clip_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
	if (b != NULL && GST_BUFFER_PTS_IS_VALID(b) && GST_BUFFER_PTS(b) >= *(GstClockTime *)data)
		return GST_PAD_PROBE_DROP;
	return GST_PAD_PROBE_OK;
}

// ms_clip_audio ends the encoded audio leaving e at end: frames that
// start there or later are dropped (the one across end stays: encoded
// frames cannot be cut). What a producer served beyond the frames' end
// (a file has no clock to hold it back) is not written after them; the
// encoder already holds what passed its queue, so the cut is after it.
void ms_clip_audio(GstElement *e, GstClockTime end) {
	GstPad *pad = gst_element_get_static_pad(e, "src");
	if (pad == NULL)
		return;
	GstClockTime *at = g_new(GstClockTime, 1);
	*at = end;
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, ms_clip_probe, at, g_free);
	gst_object_unref(pad);
}

static GstPadProbeReturn ms_drop_reconfigure(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	return ev != NULL && GST_EVENT_TYPE(ev) == GST_EVENT_RECONFIGURE ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

// ms_link_tee links a new branch to a running tee without the upstream
// RECONFIGURE event a link sends: it makes the encoders renegotiate, and
// their ALLOCATION query, serialized, waits in the new branch's queue on
// a sink that has not started (rtspclientsink with two streams waits for
// buffers on both before it handles it), which holds both encoders for
// ever. The caps never change; the new branch gets them from the tee's
// sticky events. Returns 0 on failure.
int ms_link_tee(GstElement *tee, GstElement *first) {
	GstPad *src = gst_element_request_pad_simple(tee, "src_%u");
	if (src == NULL)
		return 0;
	gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, ms_drop_reconfigure, NULL, NULL);
	GstPad *sink = gst_element_get_static_pad(first, "sink");
	int ok = sink != NULL && GST_PAD_LINK_SUCCESSFUL(gst_pad_link(src, sink));
	if (sink != NULL)
		gst_object_unref(sink);
	if (!ok)
		gst_element_release_request_pad(tee, src);
	gst_object_unref(src);
	return ok;
}

static GstPadProbeReturn ms_drain_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
	ms_post_drained(pad, GST_PAD_PROBE_INFO_EVENT(info));
	return GST_PAD_PROBE_OK;
}

// ms_watch_drain posts "mpegserver-drained" (as the counted element's
// probe does) when end-of-stream leaves e: everything before it has been
// handed on.
void ms_watch_drain(GstElement *e) {
	GstPad *pad = gst_element_get_static_pad(e, "src");
	if (pad == NULL)
		return;
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, ms_drain_probe, NULL, NULL);
	gst_object_unref(pad);
}
