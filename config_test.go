package mpegserver_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
)

func TestDefaultsAreValidAndDocumented(t *testing.T) {
	s := mpegserver.New()
	c := s.Config()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"videoAddress": mpegserver.DefaultAddress, "codecName": "libx264", "formatName": "rtsp",
		"nthread": 0, "bitRate": 2048.0, "width": 640, "height": 360, "GOPSize": 30, "maxBframe": 0,
		"frameRate": [2]int{30, 1}, "ptsAhead": 60, "frameAhead": -1, "waitRef": 0.0, "preset": "veryfast",
		"sourceFormat": "rgb24", "sourceStride": 0,
	}
	if got := s.Parameters(); !reflect.DeepEqual(got, want) {
		t.Errorf("Parameters() = %v\nwant %v", got, want)
	}
}

func TestParameterByOriginalName(t *testing.T) {
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(1280, 720), mpegserver.SourceSize(320, 180),
		mpegserver.FrameRate(30000, 1001), mpegserver.BitRate(1500.5), mpegserver.GOPSize(12)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]any{
		"width": 1280, "height": 720, "widthSrc": 320, "heightSrc": 180, "GOPSize": 12,
		"ptsAhead": 24, "frameAhead": -1, "bitRate": 1500.5, "frameRate": 30000.0 / 1001, "maxBframe": 0, "nthread": 0,
		"codecName": "libx264", "formatName": "rtsp", "waitRef": 0.0,
	}
	for name, want := range cases {
		got, err := s.Parameter(name)
		if err != nil || got != want {
			t.Errorf("Parameter(%q) = %v (%T), %v; want %v (%T)", name, got, got, err, want, want)
		}
	}
	if _, err := s.Parameter("nope"); !errors.Is(err, mpegserver.ErrBadParameter) {
		t.Errorf("unknown name: %v", err)
	}
	// widthSrc defaults to width when unset.
	s2 := mpegserver.New()
	if w, _ := s2.Parameter("widthSrc"); w != 640 {
		t.Errorf("default widthSrc = %v, want 640", w)
	}
}

// TestMaxBframeZeroIsSettable: a legitimate 0 must not read as "unset".
func TestMaxBframeZeroIsSettable(t *testing.T) {
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.MaxBFrames(3)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetParameter(mpegserver.MaxBFrames(0)); err != nil {
		t.Fatal(err)
	}
	if s.Config().MaxBFrames != 0 {
		t.Fatal("MaxBFrames(0) did not take")
	}
	if err := s.SetParameters(map[string]any{"maxBframe": 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetParameters(map[string]any{"maxBframe": 0}); err != nil || s.Config().MaxBFrames != 0 {
		t.Fatalf("maxBframe=0 by map: %v, %d", err, s.Config().MaxBFrames)
	}
}

func TestSetParametersRoundTrip(t *testing.T) {
	a := mpegserver.New()
	if err := a.SetParameters(map[string]any{
		"videoAddress": "rtsp://example.com:8554/cam", "codecName": "libx265", "nthread": int64(4),
		"bitRate": 3000, "width": uint16(1280), "height": 720.0, "widthSrc": 640, "heightSrc": 360,
		"GOPSize": 24, "maxBframe": 2, "frameRate": "24000/1001", "frameAhead": 10, "preset": "ultrafast",
	}); err != nil {
		t.Fatal(err)
	}
	b := mpegserver.New()
	if err := b.SetParameters(a.Parameters()); err != nil {
		t.Fatal(err)
	}
	if a.Config() != b.Config() {
		t.Errorf("round trip differs:\n a %+v\n b %+v", a.Config(), b.Config())
	}
	// An automatic frames-ahead stays automatic through the round trip.
	c, d := mpegserver.New(), mpegserver.New()
	if err := d.SetParameters(c.Parameters()); err != nil {
		t.Fatal(err)
	}
	_ = d.SetParameter(mpegserver.GOPSize(10))
	if got := d.Config().Ahead(); got != 20 {
		t.Errorf("frames ahead after GOPSize(10) = %d, want 20 (still automatic)", got)
	}
}

func TestFrameRateForms(t *testing.T) {
	for in, want := range map[any]mpegserver.Rational{
		"30/1": {30, 1}, "30000/1001": {30000, 1001}, "25": {25, 1}, "29.97": {30000, 1001},
		[2]int{5, 1}: {5, 1}, 60: {60, 1}, 12.5: {25, 2},
	} {
		s := mpegserver.New()
		if err := s.SetParameters(map[string]any{"frameRate": in}); err != nil {
			t.Errorf("frameRate %v: %v", in, err)
			continue
		}
		if got := s.Config().FrameRate; got != want {
			t.Errorf("frameRate %v -> %v, want %v", in, got, want)
		}
	}
	if err := mpegserver.New().SetParameters(map[string]any{"frameRate": []int{}}); err == nil {
		t.Error("empty frameRate slice accepted")
	}
}

func TestBadParametersAreErrorsAndChangeNothing(t *testing.T) {
	s := mpegserver.New()
	before := s.Config()
	bad := []mpegserver.Option{
		mpegserver.Width(-1), mpegserver.Height(0), mpegserver.Width(641), mpegserver.GOPSize(0),
		mpegserver.MaxBFrames(17), mpegserver.BitRate(0), mpegserver.FrameRate(30, 0),
		mpegserver.FrameRate(-30, 1), mpegserver.FrameRate(1<<40, 1<<40), mpegserver.FrameRate(1<<31, 1<<31), mpegserver.Threads(-2), mpegserver.FrameAhead(-2),
		mpegserver.Codec(" "), mpegserver.SourceSize(-5, 10), mpegserver.SetupTimeout(0),
	}
	for i, o := range bad {
		if err := s.SetParameter(o); !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("bad option %d: err = %v", i, err)
		}
	}
	// All or nothing: a good option before a bad one does not stick.
	if err := s.SetParameter(mpegserver.Width(1280), mpegserver.Height(-1)); err == nil {
		t.Error("mixed options accepted")
	}
	maps := []map[string]any{
		{"nope": 1}, {"width": "640"}, {"width": 640.5}, {"bitRate": "fast"}, {"codecName": 264},
		{"frameRate": "thirty"}, {"videoAddress": 5}, {"GOPSize": int64(1) << 40},
	}
	for _, m := range maps {
		if err := s.SetParameters(m); !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("SetParameters(%v): err = %v", m, err)
		}
	}
	if s.Config() != before {
		t.Errorf("config changed by rejected input:\n%+v\n%+v", before, s.Config())
	}
}

