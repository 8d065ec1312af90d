package mpegserver

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want output
	}{
		{"rtsp://127.0.0.1:8554/video", &rtspOutput{addr: "rtsp://127.0.0.1:8554/video", loc: "rtsp://127.0.0.1:8554/video", hostPort: "127.0.0.1:8554"}},
		{"rtsp://cam.local/live", &rtspOutput{addr: "rtsp://cam.local/live", loc: "rtsp://cam.local/live", hostPort: "cam.local:554"}},
		{"rtsps://cam.local/live", &rtspOutput{addr: "rtsps://cam.local/live", loc: "rtsps://cam.local/live", hostPort: "cam.local:322", secure: true}},
		// The scheme is case-insensitive; the host is what is dialled.
		{"RTSP://Host:8554/x", &rtspOutput{addr: "RTSP://Host:8554/x", loc: "RTSP://Host:8554/x", hostPort: "Host:8554"}},
		// An empty port is the default port, not port 0.
		{"rtsp://host:/x", &rtspOutput{addr: "rtsp://host:/x", loc: "rtsp://host:/x", hostPort: "host:554"}},
		{"rtsp://[::1]:8554/x", &rtspOutput{addr: "rtsp://[::1]:8554/x", loc: "rtsp://[::1]:8554/x", hostPort: "[::1]:8554"}},
		// Credentials leave the location; the rest stays byte for byte.
		{"rtsp://al%40ice:p@ss:w@h:1/a%20b?q=1", &rtspOutput{addr: "rtsp://al%40ice:p@ss:w@h:1/a%20b?q=1", loc: "rtsp://h:1/a%20b?q=1", hostPort: "h:1",
			user: "al@ice", password: "p@ss:w"}},
		{"rtsp://h/a@b", &rtspOutput{addr: "rtsp://h/a@b", loc: "rtsp://h/a@b", hostPort: "h:554"}},
		// RTMP credentials also go to the stream's query, where servers look.
		{"rtmp://u:pw@h/live/cam", &rtmpOutput{addr: "rtmp://u:pw@h/live/cam", scheme: "rtmp", app: "live", stream: "cam?pass=pw&user=u",
			hostPort: "h:1935", user: "u", password: "pw"}},
		{"rtmps://h/live/cam", &rtmpOutput{addr: "rtmps://h/live/cam", scheme: "rtmps", app: "live", stream: "cam", hostPort: "h:443", secure: true}},
		{"rtmp://h/app/inst/key-1?x=1", &rtmpOutput{addr: "rtmp://h/app/inst/key-1?x=1", scheme: "rtmp", app: "app/inst", stream: "key-1?x=1", hostPort: "h:1935"}},
		{"rtmp://u:pw@h/live/cam?user=v&pass=q", &rtmpOutput{addr: "rtmp://u:pw@h/live/cam?user=v&pass=q", scheme: "rtmp", app: "live",
			stream: "cam?user=v&pass=q", hostPort: "h:1935", user: "u", password: "pw"}},
		{"srt://h:9000?streamid=publish:cam&latency=200&passphrase=0123456789&pbkeylen=16", &srtOutput{
			addr: "srt://h:9000?streamid=publish:cam&latency=200&passphrase=0123456789&pbkeylen=16", loc: "srt://h:9000", hostPort: "h:9000",
			streamID: "publish:cam", latency: "200", passphrase: "0123456789", keyLen: "16"}},
		{"out.mp4", &fileOutput{addr: "out.mp4", path: "out.mp4", format: "mp4", muxer: "mp4mux"}},
		{"/tmp/x.MKV", &fileOutput{addr: "/tmp/x.MKV", path: "/tmp/x.MKV", format: "matroska", muxer: "matroskamux"}},
		{"file:///tmp/cam.h264", &fileOutput{addr: "file:///tmp/cam.h264", path: "/tmp/cam.h264", format: "h264"}},
		{"file://localhost/tmp/a.ts", &fileOutput{addr: "file://localhost/tmp/a.ts", path: "/tmp/a.ts", format: "mpegts", muxer: "mpegtsmux"}},
		{"/srv/www/live.m3u8", &hlsOutput{addr: "/srv/www/live.m3u8", path: "/srv/www/live.m3u8"}},
		{"file:///srv/www/LIVE.M3U8", &hlsOutput{addr: "file:///srv/www/LIVE.M3U8", path: "/srv/www/LIVE.M3U8"}},
		{"udp://127.0.0.1:5000", &udpOutput{addr: "udp://127.0.0.1:5000", host: "127.0.0.1", port: "5000"}},
		{"udp://239.0.0.1:1234/", &udpOutput{addr: "udp://239.0.0.1:1234/", host: "239.0.0.1", port: "1234"}},
		{"UDP://[::1]:5000", &udpOutput{addr: "UDP://[::1]:5000", host: "::1", port: "5000"}},
	} {
		got, err := parseOutput(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %#v\nwant %#v", tc.in, got, tc.want)
		}
	}
}

