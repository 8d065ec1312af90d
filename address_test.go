package mpegserver

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in                            string
		scheme, location, hostPort    string
		user, password, format, muxer string
	}{
		{in: "rtsp://127.0.0.1:8554/video", scheme: "rtsp", location: "rtsp://127.0.0.1:8554/video", hostPort: "127.0.0.1:8554", format: "rtsp"},
		{in: "rtsp://cam.local/live", scheme: "rtsp", location: "rtsp://cam.local/live", hostPort: "cam.local:554", format: "rtsp"},
		{in: "rtsps://cam.local/live", scheme: "rtsps", location: "rtsps://cam.local/live", hostPort: "cam.local:322", format: "rtsp"},
		// The scheme is case-insensitive; the host is what is dialled.
		{in: "RTSP://Host:8554/x", scheme: "rtsp", location: "RTSP://Host:8554/x", hostPort: "Host:8554", format: "rtsp"},
		// An empty port is the default port, not port 0.
		{in: "rtsp://host:/x", scheme: "rtsp", location: "rtsp://host:/x", hostPort: "host:554", format: "rtsp"},
		{in: "rtsp://[::1]:8554/x", scheme: "rtsp", location: "rtsp://[::1]:8554/x", hostPort: "[::1]:8554", format: "rtsp"},
		// Credentials leave the location; the rest stays byte for byte.
		{in: "rtsp://al%40ice:p@ss:w@h:1/a%20b?q=1", scheme: "rtsp", location: "rtsp://h:1/a%20b?q=1", hostPort: "h:1",
			user: "al@ice", password: "p@ss:w", format: "rtsp"},
		{in: "rtsp://h/a@b", scheme: "rtsp", location: "rtsp://h/a@b", hostPort: "h:554", format: "rtsp"},
		{in: "out.mp4", scheme: "file", location: "out.mp4", format: "mp4", muxer: "mp4mux"},
		{in: "/tmp/x.MKV", scheme: "file", location: "/tmp/x.MKV", format: "matroska", muxer: "matroskamux"},
		{in: "file:///tmp/cam.h264", scheme: "file", location: "/tmp/cam.h264", format: "h264"},
		{in: "file://localhost/tmp/a.ts", scheme: "file", location: "/tmp/a.ts", format: "mpegts", muxer: "mpegtsmux"},
		{in: "/srv/www/live.m3u8", scheme: "hls", location: "/srv/www/live.m3u8", format: "hls"},
		{in: "file:///srv/www/LIVE.M3U8", scheme: "hls", location: "/srv/www/LIVE.M3U8", format: "hls"},
	} {
		got, err := parseAddress(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		want := target{Scheme: tc.scheme, Location: tc.location, HostPort: tc.hostPort, User: tc.user,
			Password: tc.password, Format: tc.format, Muxer: tc.muxer}
		if got != want {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.in, got, want)
		}
	}
	for in, want := range map[string]target{
		"udp://127.0.0.1:5000":  {Scheme: "udp", Location: "udp://127.0.0.1:5000", Host: "127.0.0.1", Port: "5000", HostPort: "127.0.0.1:5000", Format: "mpegts"},
		"udp://239.0.0.1:1234/": {Scheme: "udp", Location: "udp://239.0.0.1:1234/", Host: "239.0.0.1", Port: "1234", HostPort: "239.0.0.1:1234", Format: "mpegts"},
		"UDP://[::1]:5000":      {Scheme: "udp", Location: "UDP://[::1]:5000", Host: "::1", Port: "5000", HostPort: "[::1]:5000", Format: "mpegts"},
	} {
		if got, err := parseAddress(in); err != nil || got != want {
			t.Errorf("%q: %+v, %v\nwant %+v", in, got, err, want)
		}
	}
}

func TestParseAddressErrors(t *testing.T) {
	for _, in := range []string{
		"", "  ", "ftp://h/x", "udp://h", "udp://u:p@h:5000", "udp://h:5000/path", "udp://h:5000?ttl=2", "udp://h:70000", "rtsp:///x", "rtsp://h:99999/x", "rtsp://h:0/x", "rtsp://h:port/x",
		"rtsp://h/a b", `rtsp://h/"x"`, "rtsp://h/a\\b", "file://remote/x.mp4", "dir/", "file:///",
		"rtsp://u:secret@h/a b", "rtsp://%B9:secret@h/x", "/tmp/\xff.mp4",
	} {
		_, err := parseAddress(in)
		if !errors.Is(err, ErrUnsupportedAddress) {
			t.Errorf("%q: err = %v, want ErrUnsupportedAddress", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: password in error %q", in, err)
		}
	}
}
