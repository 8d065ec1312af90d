package mpegserver

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// These tests compile configurations against a registry of their own:
// they need no GStreamer.

// everything is a registry where every element is installed.
func everything(string) bool { return true }

// without is a registry where the named elements are missing.
func without(missing ...string) func(string) bool {
	return func(f string) bool { return !slices.Contains(missing, f) }
}

func factories(els []gstpipe.Element) []string {
	var out []string
	for _, e := range els {
		out = append(out, e.Factory)
	}
	return out
}

func prop(e gstpipe.Element, name string) string {
	for _, p := range e.Props {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func compileWith(t *testing.T, installed func(string) bool, opts ...Option) (description, error) {
	t.Helper()
	c, err := DefaultConfig().with(opts)
	if err != nil {
		t.Fatal(err)
	}
	return compile(c, installed)
}

// TestCompileChains: each kind of output ends the same head with its own
// elements, and the facts the stream needs follow the output.
func TestCompileChains(t *testing.T) {
	head := []string{"appsrc", "capsfilter", "videoconvert", "capsfilter", "x264enc", "h264parse"}
	for _, tc := range []struct {
		addr string
		tail []string
		live bool
	}{
		{"rtsp://127.0.0.1:8554/x", []string{"rtspclientsink"}, true},
		{"rtmp://127.0.0.1/live/x", []string{"flvmux", "rtmp2sink"}, true},
		{"srt://127.0.0.1:9000", []string{"mpegtsmux", "srtsink"}, true},
		{"udp://127.0.0.1:5000", []string{"mpegtsmux", "udpsink"}, true},
		{"whip+http://127.0.0.1:8889/x/whip", []string{"capsfilter", "rtph264pay", "appsink"}, true},
		{"/tmp/live.m3u8", []string{"hlssink2"}, true},
		{"/tmp/out.mp4", []string{"mp4mux", "filesink"}, false},
		{"/tmp/out.h264", []string{"capsfilter", "filesink"}, false},
	} {
		d, err := compileWith(t, everything, Address(tc.addr))
		if err != nil {
			t.Errorf("%s: %v", tc.addr, err)
			continue
		}
		if got, want := factories(d.elements), append(slices.Clone(head), tc.tail...); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", tc.addr, got, want)
		}
		if d.live() != tc.live || prop(d.elements[0], "is-live") != map[bool]string{true: "true", false: "false"}[tc.live] {
			t.Errorf("%s: live %v, appsrc is-live=%s", tc.addr, d.live(), prop(d.elements[0], "is-live"))
		}
		if d.teeAt != -1 || d.outputs[0].first != len(head) || d.outputs[0].end != len(d.elements) {
			t.Errorf("%s: tee %d, output elements [%d:%d]", tc.addr, d.teeAt, d.outputs[0].first, d.outputs[0].end)
		}
	}
}

// TestCompileRecord: a record makes a tee with a queue and errorignore
// per output; an output sent over a network drops old frames rather than
// hold the file back, and the file's queue never drops.
func TestCompileRecord(t *testing.T) {
	d, err := compileWith(t, everything, Address("rtsp://127.0.0.1:8554/x"), Record("/tmp/rec.mkv"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"appsrc", "capsfilter", "videoconvert", "capsfilter", "x264enc", "h264parse", "tee",
		"queue", "errorignore", "h264parse", "rtspclientsink", "queue", "errorignore", "h264parse", "matroskamux", "filesink"}
	if got := factories(d.elements); !slices.Equal(got, want) {
		t.Fatalf("%v\nwant %v", got, want)
	}
	if d.teeAt != 6 || d.outputs[0].first != 7 || d.outputs[1].first != 11 || d.outputs[1].end != 16 {
		t.Errorf("tee at %d, branches %+v", d.teeAt, d.outputs)
	}
	if q := d.elements[7]; prop(q, "leaky") != "downstream" {
		t.Errorf("the stream's queue: %+v", q.Props)
	}
	if q := d.elements[11]; prop(q, "leaky") != "" || prop(q, "max-size-time") != "0" {
		t.Errorf("the record's queue: %+v", q.Props)
	}
	if !strings.Contains(d.launchLine(), " t. ! queue") {
		t.Errorf("launch line: %s", d.launchLine())
	}
}

// TestCompileRefusals: what cannot work is refused at compile time, with
// the error a caller tests for.
func TestCompileRefusals(t *testing.T) {
	dir := t.TempDir()
	cwd, _ := os.Getwd()
	rel, _ := filepath.Rel(cwd, filepath.Join(dir, "x.mkv"))
	for _, tc := range []struct {
		name      string
		installed func(string) bool
		opts      []Option
		want      error
		says      string
	}{
		{"VP9 over RTMP", everything, []Option{Codec("libvpx-vp9"), Address("rtmp://h/live/x")}, ErrUnknownCodec, "H.264 only"},
		{"VP8 in MPEG-TS", everything, []Option{Codec("libvpx"), Address("udp://h:5000")}, ErrUnknownCodec, "MPEG-TS takes"},
		{"H.264 in WebM", everything, []Option{Address("/tmp/x.webm")}, ErrUnknownCodec, "webm takes vp8, vp9, av1 only"},
		{"VP9 as a raw file", everything, []Option{Codec("vp9"), Address("/tmp/x.vp9")}, ErrUnknownCodec, "raw file"},
		{"no payloader", without("rtpvp9pay"), []Option{Codec("vp9"), Address("rtsp://h/x")}, ErrUnknownCodec, "rtpvp9pay"},
		{"record to the address", everything, []Option{Address("rtsp://h/x"), Record("rtsp://h/x")}, ErrUnsupportedAddress, "own address"},
		{"one file two spellings", everything, []Option{Address(filepath.Join(dir, "x.mkv")), Record(rel)}, ErrUnsupportedAddress, "own address"},
		{"one file as a URL", everything, []Option{Address(filepath.Join(dir, "x.mkv")), Record("file://" + filepath.Join(dir, ".", "x.mkv"))}, ErrUnsupportedAddress, "own address"},
		{"bad record", everything, []Option{Record("ftp://h/x")}, ErrUnsupportedAddress, "record: "},
		{"B-frames from openh264", everything, []Option{Codec("openh264"), MaxBFrames(2)}, ErrBadParameter, "makes no B-frames"},
		{"unknown codec", everything, []Option{Codec("mjpeg")}, ErrUnknownCodec, "accepted names"},
	} {
		_, err := compileWith(t, tc.installed, tc.opts...)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.want, tc.says)
		}
	}
}

