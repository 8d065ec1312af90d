#include <string.h>
#include <gst/pbutils/pbutils.h>
#include "discover.h"

int ms_discover(const char *uri, GstClockTime timeout, MsDiscovered *out) {
	memset(out, 0, sizeof(*out));
	out->duration = -1;
	GError *err = NULL;
	GstDiscoverer *d = gst_discoverer_new(timeout, &err);
	if (d == NULL) {
		out->error = g_strdup(err != NULL ? err->message : "cannot create a Discoverer");
		g_clear_error(&err);
		return MS_DISC_FAILED;
	}
	GstDiscovererInfo *info = gst_discoverer_discover_uri(d, uri, &err);
	int ret = MS_DISC_FAILED;
	GstDiscovererResult res = info != NULL ? gst_discoverer_info_get_result(info) : GST_DISCOVERER_ERROR;
	if (res == GST_DISCOVERER_TIMEOUT) {
		ret = MS_DISC_TIMEOUT;
	} else if (res == GST_DISCOVERER_OK) {
		ret = MS_DISC_OK;
		GstClockTime dur = gst_discoverer_info_get_duration(info);
		out->duration = GST_CLOCK_TIME_IS_VALID(dur) ? (gint64)dur : -1;
		out->live = gst_discoverer_info_get_live(info);
		GList *audios = gst_discoverer_info_get_audio_streams(info);
		out->audio = audios != NULL;
		gst_discoverer_stream_info_list_free(audios);
		GList *videos = gst_discoverer_info_get_video_streams(info);
		if (videos != NULL) {
			GstDiscovererVideoInfo *v = videos->data;
			out->video = 1;
			out->width = gst_discoverer_video_info_get_width(v);
			out->height = gst_discoverer_video_info_get_height(v);
			out->fps_n = gst_discoverer_video_info_get_framerate_num(v);
			out->fps_d = gst_discoverer_video_info_get_framerate_denom(v);
			out->bitrate = gst_discoverer_video_info_get_bitrate(v);
			if (out->bitrate == 0)
				out->bitrate = gst_discoverer_video_info_get_max_bitrate(v);
			GstCaps *caps = gst_discoverer_stream_info_get_caps(GST_DISCOVERER_STREAM_INFO(v));
			if (caps != NULL) {
				if (gst_caps_get_size(caps) > 0)
					out->codec = g_strdup(gst_structure_get_name(gst_caps_get_structure(caps, 0)));
				gst_caps_unref(caps);
			}
			gst_discoverer_stream_info_list_free(videos);
		}
	} else {
		out->error = g_strdup(err != NULL ? err->message : "the source could not be read");
	}
	g_clear_error(&err);
	if (info != NULL)
		g_object_unref(info);
	g_object_unref(d);
	return ret;
}
