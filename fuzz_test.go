package mpegserver

import (
	"encoding/json"
	"errors"
	"image"
	"net/url"
	"strings"
	"testing"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
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
		pw := ""
		if u, err := url.Parse(addr); err == nil && u.User != nil {
			pw, _ = u.User.Password()
		}
		o, err := parseOutput(addr)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedAddress) {
				t.Fatalf("%q: %v", addr, err)
			}
			if len(pw) >= 8 && strings.Contains(err.Error(), pw) && !strings.Contains(red, pw) {
				t.Fatalf("%q: password in %v", addr, err)
			}
			return
		}
		f := o.facts()
		if !f.connects {
			return
		}
		var hostPort string
		switch o := o.(type) {
		case *rtspOutput:
			hostPort = o.hostPort
		case *rtmpOutput:
			hostPort = o.hostPort
		case *srtOutput:
			hostPort = o.hostPort
		default:
			t.Fatalf("%q: %T connects to what?", addr, o)
		}
		if hostPort == "" || strings.HasSuffix(hostPort, ":") {
			t.Fatalf("%q: nothing to dial (%q)", addr, hostPort)
		}
		if _, userinfo, _ := splitUserinfo(f.location); userinfo != "" {
			t.Fatalf("%q: credentials left in location %q", addr, f.location)
		}
		if pw != "" {
			if u, err := url.Parse(red); err == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && p != redacted {
					t.Fatalf("%q: Redact gave %q", addr, red)
				}
			}
		}
	})
}

// FuzzImageFrame: whatever an *image.RGBA, *image.Gray or *image.YCbCr
// claims (plane lengths, strides, bounds, subsampling), the frame handed
// to C either is refused or lies inside the image's own planes.
func FuzzImageFrame(f *testing.F) {
	f.Add(uint8(0), 320*240*4, 0, 320*4, 0, 0, 0, 320, 240)
	f.Add(uint8(0), 100, 0, 320*4, 0, 0, 0, 320, 240)
	f.Add(uint8(0), 320*240*4, 0, 0, 0, 0, 0, 320, 240)
	f.Add(uint8(0), 320*240*4, 0, -1280, 0, 0, 0, 320, 240)
	f.Add(uint8(0), 400*300*4, 0, 400*4, 0, 40, 30, 360, 270)
	f.Add(uint8(1), 320*240, 0, 320, 0, 0, 0, 320, 240)
	f.Add(uint8(2), 320*240, 160*120, 320, 160, 0, 0, 320, 240)
	f.Add(uint8(3), 321*241, 161*241, 321, 161, 1, 1, 322, 242)
	f.Add(uint8(4), 320*240, 320*240-1, 320, 320, 0, 0, 320, 240)
	f.Fuzz(func(t *testing.T, kind uint8, n, cn, stride, cstride, x0, y0, x1, y1 int) {
		if n < 0 || n > 1<<22 || cn < 0 || cn > 1<<22 {
			return
		}
		r := image.Rect(x0, y0, x1, y1)
		w, h := r.Dx(), r.Dy()
		if w <= 0 || h <= 0 || w > 1<<12 || h > 1<<12 {
			return
		}
		// Each plane's bytes a row and rows, as the format lays it out.
		type plane struct {
			b              []byte
			rowBytes, rows int
		}
		cw, ch := (w+1)/2, (h+1)/2
		var m image.Image
		var planes []plane
		switch kind % 5 {
		case 0:
			rgba := &image.RGBA{Pix: make([]byte, n), Stride: stride, Rect: r}
			m, planes = rgba, []plane{{rgba.Pix, 4 * w, h}}
		case 1:
			g := &image.Gray{Pix: make([]byte, n), Stride: stride, Rect: r}
			m, planes = g, []plane{{g.Pix, w, h}}
		default:
			ratio := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio444}[kind%5-2]
			y := &image.YCbCr{Y: make([]byte, n), Cb: make([]byte, cn), Cr: make([]byte, cn), YStride: stride, CStride: cstride,
				SubsampleRatio: ratio, Rect: r}
			cr, crows := cw, ch
			switch ratio {
			case image.YCbCrSubsampleRatio422:
				crows = h
			case image.YCbCrSubsampleRatio444:
				cr, crows = w, h
			}
			m, planes = y, []plane{{y.Y, w, h}, {y.Cb, cr, crows}, {y.Cr, cr, crows}}
		}
		fr, release, err := imageFrame(m, w, h)
		if err != nil {
			if !errors.Is(err, ErrFrameSize) {
				t.Fatal(err)
			}
			return
		}
		release()
		if fr.W != w || fr.H != h {
			t.Fatalf("frame %dx%d for a %dx%d image", fr.W, fr.H, w, h)
		}
		for i, p := range planes {
			got := fr.Planes[i]
			if len(got) == 0 {
				continue // drawn into a buffer of its own (a sub-image off the chroma grid)
			}
			s := fr.Strides[i]
			if s < p.rowBytes || (p.rows-1)*s+p.rowBytes > len(got) {
				t.Fatalf("plane %d: %d rows of %d bytes, %d apart, over %d bytes reads past them", i, p.rows, p.rowBytes, s, len(got))
			}
		}
	})
}

