#include <gst/app/gstappsrc.h>
#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>
#include <string.h>

#include "convert.h"
#include "gstpipe.h"

// goMsFlow is exported by exports.go.
extern void goMsFlow(uintptr_t h, int enough);

// ms_set_arg sets a property from its gst-launch string form, through the
// same deserializer gst-launch-1.0 uses. Strings are set as they are, so a
// user's value is never re-parsed. Returns NULL or an error to g_free.
char *ms_set_arg(GstElement *e, const char *name, const char *value) {
	GParamSpec *p = g_object_class_find_property(G_OBJECT_GET_CLASS(e), name);
	if (p == NULL)
		return g_strdup_printf("%s has no property \"%s\"", G_OBJECT_TYPE_NAME(e), name);
	if (!(p->flags & G_PARAM_WRITABLE))
		return g_strdup_printf("property \"%s\" of %s is read-only", name, G_OBJECT_TYPE_NAME(e));
	GValue v = G_VALUE_INIT;
	g_value_init(&v, G_PARAM_SPEC_VALUE_TYPE(p));
	if (G_PARAM_SPEC_VALUE_TYPE(p) == G_TYPE_STRING) {
		g_value_set_string(&v, value);
	} else if (!gst_value_deserialize_with_pspec(&v, value, p)) {
		g_value_unset(&v);
		return g_strdup_printf("%s: \"%s\" is not a valid %s for \"%s\"", G_OBJECT_TYPE_NAME(e),
			value, g_type_name(G_PARAM_SPEC_VALUE_TYPE(p)), name);
	}
	g_object_set_property(G_OBJECT(e), name, &v);
	g_value_unset(&v);
	return NULL;
}

// ms_get_arg returns a property's current value in string form (g_free it).
char *ms_get_arg(GstElement *e, const char *name) {
	GParamSpec *p = g_object_class_find_property(G_OBJECT_GET_CLASS(e), name);
	if (p == NULL || !(p->flags & G_PARAM_READABLE))
		return NULL;
	GValue v = G_VALUE_INIT;
	g_value_init(&v, G_PARAM_SPEC_VALUE_TYPE(p));
	g_object_get_property(G_OBJECT(e), name, &v);
	char *s;
	if (G_VALUE_HOLDS_STRING(&v))
		s = g_value_dup_string(&v);
	else if (G_VALUE_HOLDS(&v, GST_TYPE_CAPS))
		s = gst_value_get_caps(&v) ? gst_caps_to_string(gst_value_get_caps(&v)) : NULL;
	else
		s = gst_value_serialize(&v);
	g_value_unset(&v);
	return s;
}

// ms_src_caps returns the caps negotiated on an element's src pad (g_free it).
char *ms_src_caps(GstElement *e) {
	GstPad *pad = gst_element_get_static_pad(e, "src");
	if (pad == NULL)
		return NULL;
	GstCaps *caps = gst_pad_get_current_caps(pad);
	gst_object_unref(pad);
	if (caps == NULL)
		return NULL;
	char *s = gst_caps_to_string(caps);
	gst_caps_unref(caps);
	return s;
}

// ms_set_appsrc_caps returns 0 if the caps do not parse.
int ms_set_appsrc_caps(GstElement *src, const char *caps) {
	GstCaps *c = gst_caps_from_string(caps);
	if (c == NULL || gst_caps_is_empty(c)) {
		if (c != NULL)
			gst_caps_unref(c);
		return 0;
	}
	gst_app_src_set_caps(GST_APP_SRC(src), c);
	gst_caps_unref(c);
	return 1;
}

