package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// FuzzDumpFlags: any flags and address given to `dump` end in exit 0
// (with a line that gst-launch-1.0 runs), 1 or 2 with a message; never a
// panic. (--dot and --png write files, so they are left out.)
func FuzzDumpFlags(f *testing.F) {
	for _, seed := range []string{
		"--width\x00320\x00--height\x00240",
		"--framerate\x0030000/1001\x00rtsp://u:p@h:1/x",
		"--codec\x00hevc\x00--max-bframes\x003\x00--gop\x0010",
		"--frame-ahead\x00-7\x00--bitrate\x00NaN",
		"--preset\x00slowest\x00out.mkv",
		"-h",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, "\x00")
		for _, a := range args {
			if strings.Contains(a, "dot") || strings.Contains(a, "png") {
				return
			}
		}
		var o, e syncBuffer
		code := run(env{ctx: testutil.Context(t, 10*time.Second), stdout: &o, stderr: &e}, append([]string{"dump"}, args...))
		switch code {
		case 0:
			if !strings.HasPrefix(o.String(), "gst-launch-1.0 -e appsrc ") && !strings.Contains(o.String(), "Usage") {
				t.Fatalf("%q: exit 0 with %q", args, o.String())
			}
		case 1, 2:
			if strings.TrimSpace(e.String()) == "" {
				t.Fatalf("%q: exit %d with no message", args, code)
			}
		default:
			t.Fatalf("%q: exit %d", args, code)
		}
	})
}
