package mpegserver_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// A decoder dict as the original's MpegDecoder.getParameter() gives it,
// keys the server does not use included.
func decoderDict() map[string]any {
	return map[string]any{
		"videoPath": "/videos/in.mp4", "codecName": "h264", "bitRate": 1536 * 1024, "GOPSize": 12, "maxBframe": 2,
		"nthread": 4, "width": 1920, "height": 1080, "widthDst": 960, "heightDst": 540, "frameRate": [2]int{25, 1},
		"frameCount": 250, "duration": 10.0,
	}
}

func TestConfigDictCopiesWhatTheOriginalCopies(t *testing.T) {
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.FrameAhead(7), mpegserver.Threads(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetParameter(mpegserver.ConfigDict(decoderDict())); err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.Width != 1920 || c.Height != 1080 || c.WidthSrc != 960 || c.HeightSrc != 540 || c.GOPSize != 12 ||
		c.MaxBFrames != 2 || c.FrameRate != (mpegserver.Rational{Num: 25, Den: 1}) || c.BitRate != 1536 {
		t.Errorf("copied %+v", c)
	}
	// Frames ahead follows the copied GOP again; threads and codec are not
	// copied, as in the original.
	if c.FrameAhead != mpegserver.AutoFrameAhead || c.Ahead() != 24 || c.Threads != 2 || c.Codec != mpegserver.DefaultCodec {
		t.Errorf("frameAhead %d (ahead %d), threads %d, codec %s", c.FrameAhead, c.Ahead(), c.Threads, c.Codec)
	}
}

// Explicit settings of the same call win over copied ones wherever they
// stand, as setParameter(decoder=d, GOPSize=24, frameAhead=48).
func TestExplicitOptionsWinOverCopied(t *testing.T) {
	for name, opts := range map[string][]mpegserver.Option{
		"copy first": {mpegserver.ConfigDict(decoderDict()), mpegserver.GOPSize(24), mpegserver.FrameAhead(48), mpegserver.Size(640, 360)},
		"copy last":  {mpegserver.GOPSize(24), mpegserver.FrameAhead(48), mpegserver.Size(640, 360), mpegserver.ConfigDict(decoderDict())},
	} {
		s := mpegserver.New()
		if err := s.SetParameter(opts...); err != nil {
			t.Fatal(name, err)
		}
		c := s.Config()
		if c.GOPSize != 24 || c.FrameAhead != 48 || c.Width != 640 || c.Height != 360 || c.WidthSrc != 960 || c.BitRate != 1536 {
			t.Errorf("%s: %+v", name, c)
		}
	}
	// The map form: configDict and decoder keys first, the rest win.
	s := mpegserver.New()
	if err := s.SetParameters(map[string]any{"configDict": decoderDict(), "GOPSize": 24, "frameAhead": 48}); err != nil {
		t.Fatal(err)
	}
	if c := s.Config(); c.GOPSize != 24 || c.FrameAhead != 48 || c.Width != 1920 {
		t.Errorf("map: %+v", c)
	}
}

// A dict that crossed a process boundary as JSON (numbers are float64,
// the frame rate a list) copies the same.
func TestConfigDictFromJSON(t *testing.T) {
	b, err := json.Marshal(decoderDict())
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	s := mpegserver.New()
	if err := s.SetParameters(map[string]any{"configDict": d}); err != nil {
		t.Fatal(err)
	}
	if c := s.Config(); c.Width != 1920 || c.FrameRate != (mpegserver.Rational{Num: 25, Den: 1}) || c.BitRate != 1536 || c.GOPSize != 12 {
		t.Errorf("%+v", c)
	}
}

// Bad values in a dict fail the call with ErrBadParameter and change
// nothing; strict SetParameters stays strict about its own keys.
func TestConfigDictErrors(t *testing.T) {
	s := mpegserver.New()
	before := s.Config()
	for name, call := range map[string]func() error{
		"width text": func() error { d := decoderDict(); d["width"] = "wide"; return s.SetParameter(mpegserver.ConfigDict(d)) },
		"rate text": func() error {
			d := decoderDict()
			d["frameRate"] = "fast"
			return s.SetParameter(mpegserver.ConfigDict(d))
		},
		"bitRate text": func() error {
			d := decoderDict()
			d["bitRate"] = "high"
			return s.SetParameter(mpegserver.ConfigDict(d))
		},
		"odd size":      func() error { d := decoderDict(); d["width"] = 641; return s.SetParameter(mpegserver.ConfigDict(d)) },
		"nil dict":      func() error { return s.SetParameter(mpegserver.ConfigDict(nil)) },
		"nil decoder":   func() error { return s.SetParameter(mpegserver.Decoder(nil)) },
		"decoder int":   func() error { return s.SetParameters(map[string]any{"decoder": 5}) },
		"configDict []": func() error { return s.SetParameters(map[string]any{"configDict": []int{1}}) },
		"typo":          func() error { return s.SetParameters(map[string]any{"configDict": decoderDict(), "GOPsize": 24}) },
	} {
		err := call()
		if !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("%s: %v, want ErrBadParameter", name, err)
		}
		if s.Config() != before {
			t.Errorf("%s changed the configuration", name)
		}
		if name == "typo" && !strings.Contains(err.Error(), `"GOPsize"`) {
			t.Errorf("typo: %v", err)
		}
	}
}

