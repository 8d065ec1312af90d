#include "latency.h"

// Encode latency: the time from a frame's push into appsrc to its leaving
// the encoder's parser, matched by time stamp (which the encoder keeps,
// whatever order it emits frames in). Pushes are noted on the pushing
// goroutine, encoded frames seen on a streaming thread: one small lock.

#define MS_LAT_RING 1024 // more than appsrc's queue and any encoder's delay hold

static const gint64 ms_lat_bounds_us[MS_LAT_BUCKETS] = {
	1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000, 2000000, 5000000,
};

struct MsLatency {
	GMutex mu;
	GstClockTime pts[MS_LAT_RING];
	gint64 at[MS_LAT_RING]; // monotonic µs of the push
	guint next;
	guint64 counts[MS_LAT_BUCKETS + 1];
	gint64 sum_us;
};

MsLatency *ms_latency_new(void) {
	MsLatency *l = g_new0(MsLatency, 1);
	g_mutex_init(&l->mu);
	for (int i = 0; i < MS_LAT_RING; i++)
		l->pts[i] = GST_CLOCK_TIME_NONE;
	return l;
}

void ms_latency_free(MsLatency *l) {
	if (l == NULL)
		return;
	g_mutex_clear(&l->mu);
	g_free(l);
}

void ms_latency_pushed(MsLatency *l, GstClockTime pts) {
	if (l == NULL)
		return;
	g_mutex_lock(&l->mu);
	l->pts[l->next] = pts;
	l->at[l->next] = g_get_monotonic_time();
	l->next = (l->next + 1) % MS_LAT_RING;
	g_mutex_unlock(&l->mu);
}

void ms_latency_encoded(MsLatency *l, GstClockTime pts) {
	if (l == NULL || pts == GST_CLOCK_TIME_NONE)
		return;
	gint64 now = g_get_monotonic_time();
	g_mutex_lock(&l->mu);
	// Newest first: the frame is nearly always among the last few pushed.
	for (guint k = 1; k <= MS_LAT_RING; k++) {
		guint i = (l->next + MS_LAT_RING - k) % MS_LAT_RING;
		if (l->pts[i] != pts)
			continue;
		gint64 d = now - l->at[i];
		int b = 0;
		while (b < MS_LAT_BUCKETS && d > ms_lat_bounds_us[b])
			b++;
		l->counts[b]++;
		l->sum_us += d;
		l->pts[i] = GST_CLOCK_TIME_NONE;
		break;
	}
	g_mutex_unlock(&l->mu);
}

// ms_latency_read copies the histogram: counts has MS_LAT_BUCKETS + 1
// entries, not cumulative.
void ms_latency_read(MsLatency *l, guint64 *counts, gint64 *sum_us) {
	if (l == NULL)
		return;
	g_mutex_lock(&l->mu);
	for (int i = 0; i <= MS_LAT_BUCKETS; i++)
		counts[i] = l->counts[i];
	*sum_us = l->sum_us;
	g_mutex_unlock(&l->mu);
}

gint64 ms_latency_bound_us(int i) { return ms_lat_bounds_us[i]; }
