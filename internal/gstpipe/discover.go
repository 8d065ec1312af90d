package gstpipe

/*
#cgo pkg-config: gstreamer-pbutils-1.0
#include "discover.h"
*/
import "C"

import (
	"errors"
	"strings"
	"time"
	"unsafe"
)

// MediaInfo is what GStreamer's Discoverer found in a source's first video
// stream.
type MediaInfo struct {
	Video          bool   // a video stream was found
	Audio          bool   // an audio stream was found
	Width, Height  int    // pixels
	FPSNum, FPSDen int    // frame rate; 0/0 when unknown
	Codec          string // from the stream's caps: "h264", "h265", "vp8", "raw", ...
	BitRate        uint   // bit/s, from the stream or its tags; 0 when unknown
	Duration       time.Duration
	Live           bool
}

// ErrDiscoverTimeout is Discover's answer when the source said nothing in
// time.
var ErrDiscoverTimeout = errors.New("gstpipe: source did not answer in time")

// Discover runs GStreamer's Discoverer on uri, waiting at most timeout.
func Discover(uri string, timeout time.Duration) (MediaInfo, error) {
	gstInit()
	cu := C.CString(uri)
	defer C.free(unsafe.Pointer(cu))
	var out C.MsDiscovered
	ret := C.ms_discover(cu, C.GstClockTime(timeout), &out)
	codec, msg := takeC(out.codec), takeC(out.error)
	switch ret {
	case C.MS_DISC_TIMEOUT:
		return MediaInfo{}, ErrDiscoverTimeout
	case C.MS_DISC_FAILED:
		return MediaInfo{}, errors.New(msg)
	}
	m := MediaInfo{Video: out.video != 0, Audio: out.audio != 0, Live: out.live != 0, Width: int(out.width), Height: int(out.height),
		FPSNum: int(out.fps_n), FPSDen: int(out.fps_d), BitRate: uint(out.bitrate)}
	if out.duration > 0 {
		m.Duration = time.Duration(out.duration)
	}
	m.Codec = strings.TrimPrefix(strings.TrimPrefix(codec, "video/x-"), "video/")
	return m, nil
}
