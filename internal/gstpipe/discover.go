package gstpipe

import (
	"errors"
	"runtime"
	"strings"
	"time"

	"github.com/go-gst/go-gst/gst"
	"github.com/go-gst/go-gst/gst/pbutils"
)

// MediaInfo is what GStreamer's Discoverer found in a source's first video
// stream.
type MediaInfo struct {
	Video          bool   // a video stream was found
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
	d, err := pbutils.NewDiscoverer(gst.ClockTime(timeout))
	if err != nil {
		return MediaInfo{}, err
	}
	start := time.Now()
	info, err := d.DiscoverURI(uri)
	// Without this the collector may finalize (unref) the Discoverer while
	// the synchronous call still runs in C: a crash seen with live sources.
	runtime.KeepAlive(d)
	if err != nil {
		// go-gst drops the result code with the error: a wait as long as
		// the timeout is the timeout.
		if time.Since(start) >= timeout*9/10 {
			return MediaInfo{}, ErrDiscoverTimeout
		}
		return MediaInfo{}, err
	}
	switch info.GetResult() {
	case pbutils.DiscovererResultOK:
	case pbutils.DiscovererResultTimeout:
		return MediaInfo{}, ErrDiscoverTimeout
	default:
		return MediaInfo{}, errors.New("the source could not be read")
	}
	m := MediaInfo{Duration: time.Duration(info.GetDuration()), Live: info.GetLive()}
	if m.Duration < 0 {
		m.Duration = 0
	}
	videos := info.GetVideoStreams()
	if len(videos) == 0 {
		return m, nil
	}
	v := videos[0]
	m.Video = true
	m.Width, m.Height = int(v.GetWidth()), int(v.GetHeight())
	m.FPSNum, m.FPSDen = int(v.GetFramerateNum()), int(v.GetFramerateDenom())
	m.BitRate = v.GetBitrate()
	if m.BitRate == 0 {
		m.BitRate = v.GetMaxBitrate()
	}
	if caps := v.GetCaps(); caps != nil && caps.GetSize() > 0 {
		name := caps.GetStructureAt(0).Name()
		m.Codec = strings.TrimPrefix(strings.TrimPrefix(name, "video/x-"), "video/")
	}
	return m, nil
}
