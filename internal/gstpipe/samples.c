#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "samples.h"

// goMsSample is exported by exports.go.
extern void goMsSample(uintptr_t h, guint8 *data, gsize size);

// ms_new_sample runs on the streaming thread for each buffer that reaches
// the appsink: it pulls it (so the sink never queues) and hands its bytes
// to Go for the length of the call.
static GstFlowReturn ms_new_sample(GstAppSink *sink, gpointer h) {
	GstSample *s = gst_app_sink_pull_sample(sink);
	if (s == NULL)
		return GST_FLOW_EOS;
	GstBuffer *b = gst_sample_get_buffer(s);
	GstMapInfo m;
	if (b != NULL && gst_buffer_map(b, &m, GST_MAP_READ)) {
		goMsSample((uintptr_t)h, m.data, m.size);
		gst_buffer_unmap(b, &m);
	}
	gst_sample_unref(s);
	return GST_FLOW_OK;
}

// ms_sample_callbacks hands every buffer of an appsink to the Go function
// behind handle h (a runtime/cgo.Handle). Returns 0 if e is no appsink.
int ms_sample_callbacks(GstElement *e, uintptr_t h) {
	if (!GST_IS_APP_SINK(e))
		return 0;
	GstAppSinkCallbacks cb = {0};
	cb.new_sample = ms_new_sample;
	gst_app_sink_set_callbacks(GST_APP_SINK(e), &cb, (gpointer)h, NULL);
	return 1;
}

// ms_request_keyframe asks the encoder upstream of a linked element for a
// keyframe now (an upstream event, pushed from its sink pad). all_headers
// asks every element on the way to repeat its headers too; the parsers
// repeat SPS and PPS before every IDR anyway (config-interval=-1), and
// rtph264pay answers all-headers with a packet of its own: a reader sees
// an access unit holding SPS and PPS alone.
void ms_request_keyframe(GstElement *first, int all_headers) {
	GstPad *sink = gst_element_get_static_pad(first, "sink");
	if (sink == NULL)
		return;
	gst_pad_push_event(sink, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, all_headers, 0));
	gst_object_unref(sink);
}