// ms_new_pool makes the pool frames are converted into: buffers come back
// to it when the encoder is done with them, so after warm-up no frame pays
// for a fresh allocation (at 1080p, fresh buffers mean fresh pages and
// their page faults on every frame). Buffers are sized from the caps.
GstBufferPool *ms_new_pool(const char *caps_str, guint max) {
	GstCaps *caps = gst_caps_from_string(caps_str);
	GstVideoInfo info;
	if (caps == NULL || !gst_video_info_from_caps(&info, caps)) {
		if (caps != NULL)
			gst_caps_unref(caps);
		return NULL;
	}
	GstBufferPool *pool = gst_buffer_pool_new();
	GstStructure *conf = gst_buffer_pool_get_config(pool);
	gst_buffer_pool_config_set_params(conf, caps, info.size, 0, max);
	gst_caps_unref(caps);
	if (!gst_buffer_pool_set_config(pool, conf) || !gst_buffer_pool_set_active(pool, TRUE)) {
		gst_object_unref(pool);
		return NULL;
	}
	return pool;
}

void ms_free_pool(GstBufferPool *pool) {
	if (pool == NULL)
		return;
	gst_buffer_pool_set_active(pool, FALSE);
	gst_object_unref(pool);
}

// ms_push converts one frame into a pooled I420 buffer and gives it to
// appsrc, which takes the only reference: no Go object holds it, so it
// returns to the pool as soon as the encoder is done with it. If the pool
// is empty the frame gets a fresh buffer rather than waiting. Converting
// here (libyuv), while the frame is read anyway, replaces a copy plus a
// pass of videoconvert downstream; a 4:2:0 frame is only copied. A frame
// of w x h is scaled to appsrc's ow x oh here too, through scratch (an
// I420 frame of w x h), which beats videoscale (docs/design.md). full says
// the caps declare full range (yuvj420p), else limited.
GstFlowReturn ms_push(GstElement *src, GstBufferPool *pool, int fmt, int full, const guint8 *p0, int s0,
		const guint8 *p1, int s1, const guint8 *p2, int s2, int w, int h, int ow, int oh, guint8 *scratch,
		GstClockTime pts, GstClockTime dur, guint64 offset) {
	GstVideoInfo info;
	if (!gst_video_info_set_format(&info, GST_VIDEO_FORMAT_I420, ow, oh))
		return GST_FLOW_ERROR;
	GstBuffer *buf = NULL;
	GstBufferPoolAcquireParams params = {0};
	params.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;
	if (pool == NULL || gst_buffer_pool_acquire_buffer(pool, &buf, &params) != GST_FLOW_OK)
		buf = gst_buffer_new_allocate(NULL, info.size, NULL);
	if (buf == NULL)
		return GST_FLOW_ERROR;
	GstMapInfo map;
	if (!gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
		gst_buffer_unref(buf);
		return GST_FLOW_ERROR;
	}
	const guint8 *p[3] = {p0, p1, p2};
	int s[3] = {s0, s1, s2};
	guint8 *d[3] = {map.data + info.offset[0], map.data + info.offset[1], map.data + info.offset[2]};
	int ds[3] = {info.stride[0], info.stride[1], info.stride[2]};
	int ret = w == ow && h == oh ? ms_to_i420(fmt, p, s, w, h, full, d, ds) :
		ms_scale_i420(fmt, p, s, w, h, full, scratch, d, ds, ow, oh);
	gst_buffer_unmap(buf, &map);
	if (ret != 0) {
		gst_buffer_unref(buf);
		return GST_FLOW_NOT_SUPPORTED;
	}
	GST_BUFFER_PTS(buf) = pts;
	GST_BUFFER_DTS(buf) = pts;
	GST_BUFFER_DURATION(buf) = dur;
	GST_BUFFER_OFFSET(buf) = offset;
	return gst_app_src_push_buffer(GST_APP_SRC(src), buf);
}

// ms_level_buffers counts the frames appsrc holds that have not left it.
guint64 ms_level_buffers(GstElement *src) {
	return gst_app_src_get_current_level_buffers(GST_APP_SRC(src));
}

GstFlowReturn ms_end_of_stream(GstElement *src) {
	return gst_app_src_end_of_stream(GST_APP_SRC(src));
}

// MsCounts counts what leaves the watched element: encoded frames and
// bytes. It lives as long as the pad it watches.
struct MsCounts {
	gint64 frames;
	gint64 bytes;
	int drains;     // posts "mpegserver-drained" at EOS
	MsLatency *lat; // the encoder's output: how long each frame took
};