func TestParseAddressErrors(t *testing.T) {
	for _, in := range []string{
		"", "  ", "ftp://h/x", "udp://h", "udp://u:p@h:5000", "udp://h:5000/path", "udp://h:5000?ttl=2", "udp://h:70000", "rtsp:///x", "rtsp://h:99999/x", "rtsp://h:0/x", "rtsp://h:port/x",
		"rtsp://h/a b", `rtsp://h/"x"`, "rtsp://h/a\\b", "file://remote/x.mp4", "dir/", "file:///",
		"rtsp://u:secret@h/a b", "rtsp://%B9:secret@h/x", "/tmp/\xff.mp4", "rtmp://h/live", "rtmp://u:secret@h/", "srt://h",
		"srt://h:9000?passphrase=short", "srt://h:9000?mode=listener", "srt://h:9000?x=1", "srt://u:secret@h:9000", "srt://h:9000?latency=-1",
		"srt://h:9000?streamid=%ff",
		"whip+http://cam.example/x/whip", "whip+http://127.0.0.1/x/whip#ice=everywhere", "whip+ftp://127.0.0.1/x",
		"whip+http://secret%0a@127.0.0.1/x/whip", "whip+http://127.0.0.1:99999/x/whip",
	} {
		_, err := parseOutput(in)
		if !errors.Is(err, ErrUnsupportedAddress) {
			t.Errorf("%q: err = %v, want ErrUnsupportedAddress", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: password in error %q", in, err)
		}
	}
}

// TestParseWHIP: the endpoint loses the token and the fragment; the token
// is the whole user information; ICE is on loopback unless #ice=public,
// which a host elsewhere needs.
func TestParseWHIP(t *testing.T) {
	for _, tc := range []struct {
		in, endpoint, token string
		public              bool
	}{
		{"whip+http://127.0.0.1:8889/cam/whip", "http://127.0.0.1:8889/cam/whip", "", false},
		{"WHIP+HTTP://tok.en-1@localhost/cam/whip?x=1", "http://localhost/cam/whip?x=1", "tok.en-1", false},
		{"whip+https://pub:s3cret@[::1]:8443/a/whip", "https://[::1]:8443/a/whip", "pub:s3cret", false},
		{"whip+https://a%2Fb%3D@live.example/whip#ice=public", "https://live.example/whip", "a/b=", true},
		{"whip+http://127.0.0.1/x#ice=loopback", "http://127.0.0.1/x", "", false},
	} {
		o, err := parseOutput(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		w := o.(*whipOutput)
		if w.endpoint.String() != tc.endpoint || w.token != tc.token || w.public != tc.public {
			t.Errorf("%q: endpoint %s token %q public %v", tc.in, w.endpoint, w.token, w.public)
		}
	}
	for in, want := range map[string]string{
		"whip+https://TOKEN@h/whip":           "whip+https://REDACTED@h/whip",
		"whip+http://u:pw@h/x/whip?token=abc": "whip+http://REDACTED@h/x/whip?token=REDACTED",
		"rtsp://h/x?access_token=abc&a=1":     "rtsp://h/x?access_token=REDACTED&a=1",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