// TestCompilePicksInstalledEncoder: a plain codec name takes the first
// installed encoder not skipped; Setup skips a hardware one that fails.
func TestCompilePicksInstalledEncoder(t *testing.T) {
	hw := func(f string) bool {
		return f == "nvh264enc" || f == "x264enc" || f == "h264parse" || f == "rtph264pay"
	}
	for _, tc := range []struct {
		installed func(string) bool
		skip      []string
		want      string
	}{
		{hw, nil, "nvh264enc"},
		{hw, []string{"nvh264enc"}, "x264enc"},
		{without("nvh264enc", "vah264enc", "vaapih264enc", "qsvh264enc", "v4l2h264enc"), nil, "x264enc"},
		// As FFmpeg's h264 takes whichever H.264 encoder it has.
		{without("nvh264enc", "vah264enc", "vaapih264enc", "qsvh264enc", "v4l2h264enc", "x264enc"), nil, "openh264enc"},
		// None installed: the first software one, for checkInstalled to name.
		{func(f string) bool { return f == "rtph264pay" }, nil, "x264enc"},
	} {
		c := DefaultConfig()
		c.Codec = "h264"
		d, err := compile(c, tc.installed, tc.skip...)
		if err != nil || d.enc.Element != tc.want || d.elements[d.encAt].Factory != tc.want {
			t.Errorf("skip %v: %v, %v; want %s", tc.skip, d.enc, err, tc.want)
		}
	}
}