static void ms_counts_free(gpointer p) {
	MsCounts *c = p;
	ms_latency_free(c->lat);
	g_free(c);
}

// ms_probe counts buffers and, when EOS passes, posts an application
// message "mpegserver-drained". Every element before the pad runs on the
// same streaming thread, so by then every frame before EOS has been handed
// on.
static GstPadProbeReturn ms_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data) {
	MsCounts *c = user_data;
	if (!c->drains && (info->type & GST_PAD_PROBE_TYPE_BUFFER) == 0)
		return GST_PAD_PROBE_OK;
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
		__atomic_add_fetch(&c->frames, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->bytes, (gint64)gst_buffer_get_size(b), __ATOMIC_RELAXED);
		if (c->lat != NULL) {
			// Encoders may shift time stamps (GstVideoEncoder adds 1000 h
			// to leave room for B-frames' DTS): compare running times,
			// which appsrc's time stamps are.
			GstEvent *seg = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
			if (seg != NULL) {
				const GstSegment *sg;
				gst_event_parse_segment(seg, &sg);
				ms_latency_encoded(c->lat, gst_segment_to_running_time(sg, GST_FORMAT_TIME, GST_BUFFER_PTS(b)));
				gst_event_unref(seg);
			}
		}
		return GST_PAD_PROBE_OK;
	}
	ms_post_drained(pad, GST_PAD_PROBE_INFO_EVENT(info));
	return GST_PAD_PROBE_OK;
}

// ms_post_drained posts "mpegserver-drained" from pad's element when ev
// is end-of-stream.
void ms_post_drained(GstPad *pad, GstEvent *ev) {
	if (ev == NULL || GST_EVENT_TYPE(ev) != GST_EVENT_EOS)
		return;
	GstObject *parent = gst_pad_get_parent(pad);
	if (parent != NULL) {
		gst_element_post_message(GST_ELEMENT(parent), gst_message_new_application(parent,
			gst_structure_new_empty("mpegserver-drained")));
		gst_object_unref(parent);
	}
}

MsCounts *ms_watch_output(GstElement *e, int drains) {
	GstPad *pad = gst_element_get_static_pad(e, "src");
	if (pad == NULL)
		return NULL;
	MsCounts *c = g_new0(MsCounts, 1);
	c->drains = drains;
	if (drains)
		c->lat = ms_latency_new();
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_BUFFER, ms_probe, c, ms_counts_free);
	gst_object_unref(pad);
	return c;
}

gint64 ms_counts_frames(MsCounts *c) { return c ? __atomic_load_n(&c->frames, __ATOMIC_RELAXED) : 0; }
gint64 ms_counts_bytes(MsCounts *c) { return c ? __atomic_load_n(&c->bytes, __ATOMIC_RELAXED) : 0; }
MsLatency *ms_counts_latency(MsCounts *c) { return c ? c->lat : NULL; }

// ms_nosync turns off clock sync on every sink of the pipeline, those in
// it now (rtmp2sink, srtsink, udpsink, filesink, and inside bins) and those
// added later (rtspclientsink makes its own when it starts recording, a
// replaced branch brings new ones): frames go out as soon as they are
// encoded, as FFmpeg sends them; the caller is paced by the frames-ahead
// rule instead (docs/design.md has the measurement).
static void ms_on_deep_added(GstBin *bin, GstBin *sub, GstElement *e, gpointer data) {
	if (GST_IS_BASE_SINK(e))
		g_object_set(e, "sync", FALSE, NULL);
}

static void ms_nosync_one(const GValue *v, gpointer data) {
	GstElement *e = g_value_get_object(v);
	if (GST_IS_BASE_SINK(e))
		g_object_set(e, "sync", FALSE, NULL);
}

