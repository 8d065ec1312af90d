package mpegserver

import (
	"encoding/json"
	"errors"
	"image"
	"net/url"
	"strings"
	"testing"
)

// FuzzSetParameters: any map a JSON decoder gives is either applied whole
// (the result valid and round-tripping through Parameters) or refused with
// ErrBadParameter and nothing changed. Never a panic.
func FuzzSetParameters(f *testing.F) {
	for _, seed := range []string{
		`{"width": 1280, "height": 720, "frameRate": "30000/1001", "GOPSize": 12}`,
		`{"codecName": "libx265", "bitRate": 1e9, "maxBframe": 16}`,
		`{"frameRate": [5, 1], "frameAhead": -1, "ptsAhead": 10}`,
		`{"videoPath": "rtsp://u:p@h/x", "nthread": 2.5}`,
		`{"widthSrc": -1, "frameRate": 0.0001, "waitRef": "x", "formatName": 3}`,
		`{"frameRate": [1099511627776, 1099511627776]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			return
		}
		s := New()
		before := s.Config()
		err := s.SetParameters(m)
		if err != nil {
			if !errors.Is(err, ErrBadParameter) {
				t.Fatalf("%s: %v does not match ErrBadParameter", data, err)
			}
			if s.Config() != before {
				t.Fatalf("%s: refused but the configuration changed", data)
			}
			return
		}
		c := s.Config()
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: accepted an invalid configuration: %v", data, err)
		}
		other := New()
		if err := other.SetParameters(s.Parameters()); err != nil || other.Config() != c {
			t.Fatalf("%s: round trip: %v\n%+v\n%+v", data, err, c, other.Config())
		}
		_ = s.String()
	})
}

// FuzzParseRational: a rate that parses and validates prints in a form
// that parses back to itself.
func FuzzParseRational(f *testing.F) {
	for _, s := range []string{"30", "30/1", "30000/1001", "29.97", "0.0001", "1e3", "-5/1", "1/0", "NaN", " 24 / 1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRational(s)
		if err != nil {
			if !errors.Is(err, ErrBadParameter) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		c := DefaultConfig()
		c.FrameRate = r
		if c.Validate() != nil {
			return
		}
		if back, err := ParseRational(r.String()); err != nil || back != r {
			t.Fatalf("%q -> %v -> %v, %v", s, r, back, err)
		}
	})
}

// FuzzParseAddress: no address panics; a password never survives into the
// location or the redacted form; a stream address always has a port to dial.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"rtsp://127.0.0.1:8554/x", "rtsp://u:p@h/x", "RTSP://h:/x", "rtsps://[::1]/a?b#c",
		"file:///tmp/a.mp4", "out.mkv", "rtsp://u:p@ss@h/a@b", "rtsp://%zz@h/", "ftp://h/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		red := Redact(addr)
		tg, err := parseAddress(addr)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedAddress) {
				t.Fatalf("%q: %v", addr, err)
			}
			if tg.Password != "" && strings.Contains(err.Error(), tg.Password) {
				t.Fatalf("%q: password in %v", addr, err)
			}
			return
		}
		if !tg.Live() {
			return
		}
		if tg.HostPort == "" || strings.HasSuffix(tg.HostPort, ":") {
			t.Fatalf("%q: nothing to dial (%q)", addr, tg.HostPort)
		}
		if tg.Password != "" {
			if _, userinfo, _ := splitUserinfo(tg.Location); userinfo != "" {
				t.Fatalf("%q: credentials left in location %q", addr, tg.Location)
			}
			if u, err := url.Parse(red); err == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && p != redacted {
					t.Fatalf("%q: Redact gave %q", addr, red)
				}
			}
		}
	})
}

// FuzzImageFrame: whatever an *image.RGBA claims (Pix length, stride,
// bounds), the frame handed to C either is refused or lies inside Pix.
func FuzzImageFrame(f *testing.F) {
	f.Add(320*240*4, 320*4, 0, 0, 320, 240)
	f.Add(100, 320*4, 0, 0, 320, 240)
	f.Add(320*240*4, 0, 0, 0, 320, 240)
	f.Add(320*240*4, -1280, 0, 0, 320, 240)
	f.Add(400*300*4, 400*4, 40, 30, 360, 270)
	f.Fuzz(func(t *testing.T, n, stride, x0, y0, x1, y1 int) {
		if n < 0 || n > 1<<22 {
			return
		}
		m := &image.RGBA{Pix: make([]byte, n), Stride: stride, Rect: image.Rect(x0, y0, x1, y1)}
		w, h := m.Rect.Dx(), m.Rect.Dy()
		if w <= 0 || h <= 0 || w > 1<<12 || h > 1<<12 {
			return
		}
		fr, release, err := imageFrame(m, w, h)
		if err != nil {
			if !errors.Is(err, ErrFrameSize) {
				t.Fatal(err)
			}
			return
		}
		release()
		if fr.Stride < 4*fr.W || (fr.H-1)*fr.Stride+4*fr.W > len(fr.Data) {
			t.Fatalf("frame %dx%d stride %d over %d bytes reads past them", fr.W, fr.H, fr.Stride, len(fr.Data))
		}
	})
}
