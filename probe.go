package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// SourceInfo is what Probe found in a video source: the settings a stream
// copied from it needs (the original's decoder= and configDict=).
type SourceInfo struct {
	URI       string
	Width     int
	Height    int
	FrameRate Rational // zero when the source does not say
	Codec     string   // as GStreamer names the stream's format: h264, h265, vp8, vp9, av1, raw, ...
	BitRate   float64  // Kb/s (Kb = 1024 bit), as bitRate; 0 when the source does not say
	Duration  time.Duration
	Live      bool // a live source (a camera, an RTSP stream), not a file
}

// DefaultProbeTimeout bounds Probe when its context has no deadline.
const DefaultProbeTimeout = 10 * time.Second

// ErrNoVideo: the source exists and was read, but holds no video stream.
var ErrNoVideo = errors.New("mpegserver: no video stream in the source")

// Probe reads a source's settings through GStreamer's Discoverer: a file
// path, a file:// URL, rtsp://, http(s)://. It returns within the
// context's deadline (DefaultProbeTimeout without one). A missing file
// matches os.ErrNotExist, a source with no video ErrNoVideo, a server that
// does not answer in time ErrUnreachable.
func Probe(ctx context.Context, source string) (SourceInfo, error) {
	uri, m, err := discover(ctx, source, ErrNoVideo)
	if err != nil {
		return SourceInfo{}, err
	}
	if !m.Video {
		return SourceInfo{}, fmt.Errorf("%w: %s", ErrNoVideo, Redact(uri))
	}
	info := SourceInfo{URI: uri, Width: m.Width, Height: m.Height, Codec: m.Codec,
		BitRate: float64(m.BitRate) / 1024, Duration: m.Duration, Live: m.Live}
	if m.FPSNum > 0 && m.FPSDen > 0 {
		info.FrameRate = Rational{m.FPSNum, m.FPSDen}
	}
	return info, nil
}

// discover runs the Discoverer on a source within ctx's deadline (or
// DefaultProbeTimeout), and returns its URI and what it holds. A file
// GStreamer cannot read is notMedia (ErrNoVideo, ErrNoAudio: what the
// caller wanted from it).
func discover(ctx context.Context, source string, notMedia error) (string, gstpipe.MediaInfo, error) {
	uri, err := sourceURI(source)
	if err != nil {
		return "", gstpipe.MediaInfo{}, err
	}
	timeout := DefaultProbeTimeout
	if dl, ok := ctx.Deadline(); ok {
		// The Discoverer's own time-out comes first, so a silent source
		// is reported as such rather than as the context's end.
		timeout = time.Until(dl) * 95 / 100
	}
	if timeout <= 0 {
		return "", gstpipe.MediaInfo{}, context.DeadlineExceeded
	}
	// The Discoverer takes no less than a second (GLib warns and ignores
	// a shorter one); ctx still ends the wait at its deadline.
	timeout = max(timeout, time.Second)
	type result struct {
		m   gstpipe.MediaInfo
		err error
	}
	done := make(chan result, 1)
	go func() { // the Discoverer cannot be cancelled: its timeout bounds it
		m, err := gstpipe.Discover(uri, timeout)
		done <- result{m, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", gstpipe.MediaInfo{}, fmt.Errorf("%w: %s: %w", ErrUnreachable, Redact(uri), ctx.Err())
		}
		return "", gstpipe.MediaInfo{}, ctx.Err()
	}
	shown := Redact(uri)
	switch {
	case errors.Is(r.err, gstpipe.ErrDiscoverTimeout):
		return "", r.m, fmt.Errorf("%w: %s did not answer within %v", ErrUnreachable, shown, timeout.Round(time.Millisecond))
	case r.err != nil && !strings.HasPrefix(uri, "file://"):
		return "", r.m, fmt.Errorf("%w: %s: %v", ErrUnreachable, shown, r.err)
	case r.err != nil:
		return "", r.m, fmt.Errorf("%w: %s is not a media file GStreamer can read: %v", notMedia, shown, r.err)
	}
	return uri, r.m, nil
}

// sourceURI makes a URI of a path or URL; a file must exist.
func sourceURI(source string) (string, error) {
	if strings.Contains(source, "://") {
		u, err := url.Parse(source)
		if err != nil || u.Scheme == "" {
			return "", fmt.Errorf("%w: %q is not a URL", ErrUnsupportedAddress, Redact(source))
		}
		if strings.EqualFold(u.Scheme, "file") {
			if _, err := os.Stat(u.Path); err != nil {
				return "", fmt.Errorf("mpegserver: probing %s: %w", source, err)
			}
		}
		return source, nil
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("mpegserver: probing %s: %w", source, err)
	}
	return (&url.URL{Scheme: "file", Path: abs}).String(), nil
}
