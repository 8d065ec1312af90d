#ifndef MS_LATENCY_H
#define MS_LATENCY_H

#include <gst/gst.h>

// MS_LAT_BUCKETS upper bounds (microseconds) of the encode-latency
// histogram, and one more bucket for anything above.
#define MS_LAT_BUCKETS 12

typedef struct MsLatency MsLatency;
MsLatency *ms_latency_new(void);
void ms_latency_free(MsLatency *l);
void ms_latency_pushed(MsLatency *l, GstClockTime pts);
void ms_latency_encoded(MsLatency *l, GstClockTime pts);
void ms_latency_read(MsLatency *l, guint64 *counts, gint64 *sum_us);
gint64 ms_latency_bound_us(int i);

#endif