// A probed source copies its size, rate and bit rate; its GOP, which the
// Discoverer does not report, is left alone.
func TestDecoderFromProbe(t *testing.T) {
	t.Parallel()
	info, err := mpegserver.Probe(testutil.Context(t, 10*time.Second), "testdata/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.GOPSize(24), mpegserver.Decoder(info)); err != nil {
		t.Fatal(err)
	}
	c := s.Config()
	if c.Width != 320 || c.Height != 240 || c.WidthSrc != 320 || c.FrameRate != (mpegserver.Rational{Num: 30, Den: 1}) ||
		c.GOPSize != 24 || c.BitRate <= 0 || c.BitRate != info.BitRate {
		t.Errorf("%+v from %+v", c, info)
	}
	p := info.Parameters()
	if p["frameCount"] != 60 || p["width"] != 320 || p["codecName"] != "h264" {
		t.Errorf("parameters %v", p)
	}
}

// A reader that resizes reports widthDst/heightDst, so the copy serves
// frames of that size to an output of the source's size.
func TestDecoderFromResizingReader(t *testing.T) {
	t.Parallel()
	r, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), "testdata/clip.mp4", mpegserver.ReaderConfig{Width: 160, Height: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if w, h := r.Size(); w != 160 || h != 120 || r.FrameSize() != 160*120*3 {
		t.Fatalf("size %dx%d", w, h)
	}
	s := mpegserver.New()
	if err := s.SetParameters(map[string]any{"decoder": r}); err != nil {
		t.Fatal(err)
	}
	if c := s.Config(); c.Width != 320 || c.Height != 240 || c.WidthSrc != 160 || c.HeightSrc != 120 {
		t.Errorf("%+v", c)
	}
	n := 0
	for f := make([]byte, r.FrameSize()); r.Read(f) == nil; n++ {
	}
	if n != 60 {
		t.Errorf("read %d frames, want 60", n)
	}
}

// Reader inputs and misuse get clear errors.
func TestReaderErrors(t *testing.T) {
	t.Parallel()
	ctx := testutil.Context(t, 20*time.Second)
	for name, cfg := range map[string]mpegserver.ReaderConfig{
		"odd":      {Width: 100},
		"negative": {Width: -2, Height: -2},
		"huge":     {Width: 1 << 20, Height: 10},
		"timeout":  {ReadTimeout: -time.Second},
	} {
		if _, err := mpegserver.OpenReader(ctx, "testdata/clip.mp4", cfg); !errors.Is(err, mpegserver.ErrBadParameter) {
			t.Errorf("%s: %v", name, err)
		}
	}
	r, err := mpegserver.OpenReader(ctx, "testdata/clip.mp4", mpegserver.ReaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Read(make([]byte, 10)); !errors.Is(err, mpegserver.ErrFrameSize) {
		t.Errorf("short frame: %v", err)
	}
	if err := r.Read(nil); !errors.Is(err, mpegserver.ErrFrameSize) {
		t.Errorf("nil frame: %v", err)
	}
	r.Close()
	r.Close()
	if _, err := r.ReadFrame(); !errors.Is(err, mpegserver.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