// splitShell splits a line the way a POSIX shell does for the forms
// launchWord writes: plain words and '...' quoting ('\” for a quote).
func splitShell(t *testing.T, line string) []string {
	var words []string
	var w strings.Builder
	in, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			w.WriteByte(c)
		case c == '\'':
			quoted, in = true, true
		case c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			in = true
		case c == ' ':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(c)
			in = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", line)
	}
	if in {
		words = append(words, w.String())
	}
	return words
}

// FuzzLaunchLine: whatever a user name, a password or a file path holds,
// the printed line, split by a shell and parsed by GStreamer as
// gst-launch-1.0 does, gives the elements the same values the library
// sets, and the password is never printed.
func FuzzLaunchLine(f *testing.F) {
	for _, seed := range [][3]string{
		{"alice", "s3cret", "/tmp/out.mp4"},
		{`a"b\c`, `p'w"d`, `/tmp/it's "here".mkv`},
		{"$(reboot)", "`id`", "/tmp/a ! fakesink.h264"},
		{"ü ñ", " ", "/tmp/tab\there.ts"},
		{"NULL", `"quoted"`, `"/tmp/quoted.mp4"`},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, user, password, path string) {
		if strings.ContainsRune(user+password+path, 0) || user == "" || password == "" {
			return // C strings end at NUL; an empty name sets no property
		}
		addr := "rtsp://" + url.UserPassword(user, password).String() + "@127.0.0.1:8554/cam"
		c := DefaultConfig()
		c.Address = addr
		d, err := compile(c, gstpipe.Installed)
		if err != nil {
			return
		}
		rtsp := d.outputs[0].out.(*rtspOutput)
		line := d.launchLine()
		argv := splitShell(t, line)[2:] // gst-launch-1.0 -e
		if pw, err := gstpipe.LaunchProperty(argv, "rtspclientsink", "user-pw"); err != nil || pw != redacted {
			t.Fatalf("user-pw parsed back as %q (%v), want %s:\n%s", pw, err, redacted, line)
		}
		got, err := gstpipe.LaunchProperty(argv, "rtspclientsink", "user-id")
		if err != nil || got != rtsp.user {
			t.Fatalf("user %q: parsed back %q, %v\n%s", rtsp.user, got, err, line)
		}
		if got, err := gstpipe.LaunchProperty(argv, "rtspclientsink", "location"); err != nil || got != rtsp.loc {
			t.Fatalf("location %q: parsed back %q, %v\n%s", rtsp.loc, got, err, line)
		}
		c.Address = path
		if d, err = compile(c, gstpipe.Installed); err != nil {
			return
		}
		file, ok := d.outputs[0].out.(*fileOutput)
		if !ok {
			return
		}
		line = d.launchLine()
		got, err = gstpipe.LaunchProperty(splitShell(t, line)[2:], "filesink", "location")
		if err != nil || got != file.path {
			t.Fatalf("path %q: parsed back %q, %v\n%s", file.path, got, err, line)
		}
	})
}
