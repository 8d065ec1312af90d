// C helpers behind package gstpipe. Each exists because doing the same
// through go-gst costs Go allocations per frame, or needs API go-gst v1.4.0
// does not wrap.
#ifndef MPEGSERVER_GSTPIPE_H
#define MPEGSERVER_GSTPIPE_H

#include <stdint.h>
#include <gst/gst.h>

#include "latency.h"
#include "samples.h"

char *ms_set_arg(GstElement *e, const char *name, const char *value);
char *ms_get_arg(GstElement *e, const char *name);
char *ms_src_caps(GstElement *e);
int ms_set_appsrc_caps(GstElement *src, const char *caps);

GstBufferPool *ms_new_pool(const char *caps_str, guint max);
void ms_free_pool(GstBufferPool *pool);

GstFlowReturn ms_push(GstElement *src, GstBufferPool *pool, int fmt, int full, const guint8 *p0, int s0,
	const guint8 *p1, int s1, const guint8 *p2, int s2, int w, int h, int ow, int oh, guint8 *scratch,
	GstClockTime pts, GstClockTime dur, guint64 offset);
guint64 ms_level_buffers(GstElement *src);
GstFlowReturn ms_end_of_stream(GstElement *src);

typedef struct MsCounts MsCounts;
MsCounts *ms_watch_output(GstElement *e, int drains);
void ms_post_drained(GstPad *pad, GstEvent *ev);
gint64 ms_counts_frames(MsCounts *c);
MsLatency *ms_counts_latency(MsCounts *c);
gint64 ms_counts_bytes(MsCounts *c);

void ms_nosync(GstElement *pipe);
void ms_flow_callbacks(GstElement *e, uintptr_t h);
gint64 ms_running_time(GstElement *pipe);
enum { MS_MSG_NONE, MS_MSG_ERROR, MS_MSG_WARNING, MS_MSG_EOS, MS_MSG_DRAINED, MS_MSG_SINK_EOS, MS_MSG_OTHER };

// MsBusMsg is what ms_bus_pop copies out of a bus message.
typedef struct {
	int kind;
	char *src;   // name of the posting element, or NULL
	char *path;  // its path in the pipeline ("/GstPipeline:pipeline0/..."), or NULL
	char *text;  // error or warning text, or NULL
	char *debug; // debug text, or NULL
	int open_failed;
	int io_failed;
} MsBusMsg;

GstBus *ms_pipeline_bus(GstElement *pipe);
int ms_bus_pop(GstBus *bus, GstClockTime timeout, MsBusMsg *out);
void ms_bus_wake(GstBus *bus);
int ms_bus_fd(GstBus *bus);
void ms_forward_messages(GstElement *pipe);
int ms_branch_detach(GstElement *tee, GstElement *first);
void ms_drop_until_keyframe(GstElement *first);

void ms_quiet_gio(void);
void ms_trim_heap(void);
char *ms_launch_property(char **argv, const char *factory, const char *prop, char **err_out);

#endif
