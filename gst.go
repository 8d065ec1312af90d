package mpegserver

// This file is the only one that talks to GStreamer: go-gst calls and the
// few cgo helpers below. Moving to other bindings means rewriting this file,
// not the design.

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-base-1.0 gstreamer-app-1.0 gstreamer-video-1.0
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

// ms_set_arg sets a property from its gst-launch string form, through the
// same deserializer gst-launch-1.0 uses. Strings are set as they are, so a
// user's value is never re-parsed. Returns NULL or an error to g_free.
static char *ms_set_arg(GstElement *e, const char *name, const char *value) {
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
static char *ms_get_arg(GstElement *e, const char *name) {
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
static char *ms_src_caps(GstElement *e) {
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

static void ms_set_appsrc_caps(GstElement *src, const char *caps) {
	GstCaps *c = gst_caps_from_string(caps);
	gst_app_src_set_caps(GST_APP_SRC(src), c);
	gst_caps_unref(c);
}

// ms_new_pool makes the pool frames are converted into: buffers come back
// to it when the encoder is done with them, so after warm-up no frame pays
// for a fresh allocation (at 1080p, fresh buffers mean fresh pages and
// their page faults on every frame). Buffers are sized from the caps.
static GstBufferPool *ms_new_pool(const char *caps_str, guint max) {
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

static void ms_free_pool(GstBufferPool *pool) {
	if (pool == NULL)
		return;
	gst_buffer_pool_set_active(pool, FALSE);
	gst_object_unref(pool);
}

// Y'CbCr coefficients, limited range, scaled by 256: Y from R, G, B; then
// Cb; then Cr. Each chroma row sums to 0 so greys get exactly 128.
static const int ms_bt601[9] = {66, 129, 25, -38, -74, 112, 112, -94, -18};
static const int ms_bt709[9] = {47, 157, 16, -26, -86, 112, 112, -102, -10};

// ms_to_i420 converts packed RGB (bpp 3) or RGBx (bpp 4, the fourth byte
// ignored) to I420 in one pass over the source: two rows at a time, each
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

static void ms_to_i420_rgb(const guint8 *src, int w, int h, int stride, guint8 *yp, int ys, guint8 *up, int us,
		guint8 *vp, int vs, const int *k) {
	ms_to_i420(src, w, h, stride, 3, yp, ys, up, us, vp, vs, k);
}

static void ms_to_i420_rgbx(const guint8 *src, int w, int h, int stride, guint8 *yp, int ys, guint8 *up, int us,
		guint8 *vp, int vs, const int *k) {
	ms_to_i420(src, w, h, stride, 4, yp, ys, up, us, vp, vs, k);
}

// ms_push converts one frame into a pooled I420 buffer and gives it to
// appsrc, which takes the only reference: no Go object holds it, so it
// returns to the pool as soon as the encoder is done with it. If the pool
// is empty the frame gets a fresh buffer rather than waiting. Converting
// here, while the frame is read anyway, replaces a copy plus a pass of
// videoconvert downstream; bt709 picks the matrix the caps declare.
static GstFlowReturn ms_push(GstElement *src, GstBufferPool *pool, const guint8 *data, int w, int h, int stride, int bpp,
		int bt709, GstClockTime pts, GstClockTime dur, guint64 offset) {
	GstVideoInfo info;
	if (!gst_video_info_set_format(&info, GST_VIDEO_FORMAT_I420, w, h))
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
	guint8 *out = map.data;
	const int *k = bt709 ? ms_bt709 : ms_bt601;
	if (bpp == 3)
		ms_to_i420_rgb(data, w, h, stride, out + info.offset[0], info.stride[0], out + info.offset[1], info.stride[1],
			out + info.offset[2], info.stride[2], k);
	else
		ms_to_i420_rgbx(data, w, h, stride, out + info.offset[0], info.stride[0], out + info.offset[1], info.stride[1],
			out + info.offset[2], info.stride[2], k);
	gst_buffer_unmap(buf, &map);
	GST_BUFFER_PTS(buf) = pts;
	GST_BUFFER_DTS(buf) = pts;
	GST_BUFFER_DURATION(buf) = dur;
	GST_BUFFER_OFFSET(buf) = offset;
	return gst_app_src_push_buffer(GST_APP_SRC(src), buf);
}

static guint64 ms_level_bytes(GstElement *src) {
	return gst_app_src_get_current_level_bytes(GST_APP_SRC(src));
}

static GstFlowReturn ms_end_of_stream(GstElement *src) {
	return gst_app_src_end_of_stream(GST_APP_SRC(src));
}

// MsCounts counts what leaves the last element before the sink: encoded
// frames and bytes. It lives as long as the pad it watches.
typedef struct {
	gint64 frames;
	gint64 bytes;
} MsCounts;

// ms_probe counts encoded buffers and, when EOS passes, posts an
// application message "mpegserver-drained". Every element before the pad
// runs on the same streaming thread, so by then every frame before EOS has
// been handed on.
static GstPadProbeReturn ms_probe(GstPad *pad, GstPadProbeInfo *info, gpointer user_data) {
	MsCounts *c = user_data;
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
		__atomic_add_fetch(&c->frames, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&c->bytes, (gint64)gst_buffer_get_size(b), __ATOMIC_RELAXED);
		return GST_PAD_PROBE_OK;
	}
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	if (ev != NULL && GST_EVENT_TYPE(ev) == GST_EVENT_EOS) {
		GstObject *parent = gst_pad_get_parent(pad);
		if (parent != NULL) {
			gst_element_post_message(GST_ELEMENT(parent), gst_message_new_application(parent,
				gst_structure_new_empty("mpegserver-drained")));
			gst_object_unref(parent);
		}
	}
	return GST_PAD_PROBE_OK;
}

static MsCounts *ms_watch_output(GstElement *e) {
	GstPad *pad = gst_element_get_static_pad(e, "src");
	if (pad == NULL)
		return NULL;
	MsCounts *c = g_new0(MsCounts, 1);
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM | GST_PAD_PROBE_TYPE_BUFFER,
		ms_probe, c, g_free);
	gst_object_unref(pad);
	return c;
}

static gint64 ms_counts_frames(MsCounts *c) { return c ? __atomic_load_n(&c->frames, __ATOMIC_RELAXED) : 0; }
static gint64 ms_counts_bytes(MsCounts *c) { return c ? __atomic_load_n(&c->bytes, __ATOMIC_RELAXED) : 0; }

// ms_nosync turns off clock sync on every sink created inside the pipeline
// (rtspclientsink makes its own when it starts recording): frames go out as
// soon as they are encoded, as FFmpeg sends them; the blocking call and the
// frames-ahead rule already pace the producer. Holding each frame until its
// play time added about two frame periods of latency (measured).
static void ms_on_deep_added(GstBin *bin, GstBin *sub, GstElement *e, gpointer data) {
	if (GST_IS_BASE_SINK(e))
		g_object_set(e, "sync", FALSE, NULL);
}

static void ms_nosync(GstElement *pipe) {
	g_signal_connect(pipe, "deep-element-added", G_CALLBACK(ms_on_deep_added), NULL);
}

extern void goMsFlow(uintptr_t h, int enough);

static void ms_need_data(GstAppSrc *src, guint length, gpointer h) { goMsFlow((uintptr_t)h, 0); }
static void ms_enough_data(GstAppSrc *src, gpointer h) { goMsFlow((uintptr_t)h, 1); }

// ms_flow_callbacks reports appsrc's need-data / enough-data to the flow
// state behind handle h (a runtime/cgo.Handle).
static void ms_flow_callbacks(GstElement *e, uintptr_t h) {
	GstAppSrcCallbacks cb = {0};
	cb.need_data = ms_need_data;
	cb.enough_data = ms_enough_data;
	gst_app_src_set_callbacks(GST_APP_SRC(e), &cb, (gpointer)h, NULL);
}

// ms_running_time is the pipeline's running time now: clock time minus base
// time, the time line buffer timestamps are on. -1 before PLAYING.
static gint64 ms_running_time(GstElement *pipe) {
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
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

var initOnce sync.Once

func gstInit() { initOnce.Do(func() { gst.Init(nil) }) }

// installed reports whether a GStreamer element factory is available.
func installed(factory string) bool {
	gstInit()
	return gst.Find(factory) != nil
}

// availableCodecs lists the codec names whose encoder is installed.
func availableCodecs() []string {
	var out []string
	for _, n := range codecNames() {
		c, _ := lookupCodec(n)
		if installed(c.Encoder) && installed(c.Parser) {
			out = append(out, n)
		}
	}
	return out
}

// checkInstalled fails with a clear error when an element is missing.
func checkInstalled(d Description, codecName string) error {
	cd, _ := lookupCodec(codecName)
	for _, e := range d.Elements {
		if installed(e.Factory) {
			continue
		}
		if e.Factory == cd.Encoder || e.Factory == cd.Parser {
			return fmt.Errorf("%w: %q needs GStreamer element %s, which is not installed (available here: %s)",
				ErrUnknownCodec, codecName, e.Factory, strings.Join(availableCodecs(), ", "))
		}
		return fmt.Errorf("%w: GStreamer element %s is not installed (run `make deps`)", ErrPipeline, e.Factory)
	}
	return nil
}

// busEvent is what the bus watcher reports.
type busEvent struct {
	kind busKind
	err  *PipelineError // for evError
	text string         // for evWarning
}

type busKind int

const (
	evError busKind = iota
	evWarning
	// evEOS: end-of-stream has passed the last element before the sink,
	// so every frame has been handed to it. (Waiting for the pipeline's own
	// EOS message is not enough: rtspclientsink's internal RTCP sink often
	// finishes EOS seconds later, or not at all, measured here about one
	// Close in three.)
	evEOS
	evPipeEOS
)

// livePipeline is a built GStreamer pipeline.
type livePipeline struct {
	pipe       *gst.Pipeline
	elems      []*gst.Element // in Description order
	appsrc     *gst.Element
	srcPtr     *C.GstElement
	pipePtr    *C.GstElement
	counts     *C.MsCounts
	pool       *C.GstBufferPool
	bt709      bool // the appsrc caps declare BT.709, else BT.601
	flowHandle cgo.Handle
	stop       chan struct{}
	stopOnce   sync.Once
	busDone    chan struct{}
	watching   bool // the bus watcher runs (start was called)
}

func elemPtr(e *gst.Element) *C.GstElement { return (*C.GstElement)(e.Unsafe()) }

// build creates the elements, sets their properties from the description's
// strings, and links them in order. Nothing runs until start.
// poolFrames bounds the buffer pool (0: no pool); frameSize is one frame.
func build(d Description, f *flow, frameSize, poolFrames int) (*livePipeline, error) {
	gstInit()
	pipe, err := gst.NewPipeline("")
	if err != nil {
		return nil, fmt.Errorf("%w: creating pipeline: %v", ErrPipeline, err)
	}
	lp := &livePipeline{pipe: pipe, pipePtr: elemPtr(pipe.Element), stop: make(chan struct{}), busDone: make(chan struct{})}
	for i, ed := range d.Elements {
		e, err := gst.NewElement(ed.Factory)
		if err != nil {
			return nil, fmt.Errorf("%w: creating %s: %v", ErrPipeline, ed.Factory, err)
		}
		for _, p := range ed.Props {
			if err := setArg(e, p); err != nil {
				return nil, err
			}
		}
		if ed.Factory == "appsrc" {
			lp.appsrc, lp.srcPtr = e, elemPtr(e)
			// appsrc gets the caps of the capsfilter that follows it, so
			// its buffers are typed from the first one.
			if i+1 < len(d.Elements) && len(d.Elements[i+1].Props) > 0 {
				cs := C.CString(d.Elements[i+1].Props[0].Value)
				C.ms_set_appsrc_caps(lp.srcPtr, cs)
				if poolFrames > 0 && frameSize > 0 {
					lp.pool = C.ms_new_pool(cs, C.guint(poolFrames))
				}
				lp.bt709 = strings.Contains(d.Elements[i+1].Props[0].Value, "colorimetry=bt709")
				C.free(unsafe.Pointer(cs))
			}
			// The handle refers to the flow state only, never an element,
			// so nothing here keeps the pipeline alive; release deletes it.
			lp.flowHandle = cgo.NewHandle(f)
			C.ms_flow_callbacks(lp.srcPtr, C.uintptr_t(lp.flowHandle))
		}
		lp.elems = append(lp.elems, e)
	}
	if d.Live {
		C.ms_nosync(lp.pipePtr)
	}
	if err := pipe.AddMany(lp.elems...); err != nil {
		return nil, fmt.Errorf("%w: adding elements: %v", ErrPipeline, err)
	}
	if err := gst.ElementLinkMany(lp.elems...); err != nil {
		return nil, fmt.Errorf("%w: linking elements: %v", ErrPipeline, err)
	}
	for i, ed := range d.Elements {
		if strings.HasSuffix(ed.Factory, "parse") {
			// The counts are freed with the pad, which lives as long as
			// lp.elems holds the element: reading them is safe while lp is.
			lp.counts = C.ms_watch_output(elemPtr(lp.elems[i]))
			runtime.KeepAlive(lp.elems[i])
		}
	}
	return lp, nil
}

func setArg(e *gst.Element, p Prop) error {
	cn, cv := C.CString(p.Name), C.CString(p.Value)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cv))
	msg := C.ms_set_arg(elemPtr(e), cn, cv)
	runtime.KeepAlive(e)
	if msg == nil {
		return nil
	}
	defer C.g_free(C.gpointer(msg))
	s := C.GoString(msg)
	if p.Secret {
		s = strings.ReplaceAll(s, p.Value, redacted)
	}
	return fmt.Errorf("%w: %s", ErrBadParameter, s)
}

// getArg reads a property back in string form ("" if it has none).
func getArg(e *gst.Element, name string) string {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	s := C.ms_get_arg(elemPtr(e), cn)
	runtime.KeepAlive(e)
	if s == nil {
		return ""
	}
	defer C.g_free(C.gpointer(s))
	return C.GoString(s)
}

func srcCaps(e *gst.Element) string {
	s := C.ms_src_caps(elemPtr(e))
	runtime.KeepAlive(e)
	if s == nil {
		return ""
	}
	defer C.g_free(C.gpointer(s))
	return C.GoString(s)
}

// start sets the pipeline playing and watches its bus on a goroutine,
// reporting to onEvent until stop. TimedPopFiltered needs no GLib main loop.
func (lp *livePipeline) start(onEvent func(busEvent)) error {
	bus := lp.pipe.GetPipelineBus()
	lp.watching = true
	go func() {
		defer close(lp.busDone)
		types := gst.MessageError | gst.MessageWarning | gst.MessageEOS | gst.MessageApplication
		for {
			select {
			case <-lp.stop:
				return
			default:
			}
			// The timeout bounds how long stop can go unnoticed if the
			// wake-up message is lost.
			msg := bus.TimedPopFiltered(gst.ClockTime(200*time.Millisecond), types)
			if msg == nil {
				continue
			}
			switch msg.Type() {
			case gst.MessageError:
				gerr := msg.ParseError()
				onEvent(busEvent{kind: evError, err: &PipelineError{
					Element: msg.Source(), Message: gerr.Error(), Debug: gerr.DebugString(), kind: ErrPipeline}})
			case gst.MessageWarning:
				gerr := msg.ParseWarning()
				onEvent(busEvent{kind: evWarning, text: msg.Source() + ": " + gerr.Error()})
			case gst.MessageEOS:
				onEvent(busEvent{kind: evEOS})
				onEvent(busEvent{kind: evPipeEOS})
			case gst.MessageApplication:
				if st := msg.GetStructure(); st != nil && st.Name() == "mpegserver-drained" {
					onEvent(busEvent{kind: evEOS})
				}
			}
		}
	}()
	if err := lp.pipe.SetState(gst.StatePlaying); err != nil {
		return fmt.Errorf("%w: cannot start pipeline: %v", ErrPipeline, err)
	}
	return nil
}

// release stops the pipeline and its bus watcher and drops the elements.
// Safe to call more than once.
func (lp *livePipeline) release() {
	lp.stopOnce.Do(func() {
		close(lp.stop)
		if lp.watching {
			// Wake the watcher before stopping the pipeline: a bus in NULL
			// state drops posted messages, and the watcher would sleep out
			// its poll timeout (this cost every Close 200 ms).
			lp.pipe.GetPipelineBus().Post(gst.NewApplicationMessage(lp.pipe, gst.NewStructure("mpegserver-stop")))
			<-lp.busDone
		}
		_ = lp.pipe.SetState(gst.StateNull)
		// Buffers still held downstream keep the pool alive until freed.
		C.ms_free_pool(lp.pool)
		lp.pool = nil
		if lp.flowHandle != 0 {
			// In NULL state appsrc calls back no more.
			lp.flowHandle.Delete()
		}
	})
}

// encoded returns the frames and bytes the encoder has handed on.
func (lp *livePipeline) encoded() (frames, bytes int64) {
	f, b := int64(C.ms_counts_frames(lp.counts)), int64(C.ms_counts_bytes(lp.counts))
	runtime.KeepAlive(lp.elems)
	return f, b
}

// readyDot sets the pipeline to READY, which connects nothing, and
// returns its graph.
func (lp *livePipeline) readyDot() (string, error) {
	if err := lp.pipe.SetState(gst.StateReady); err != nil {
		return "", fmt.Errorf("%w: pipeline does not reach READY: %v", ErrPipeline, err)
	}
	return lp.dot(), nil
}

// push gives one frame to appsrc. It never blocks (block=false): back
// pressure is handled by the caller through the flow state.
func (lp *livePipeline) push(fr frame, pts, dur time.Duration, offset int64) gst.FlowReturn {
	bt709 := C.int(0)
	if lp.bt709 {
		bt709 = 1
	}
	ret := C.ms_push(lp.srcPtr, lp.pool, (*C.guint8)(unsafe.Pointer(unsafe.SliceData(fr.data))),
		C.int(fr.w), C.int(fr.h), C.int(fr.stride), C.int(fr.bpp), bt709,
		C.GstClockTime(pts), C.GstClockTime(dur), C.guint64(offset))
	runtime.KeepAlive(fr.data)
	runtime.KeepAlive(lp.appsrc)
	return gst.FlowReturn(ret)
}

func (lp *livePipeline) endOfStream() gst.FlowReturn {
	ret := C.ms_end_of_stream(lp.srcPtr)
	runtime.KeepAlive(lp.appsrc)
	return gst.FlowReturn(ret)
}

// queuedBytes is what appsrc holds that has not left it yet.
func (lp *livePipeline) queuedBytes() uint64 {
	n := C.ms_level_bytes(lp.srcPtr)
	runtime.KeepAlive(lp.appsrc)
	return uint64(n)
}

// runningTime is the pipeline's running time, or -1 before it has a clock.
func (lp *livePipeline) runningTime() time.Duration {
	t := C.ms_running_time(lp.pipePtr)
	runtime.KeepAlive(lp.pipe)
	return time.Duration(t)
}

// describe writes each element with its properties as they are now and
// the caps on its output.
func (lp *livePipeline) describe(d Description, w *strings.Builder) {
	for i, ed := range d.Elements {
		e := lp.elems[i]
		fmt.Fprintf(w, "%d. %s (%s)\n", i+1, ed.Factory, e.GetName())
		for _, p := range ed.Props {
			v := getArg(e, p.Name)
			if p.Secret {
				v = redacted
			}
			fmt.Fprintf(w, "     %s = %s\n", p.Name, v)
		}
		if caps := srcCaps(e); caps != "" {
			fmt.Fprintf(w, "     output caps: %s\n", caps)
		}
	}
}

// dot returns the live pipeline graph in Graphviz form.
func (lp *livePipeline) dot() string {
	return lp.pipe.DebugBinToDotData(gst.DebugGraphShowAll)
}
