// Buffers out of an appsink into Go, and keyframe requests: what an
// output that sends from Go (WHIP's WebRTC peer connection) needs.
#ifndef MPEGSERVER_SAMPLES_H
#define MPEGSERVER_SAMPLES_H

#include <stdint.h>
#include <gst/gst.h>

int ms_sample_callbacks(GstElement *sink, uintptr_t h);
void ms_request_keyframe(GstElement *first, int all_headers);

#endif