// TestClassify: what each output makes of its elements' errors. A loss is
// what Reconnect retries; anything else ends the stream as it is.
func TestClassify(t *testing.T) {
	open := gstpipe.Event{OpenFailed: true}
	io := gstpipe.Event{IOFailed: true}
	other := gstpipe.Event{}
	loop := gstpipe.Event{OpenFailed: true, Debug: "gstrtspclientsink.c(1234): gst_rtsp_client_sink_loop_rx"}
	for _, tc := range []struct {
		addr            string
		ev              gstpipe.Event
		sink, connected bool
		want            error
	}{
		{"rtsp://h/x", open, true, false, ErrUnreachable},
		{"rtsp://h/x", open, true, true, ErrDisconnected},
		{"rtsp://h/x", loop, true, false, ErrDisconnected},
		{"rtsp://h/x", io, true, true, ErrDisconnected},
		{"rtsp://h/x", other, true, true, ErrPipeline},
		{"rtmp://h/a/b", other, true, true, ErrDisconnected},
		{"rtmp://h/a/b", other, false, true, ErrPipeline},
		{"rtmp://h/a/b", open, false, false, ErrUnreachable},
		{"srt://h:1", other, true, false, ErrDisconnected},
		{"srt://h:1", io, false, true, ErrDisconnected},
		{"udp://h:1", io, true, true, ErrPipeline},
		{"/tmp/x.mkv", io, true, true, ErrPipeline},
		{"/tmp/x.m3u8", open, true, false, ErrPipeline},
		// WHIP's losses come from its peer connection, not GStreamer.
		{"whip+http://127.0.0.1/x/whip", io, true, true, ErrPipeline},
	} {
		o, err := parseOutput(tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.classify(tc.ev, tc.sink, tc.connected); got != tc.want {
			t.Errorf("%s %+v sink=%v connected=%v: %v, want %v", tc.addr, tc.ev, tc.sink, tc.connected, got, tc.want)
		}
		if isLoss(o.classify(tc.ev, tc.sink, tc.connected)) && !o.facts().connects {
			t.Errorf("%s: a loss on an output that does not reconnect", tc.addr)
		}
	}
}

// TestDescribeRedacts: what the command prints of an output names it, says
// how to watch it, and holds no secret.
func TestDescribeRedacts(t *testing.T) {
	for addr, kind := range map[string]string{
		"rtsp://u:s3cretpw@h:8554/x":                        "RTSP",
		"rtmp://u:s3cretpw@h/live/x":                        "RTMP",
		"srt://h:9000?passphrase=s3cretpw00&latency=80":     "SRT",
		"udp://h:5000":                                      "MPEG-TS over UDP",
		"whip+https://s3cretpw@h/cam/whip#ice=public":       "WHIP",
		"whip+http://u:s3cretpw@127.0.0.1/x?token=s3cretpw": "WHIP",
		"/tmp/x.m3u8":   "HLS",
		"/tmp/it's.mkv": "file",
	} {
		o, err := parseOutput(addr)
		if err != nil {
			t.Fatal(err)
		}
		info := o.describe(DefaultConfig())
		all := info.Address + strings.Join(info.Watch, "") + info.Unreachable
		if info.Kind != kind || len(info.Watch) == 0 || strings.Contains(all, "s3cret") {
			t.Errorf("%s: %+v", addr, info)
		}
		if info.Live != o.facts().live || info.Reconnects != o.facts().connects {
			t.Errorf("%s: live %v reconnects %v, facts %+v", addr, info.Live, info.Reconnects, o.facts())
		}
	}
}

// TestCheckWritableChangesNothing: the Setup check of a file output
// leaves an existing file as it was and creates none.
func TestCheckWritableChangesNothing(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.mkv")
	if err := os.WriteFile(precious, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkWritable(precious); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(precious); string(b) != "precious" {
		t.Fatalf("the check changed the file: %q", b)
	}
	if err := checkWritable(filepath.Join(dir, "new.mkv")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("the check left files behind: %v", ents)
	}
	for _, bad := range []string{dir, filepath.Join(dir, "missing", "x.mkv")} {
		if err := checkWritable(bad); !errors.Is(err, ErrUnsupportedAddress) || !strings.Contains(err.Error(), "cannot write") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
