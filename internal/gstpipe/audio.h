// C helpers for the audio track: pushing samples (or silence) into the
// audio appsrc, its queue level in time, linking the track into a muxer's
// request pad, and the probe that says the track has drained.
#ifndef MPEGSERVER_AUDIO_H
#define MPEGSERVER_AUDIO_H

#include <gst/gst.h>

GstFlowReturn ms_push_audio(GstElement *src, const guint8 *data, gsize size, GstClockTime pts, GstClockTime dur,
	guint64 offset, guint64 offset_end);
guint64 ms_level_time(GstElement *src);
int ms_link_into(GstElement *from, GstElement *into, const char *pad);
void ms_watch_drain(GstElement *e);
int ms_link_tee(GstElement *tee, GstElement *first);
void ms_clip_audio(GstElement *e, GstClockTime end);

#endif