void ms_nosync(GstElement *pipe) {
	g_signal_connect(pipe, "deep-element-added", G_CALLBACK(ms_on_deep_added), NULL);
	GstIterator *it = gst_bin_iterate_recurse(GST_BIN(pipe));
	while (gst_iterator_foreach(it, ms_nosync_one, NULL) == GST_ITERATOR_RESYNC)
		gst_iterator_resync(it);
	gst_iterator_free(it);
}

// MsFlow is one appsrc's last reported state. need-data fires on the
// streaming thread for nearly every frame; a call into Go from a thread
// Go did not start binds it a P until the scheduler's monitor takes it
// back, so only changes cross into Go. The lock keeps the changes in
// order: enough-data runs on the pushing thread, need-data on the
// streaming thread.
typedef struct {
	GMutex mu;
	int enough;
	uintptr_t h;
} MsFlow;

static void ms_flow_set(MsFlow *f, int enough) {
	g_mutex_lock(&f->mu);
	if (f->enough != enough) {
		f->enough = enough;
		goMsFlow(f->h, enough);
	}
	g_mutex_unlock(&f->mu);
}

static void ms_need_data(GstAppSrc *src, guint length, gpointer f) { ms_flow_set(f, 0); }
static void ms_enough_data(GstAppSrc *src, gpointer f) { ms_flow_set(f, 1); }

static void ms_flow_free(gpointer p) {
	MsFlow *f = p;
	g_mutex_clear(&f->mu);
	g_free(f);
}

// ms_flow_callbacks reports appsrc's changes between need-data and
// enough-data to the Go function behind handle h (a runtime/cgo.Handle),
// which starts out told "need data".
void ms_flow_callbacks(GstElement *e, uintptr_t h) {
	GstAppSrcCallbacks cb = {0};
	cb.need_data = ms_need_data;
	cb.enough_data = ms_enough_data;
	MsFlow *f = g_new0(MsFlow, 1);
	g_mutex_init(&f->mu);
	f->h = h;
	gst_app_src_set_callbacks(GST_APP_SRC(e), &cb, f, ms_flow_free);
}

// ms_running_time is the pipeline's running time now: clock time minus base
// time, the time line buffer timestamps are on. -1 before PLAYING.
gint64 ms_running_time(GstElement *pipe) {
	GstClock *c = gst_element_get_clock(pipe);
	if (c == NULL)
		return -1;
	GstClockTime now = gst_clock_get_time(c);
	gst_object_unref(c);
	GstClockTime base = gst_element_get_base_time(pipe);
	if (!GST_CLOCK_TIME_IS_VALID(now) || !GST_CLOCK_TIME_IS_VALID(base))
		return -1;
	return now > base ? (gint64)(now - base) : 0;
}

// ms_open_failure says whether an error means a resource could not be
// opened (a server that refused or vanished before the stream began):
// GStreamer's resource-error domain, codes NOT_FOUND and OPEN_*.
static int ms_open_failure(GError *err) {
	return err->domain == GST_RESOURCE_ERROR &&
		(err->code == GST_RESOURCE_ERROR_NOT_FOUND || err->code == GST_RESOURCE_ERROR_OPEN_READ ||
		 err->code == GST_RESOURCE_ERROR_OPEN_WRITE || err->code == GST_RESOURCE_ERROR_OPEN_READ_WRITE);
}

// ms_io_failure says whether an error means reading or writing an open
// resource failed (a connection lost, a disk full).
static int ms_io_failure(GError *err) {
	return err->domain == GST_RESOURCE_ERROR &&
		(err->code == GST_RESOURCE_ERROR_READ || err->code == GST_RESOURCE_ERROR_WRITE ||
		 err->code == GST_RESOURCE_ERROR_CLOSE || err->code == GST_RESOURCE_ERROR_SYNC ||
		 err->code == GST_RESOURCE_ERROR_NO_SPACE_LEFT);
}

GstBus *ms_pipeline_bus(GstElement *pipe) {
	return gst_pipeline_get_bus(GST_PIPELINE(pipe));
}

