// The frame reader's C side: uridecodebin ! videoconvert ! videoscale !
// capsfilter ! appsink, built and read here so that no go-gst wrapper is
// made per frame; frames leave in the decoder's 4:2:0 and are converted
// by libyuv as they are copied out.
#ifndef MPEGSERVER_READER_H
#define MPEGSERVER_READER_H

#include <gst/gst.h>

typedef struct MsReader MsReader;

MsReader *ms_reader_new(const char *uri, int width, int height, guint64 rtsp_latency_ms, char **err_out);
MsReader *ms_audio_reader_new(const char *uri, int rate, int channels, guint64 rtsp_latency_ms, char **err_out);
GstBus *ms_reader_bus(MsReader *r);
int ms_reader_play(MsReader *r);
void ms_reader_fix_size(MsReader *r, int width, int height);
void ms_reader_free(MsReader *r);

enum { MS_READ_FRAME, MS_READ_TIMEOUT, MS_READ_EOS };

// MsSampleInfo describes a pulled frame.
typedef struct {
	int width, height;
	int fps_n, fps_d;
	GstClockTime pts;
} MsSampleInfo;

int ms_reader_pull(MsReader *r, GstClockTime timeout, GstSample **sample, MsSampleInfo *info);
int ms_sample_copy(GstSample *s, int fmt, guint8 *dst, gsize len);
void ms_sample_free(GstSample *s);
gsize ms_sample_size(GstSample *s);
gsize ms_sample_extract(GstSample *s, guint8 *dst, gsize len);
gint64 ms_reader_duration(MsReader *r);

#endif