func TestClearResetsEverything(t *testing.T) {
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Size(1280, 720), mpegserver.Codec("x265"), mpegserver.CloseTimeout(time.Second))
	s.ResetPath("rtsp://elsewhere:554/x")
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	if s.Config() != mpegserver.DefaultConfig() {
		t.Errorf("after Clear: %+v", s.Config())
	}
}

func TestStringReportRedactsPassword(t *testing.T) {
	s := mpegserver.New()
	s.ResetPath("rtsp://alice:s3cret@127.0.0.1:8554/video")
	rep := s.String()
	if strings.Contains(rep, "s3cret") {
		t.Errorf("password in String():\n%s", rep)
	}
	for _, want := range []string{"alice:REDACTED@", "width:", "640", "libx264 (x264enc)", "2048 Kb/s", "30/1", "GOPSize:", "state:          closed"} {
		if !strings.Contains(rep, want) {
			t.Errorf("String() lacks %q:\n%s", want, rep)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"rtsp://u:p@h:1/x":          "rtsp://u:REDACTED@h:1/x",
		"rtsp://u@h/x":              "rtsp://u@h/x",
		"rtsp://h/a@b":              "rtsp://h/a@b",
		"rtsp://u:p@ss@h/x?q=1":     "rtsp://u:REDACTED@h/x?q=1",
		"rtsp://u:%70w@h/p!th%20sp": "rtsp://u:REDACTED@h/p!th%20sp",
		"not a url":                 "not a url",
		// Secrets in queries, and platforms' stream keys.
		"rtmp://h/live/cam?user=u&pass=pw":                                            "rtmp://h/live/cam?user=u&pass=REDACTED",
		"rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop":                         "rtmp://a.rtmp.youtube.com/live2/REDACTED",
		"rtmps://live-api-s.facebook.com:443/rtmp/FB-123456789012345-0-AbCdEf?s_bl=1": "rtmps://live-api-s.facebook.com:443/rtmp/REDACTED?s_bl=1",
		"rtmp://h/live/cam": "rtmp://h/live/cam",
		"srt://h:1?streamid=publish:cam&passphrase=0123456789": "srt://h:1?streamid=publish:cam&passphrase=REDACTED",
	} {
		if got := mpegserver.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTinyFrameRateIsRefused: a rate below a frame an hour is refused by
// its own value, not turned into 0/1001 first.
func TestTinyFrameRateIsRefused(t *testing.T) {
	_, err := mpegserver.ParseRational("0.0001")
	if !errors.Is(err, mpegserver.ErrBadParameter) || !strings.Contains(err.Error(), "0.0001") {
		t.Errorf("ParseRational(0.0001): %v", err)
	}
	r, err := mpegserver.ParseRational("0.0002778")
	if err != nil || r.Num <= 0 {
		t.Errorf("a frame an hour: %v, %v", r, err)
	}
}