// ms_bus_pop waits up to timeout for an error, warning, EOS or
// "mpegserver-drained" message and copies out what it says (strings to
// g_free). The message is unreffed here, so nothing it refers to (its
// source element) outlives it on the Go side. Returns the kind, or
// MS_MSG_NONE.
int ms_bus_pop(GstBus *bus, GstClockTime timeout, MsBusMsg *out) {
	memset(out, 0, sizeof(*out));
	GstMessage *msg = gst_bus_timed_pop_filtered(bus, timeout,
		GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_EOS | GST_MESSAGE_APPLICATION | GST_MESSAGE_ELEMENT);
	if (msg == NULL)
		return MS_MSG_NONE;
	GError *err = NULL;
	gchar *debug = NULL;
	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_ERROR:
		gst_message_parse_error(msg, &err, &debug);
		out->kind = MS_MSG_ERROR;
		out->open_failed = err != NULL && ms_open_failure(err);
		out->io_failed = err != NULL && ms_io_failure(err);
		break;
	case GST_MESSAGE_WARNING:
		gst_message_parse_warning(msg, &err, &debug);
		out->kind = MS_MSG_WARNING;
		break;
	case GST_MESSAGE_EOS:
		out->kind = MS_MSG_EOS;
		break;
	case GST_MESSAGE_APPLICATION: {
		const GstStructure *st = gst_message_get_structure(msg);
		out->kind = st != NULL && gst_structure_has_name(st, "mpegserver-drained") ? MS_MSG_DRAINED : MS_MSG_OTHER;
		break;
	}
	case GST_MESSAGE_ELEMENT: {
		// With message-forward (ms_forward_messages), a child's EOS comes
		// wrapped: it says that one sink has finished.
		const GstStructure *st = gst_message_get_structure(msg);
		const GValue *v = st != NULL && gst_structure_has_name(st, "GstBinForwarded") ?
			gst_structure_get_value(st, "message") : NULL;
		GstMessage *inner = v != NULL ? g_value_get_boxed(v) : NULL;
		if (inner != NULL && GST_MESSAGE_TYPE(inner) == GST_MESSAGE_EOS && GST_MESSAGE_SRC(inner) != NULL) {
			out->kind = MS_MSG_SINK_EOS;
			out->src = g_strdup(GST_OBJECT_NAME(GST_MESSAGE_SRC(inner)));
			out->path = gst_object_get_path_string(GST_MESSAGE_SRC(inner));
		} else {
			out->kind = MS_MSG_OTHER;
		}
		gst_message_unref(msg);
		return out->kind;
	}
	default:
		out->kind = MS_MSG_OTHER;
	}
	if (err != NULL) {
		out->text = g_strdup(err->message);
		g_error_free(err);
	}
	out->debug = debug;
	if (GST_MESSAGE_SRC(msg) != NULL) {
		out->src = g_strdup(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)));
		out->path = gst_object_get_path_string(GST_MESSAGE_SRC(msg));
	}
	gst_message_unref(msg);
	return out->kind;
}

// ms_forward_messages makes the pipeline pass on its children's messages
// too (wrapped as "GstBinForwarded"), so each sink's own EOS is seen, not
// only the pipeline's, which never comes while one output has failed.
void ms_forward_messages(GstElement *pipe) {
	g_object_set(pipe, "message-forward", TRUE, NULL);
}

// ms_bus_fd is the bus's file descriptor, readable while messages wait.
int ms_bus_fd(GstBus *bus) {
	GPollFD pfd;
	gst_bus_get_pollfd(bus, &pfd);
	return pfd.fd;
}

// ms_bus_wake posts a message that wakes a waiting ms_bus_pop. It has no
// source object, so it holds no reference to the pipeline.
void ms_bus_wake(GstBus *bus) {
	gst_bus_post(bus, gst_message_new_application(NULL, gst_structure_new_empty("mpegserver-stop")));
}

