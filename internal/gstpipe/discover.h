// GStreamer's Discoverer, called from C: go-gst v1.4.0's stream-list
// wrappers unref each stream info twice (they take the list's references
// and free the list too), a use-after-free the garbage collector springs.
#ifndef MPEGSERVER_DISCOVER_H
#define MPEGSERVER_DISCOVER_H

#include <gst/gst.h>

enum { MS_DISC_OK, MS_DISC_TIMEOUT, MS_DISC_FAILED };

typedef struct {
	int video; // a video stream was found
	int audio; // an audio stream was found
	int width, height, fps_n, fps_d;
	guint bitrate;
	gint64 duration; // ns, -1 unknown
	int live;
	char *codec; // caps name of the first video stream, g_free
	char *error; // g_free
} MsDiscovered;

int ms_discover(const char *uri, GstClockTime timeout, MsDiscovered *out);

#endif