// ms_on_gio_critical drops the criticals GIO logs when rtspclientsink keeps
// using its connection after the server closed it (g_socket_get_timeout:
// assertion 'G_IS_SOCKET (socket)' failed, and the same for its streams):
// the loss itself reaches the caller as an error, and the sink recovers.
// Any other message goes to GLib's default handler.
static void ms_on_gio_critical(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data) {
	if (message != NULL && (strstr(message, "'G_IS_SOCKET (socket)'") != NULL ||
			strstr(message, "'G_IS_OUTPUT_STREAM (stream)'") != NULL ||
			strstr(message, "'G_IS_INPUT_STREAM (stream)'") != NULL)) {
		return;
	}
	g_log_default_handler(domain, level, message, NULL);
}

void ms_quiet_gio(void) {
	g_log_set_handler("GLib-GIO", G_LOG_LEVEL_CRITICAL, ms_on_gio_critical, NULL);
}

// ms_launch_property parses a gst-launch-1.0 argument list as gst-launch-1.0
// does and returns, to g_free, the property prop of the first element made
// by factory; NULL with *err_out set (to g_free) if parsing fails or no
// such element is there. Nothing is started.
char *ms_launch_property(char **argv, const char *factory, const char *prop, char **err_out) {
	GError *err = NULL;
	GstElement *pipe = gst_parse_launchv((const gchar **)argv, &err);
	if (pipe == NULL || err != NULL) {
		*err_out = g_strdup(err != NULL ? err->message : "could not parse");
		if (err != NULL)
			g_error_free(err);
		if (pipe != NULL)
			gst_object_unref(pipe);
		return NULL;
	}
	char *value = NULL;
	*err_out = NULL;
	GstIterator *it = gst_bin_iterate_recurse(GST_BIN(pipe));
	GValue item = G_VALUE_INIT;
	gboolean done = FALSE;
	while (!done) {
		switch (gst_iterator_next(it, &item)) {
		case GST_ITERATOR_OK: {
			GstElement *e = g_value_get_object(&item);
			GstElementFactory *f = gst_element_get_factory(e);
			if (value == NULL && f != NULL && g_strcmp0(GST_OBJECT_NAME(f), factory) == 0)
				value = ms_get_arg(e, prop);
			g_value_reset(&item);
			break;
		}
		case GST_ITERATOR_RESYNC:
			gst_iterator_resync(it);
			break;
		default:
			done = TRUE;
		}
	}
	g_value_unset(&item);
	gst_iterator_free(it);
	gst_object_unref(pipe);
	if (value == NULL)
		*err_out = g_strdup_printf("no %s with a readable %s", factory, prop);
	return value;
}

#ifdef __GLIBC__
#include <malloc.h>
#endif

// ms_trim_heap gives memory that freed pipelines left in the C allocator
// back to the system. glibc keeps freed memory in per-thread arenas, and
// every pipeline runs on threads of its own: without this, RSS rose about
// 1 MB with each reconnection (and fell back to below where it started on
// a malloc_trim, so it was never a leak).
void ms_trim_heap(void) {
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

// ms_branch_detach cuts a tee branch off: it releases the tee's request
// pad that feeds first (the branch's first element), which unlinks it;
// the tee goes on feeding its other pads. Returns 0 if first had no peer.
int ms_branch_detach(GstElement *tee, GstElement *first) {
	GstPad *sink = gst_element_get_static_pad(first, "sink");
	if (sink == NULL)
		return 0;
	GstPad *src = gst_pad_get_peer(sink);
	gst_object_unref(sink);
	if (src == NULL)
		return 0;
	gst_element_release_request_pad(tee, src);
	gst_object_unref(src);
	return 1;
}

static GstPadProbeReturn ms_until_keyframe(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
	if (b != NULL && GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT))
		return GST_PAD_PROBE_DROP;
	return GST_PAD_PROBE_REMOVE;
}

// ms_drop_until_keyframe makes a branch that is about to join start with
// a picture: frames before the next keyframe are dropped at its entrance.
void ms_drop_until_keyframe(GstElement *first) {
	GstPad *sink = gst_element_get_static_pad(first, "sink");
	if (sink == NULL)
		return;
	gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, ms_until_keyframe, NULL, NULL);
	gst_object_unref(sink);
}

