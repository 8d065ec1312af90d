package mpegserver

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parameter names, as the original class spells them.
const (
	KeyVideoAddress = "videoAddress"
	KeyCodecName    = "codecName"
	KeyFormatName   = "formatName" // read-only
	KeyNThread      = "nthread"
	KeyBitRate      = "bitRate"
	KeyWidth        = "width"
	KeyHeight       = "height"
	KeyWidthSrc     = "widthSrc"
	KeyHeightSrc    = "heightSrc"
	KeyGOPSize      = "GOPSize"
	KeyMaxBframe    = "maxBframe"
	KeyFrameRate    = "frameRate"
	KeyWaitRef      = "waitRef"    // read-only
	KeyPtsAhead     = "ptsAhead"   // frames ahead in force
	KeyFrameAhead   = "frameAhead" // frames ahead as set (-1: 2 × GOPSize)
	// KeyPreset is the encoder speed preset (not in the original).
	KeyPreset = "preset"
	// KeySourceFormat and KeySourceStride are the layout of frames served
	// as bytes (not in the original, which took packed RGB only).
	KeySourceFormat = "sourceFormat"
	KeySourceStride = "sourceStride"
)

// view is what a parameter is read from: the configuration and, for
// waitRef, the open stream's wait.
type view struct {
	Config
	wait time.Duration
}

// param is one row of the parameter table. The table drives Parameter,
// Parameters, SetParameters, the list of known names, String() and the
// guide's parameter table (held to it by a test).
type param struct {
	key    string   // the original's name
	alias  []string // other names SetParameters takes (the original's setParameter argument names)
	option string   // the Go way to set it, for the guide
	doc    string   // one line for the guide
	// get gives Parameter's value; exact, where set, Parameters' value
	// (frameRate: exact there, a float in Parameter).
	get, exact func(v view) any
	// omit leaves the key out of Parameters (source size when unset, as
	// the original).
	omit func(c Config) bool
	// set parses a value into an option. Read-only keys check the type
	// and give a nil option: SetParameters accepts and ignores them so
	// that Parameters() round-trips.
	set func(v any) (Option, error)
	// show is the value as String() and the guide print it.
	show func(v view) string
}

var params = []param{
	{key: KeyVideoAddress, alias: []string{"videoPath"}, option: "`Address(s)`, `ResetPath(s)`, `Setup(s)`",
		doc: "`rtsp://` or `rtsps://` (`user:password@` is sent as credentials and never printed), `rtmp://host/app/stream` (FLV, H.264), `srt://host:port?streamid=…` (MPEG-TS, caller), `udp://host:port` (MPEG-TS), `whip+http://[TOKEN@]host:port/path/whip` or `whip+https://` (WebRTC by WHIP, the token sent as a bearer token and never printed), a `.m3u8` path (HLS), or a file (`file:///path` or a plain path); docs/outputs.md",
		get: func(v view) any { return v.Address }, set: setString(Address), show: func(v view) string { return Redact(v.Address) }},
	{key: KeyCodecName, option: "`Codec(s)`", doc: "`libx264`/`x264` → x264enc, `libx265`/`x265` → x265enc, `libvpx` → vp8enc, `libvpx-vp9` → vp9enc, `libaom-av1` → av1enc, `libopenh264` → openh264enc, `h264_nvenc`, `h264_vaapi`, `h264_qsv`, `h264_v4l2m2m` (and `hevc_…`) → the hardware encoders; plain `h264`/`hevc` take a working hardware encoder, else x264enc/x265enc (docs/outputs.md)",
		get: func(v view) any { return v.Codec }, set: setString(Codec), show: func(v view) string {
			if cs, ok := candidates(v.Codec); ok {
				var els []string
				for _, e := range cs {
					els = append(els, e.Element)
				}
				return v.Codec + " (" + strings.Join(els, ", else ") + ")"
			}
			return v.Codec
		}},
	{key: KeyFormatName, option: "read only", doc: "the container or protocol the address implies, as FFmpeg names it",
		get: func(v view) any { return formatName(v.Address) }, set: setString(func(string) Option { return nil }), show: func(v view) string { return formatName(v.Address) }},
	{key: KeyNThread, option: "`Threads(n)`", doc: "encoder threads (and videoconvert's, for an encoder that wants another layout than I420); 0: automatic",
		get: func(v view) any { return v.Threads }, set: setInt(Threads), show: func(v view) string {
			if v.Threads == 0 {
				return "0 (automatic)"
			}
			return strconv.Itoa(v.Threads)
		}},
	{key: KeyBitRate, option: "`BitRate(kbps)`", doc: "Kb/s with Kb = 1024 bit, as the original; the encoder gets kbit/s (× 1.024)",
		get: func(v view) any { return v.BitRate }, set: setFloat(BitRate), show: func(v view) string { return fmt.Sprintf("%g Kb/s", v.BitRate) }},
	{key: KeyWidth, option: "`Width(n)`, `Size(w, h)`", doc: "output width, even",
		get: func(v view) any { return v.Width }, set: setInt(Width), show: func(v view) string { return strconv.Itoa(v.Width) }},
	{key: KeyHeight, option: "`Height(n)`, `Size(w, h)`", doc: "output height, even",
		get: func(v view) any { return v.Height }, set: setInt(Height), show: func(v view) string { return strconv.Itoa(v.Height) }},
	{key: KeyWidthSrc, option: "`WidthSrc(n)`, `SourceSize(w, h)`", doc: "width of the frames you serve (0: the output width); scaled (stretched) to the output size",
		get: func(v view) any { w, _ := v.SourceSize(); return w }, omit: func(c Config) bool { return c.WidthSrc == 0 },
		set: setInt(WidthSrc), show: func(v view) string { w, _ := v.SourceSize(); return strconv.Itoa(w) }},
	{key: KeyHeightSrc, option: "`HeightSrc(n)`, `SourceSize(w, h)`", doc: "height of the frames you serve (0: the output height)",
		get: func(v view) any { _, h := v.SourceSize(); return h }, omit: func(c Config) bool { return c.HeightSrc == 0 },
		set: setInt(HeightSrc), show: func(v view) string { _, h := v.SourceSize(); return strconv.Itoa(h) }},
	{key: KeyGOPSize, option: "`GOPSize(n)`", doc: "a keyframe exactly every n frames (scene-cut keyframes are off)",
		get: func(v view) any { return v.GOPSize }, set: setInt(GOPSize), show: func(v view) string { return strconv.Itoa(v.GOPSize) }},
	{key: KeyMaxBframe, option: "`MaxBFrames(n)`", doc: "consecutive B-frames; 0 also turns on the encoder's zero-latency tuning",
		get: func(v view) any { return v.MaxBFrames }, set: setInt(MaxBFrames), show: func(v view) string { return strconv.Itoa(v.MaxBFrames) }},
	{key: KeyFrameRate, option: "`FrameRate(num, den)`", doc: "`Parameter` gives fps as a float, `Parameters` the exact `[2]int`; the map takes `\"30000/1001\"`, `[2]int{30, 1}` or a number",
		get: func(v view) any { return v.FrameRate.Float() }, exact: func(v view) any { return [2]int{v.FrameRate.Num, v.FrameRate.Den} },
		set: func(x any) (Option, error) {
			r, err := toRational(x)
			if err != nil {
				return nil, err
			}
			return FrameRate(r.Num, r.Den), nil
		}, show: func(v view) string { return fmt.Sprintf("%s (%.3f fps)", v.FrameRate, v.FrameRate.Float()) }},
	{key: KeyPtsAhead, option: "`FrameAhead(n)`", doc: "frames ahead in force, in frames (the original gave time-stamp units); setting it is setting frameAhead",
		get: func(v view) any { return v.Ahead() }, set: setInt(FrameAhead), show: func(v view) string { return strconv.Itoa(v.Ahead()) + " frames" }},
	{key: KeyFrameAhead, option: "`FrameAhead(n)`", doc: "how many frames serving may run ahead of play time; -1: 2 × GOPSize. Wins over ptsAhead in the same map",
		get: func(v view) any { return v.FrameAhead }, set: setInt(FrameAhead), show: func(v view) string {
			if v.FrameAhead == AutoFrameAhead {
				return "-1 (2 × GOPSize)"
			}
			return strconv.Itoa(v.FrameAhead)
		}},
	{key: KeyPreset, option: "`Preset(s)`", doc: "encoder speed preset, `ultrafast` … `veryslow` (not in the original)",
		get: func(v view) any { return v.Preset }, set: setString(Preset), show: func(v view) string { return v.Preset }},
	{key: KeySourceFormat, option: "`SourceFormat(f)`", doc: "pixel format of frames served as bytes, by ffmpeg's name: `rgb24`, `bgr24`, `rgba`, `bgra`, `argb`, `gray`, `yuv420p`, `nv12`, `yuyv422`, `yuvj420p` (not in the original; see Serving frames)",
		get: func(v view) any { return v.SourceFormat.String() }, set: func(x any) (Option, error) {
			if f, ok := x.(PixelFormat); ok {
				return SourceFormat(f), nil
			}
			name, ok := x.(string)
			if !ok {
				return nil, wrongType("a pixel format's name", x)
			}
			f, err := ParsePixelFormat(name)
			return SourceFormat(f), err
		}, show: func(v view) string { return v.SourceFormat.String() }},
	{key: KeySourceStride, option: "`SourceStride(n)`", doc: "bytes from one row of a served frame to the next; 0: packed tightly (not in the original)",
		get: func(v view) any { return v.SourceStride }, set: setInt(SourceStride), show: func(v view) string { return strconv.Itoa(v.SourceStride) }},
	{key: KeyWaitRef, option: "read only, `WaitRef()`", doc: "seconds to wait before the next frame (non-blocking serving)",
		get: func(v view) any { return v.wait.Seconds() }, set: setFloat(func(float64) Option { return nil }), show: func(v view) string { return v.wait.String() }},
}

func setString(o func(string) Option) func(any) (Option, error) {
	return func(v any) (Option, error) {
		s, ok := v.(string)
		if !ok {
			return nil, wrongType("a string", v)
		}
		return o(s), nil
	}
}

func setInt(o func(int) Option) func(any) (Option, error) {
	return func(v any) (Option, error) {
		n, ok := toInt(v)
		if !ok {
			return nil, wrongType("an integer", v)
		}
		return o(n), nil
	}
}

func setFloat(o func(float64) Option) func(any) (Option, error) {
	return func(v any) (Option, error) {
		f, ok := toFloat(v)
		if !ok {
			return nil, wrongType("a number", v)
		}
		return o(f), nil
	}
}

// wrongType says what a key wanted; SetParameters adds the key.
func wrongType(want string, v any) error {
	return fmt.Errorf("wants %s, got %T (%v)", want, v, v)
}

// lookupParam finds a row by its key or an alias.
func lookupParam(name string) (param, bool) {
	for _, p := range params {
		if p.key == name || slices.Contains(p.alias, name) {
			return p, true
		}
	}
	return param{}, false
}

func unknownParam(name string) error {
	var known []string
	for _, p := range params {
		known = append(known, p.key)
		known = append(known, p.alias...)
	}
	known = append(known, copyKeys...)
	slices.Sort(known)
	return fmt.Errorf("%w: unknown parameter %q (known: %s)", ErrBadParameter, name, strings.Join(known, ", "))
}

func (s *Server) view() view {
	return view{Config: s.Config(), wait: s.WaitRef()}
}

// Parameter returns one parameter by its original name. Types: strings for
// videoAddress, codecName, formatName, preset and sourceFormat; int for
// nthread, width, height, widthSrc, heightSrc, GOPSize, maxBframe,
// ptsAhead, frameAhead and sourceStride; float64 for bitRate (Kb/s),
// frameRate (fps) and waitRef (seconds).
func (s *Server) Parameter(name string) (any, error) {
	p, ok := lookupParam(name)
	if !ok {
		return nil, unknownParam(name)
	}
	return p.get(s.view()), nil
}

// Parameters returns every parameter by its original name. frameRate is a
// [2]int{num, den} here (exact), where Parameter gives a float. widthSrc and
// heightSrc appear only when set apart from the output size, as in the
// original. SetParameters(other.Parameters()) reproduces other's
// parameters, those of this table: what the original had, and the source
// layout (sourceFormat, sourceStride). Settings the original had no
// parameter for (Audio, Record, Backup, Reconnect, the timeouts, TLS,
// Logger) are not among them: give their options again.
func (s *Server) Parameters() map[string]any { return parameters(s.view()) }

func parameters(v view) map[string]any {
	m := make(map[string]any, len(params))
	for _, p := range params {
		switch {
		case p.omit != nil && p.omit(v.Config):
		case p.exact != nil:
			m[p.key] = p.exact(v)
		default:
			m[p.key] = p.get(v)
		}
	}
	return m
}

// SetParameters applies a map keyed by the original names, all or nothing.
// Integer keys take any Go integer (or a float with no fraction, as JSON
// gives); bitRate takes a number in Kb/s; frameRate takes "num/den",
// [2]int, []int or a number; names take strings. videoPath is taken for
// videoAddress, as the original's setParameter names it. The read-only
// keys formatName and waitRef are accepted and ignored, so Parameters()
// round-trips. Unknown keys and wrong types are errors.
func (s *Server) SetParameters(m map[string]any) error {
	opts, err := mapOptions(m)
	if err != nil {
		return err
	}
	return s.SetParameter(opts...)
}

// mapOptions turns SetParameters' map into options: copied settings
// first, then the keys in table order.
func mapOptions(m map[string]any) ([]Option, error) {
	seen := 0
	var opts []Option
	// Copied settings first: the explicit keys of the same map win.
	for _, k := range copyKeys {
		if v, ok := m[k]; ok {
			seen++
			o, err := copyOption(k, v)
			if err != nil {
				return nil, err
			}
			opts = append(opts, o)
		}
	}
	// In table order, not the map's: frameAhead after ptsAhead, so the one
	// that says how frames ahead was set wins.
	for _, p := range params {
		for _, name := range append([]string{p.key}, p.alias...) {
			v, ok := m[name]
			if !ok {
				continue
			}
			seen++
			o, err := p.set(v)
			if errors.Is(err, ErrBadParameter) {
				return nil, fmt.Errorf("%w (%s)", err, name)
			} else if err != nil {
				return nil, fmt.Errorf("%w: %s %v", ErrBadParameter, name, err)
			}
			if o != nil {
				opts = append(opts, o)
			}
		}
	}
	if seen < len(m) {
		for k := range m {
			if _, ok := lookupParam(k); !ok && !isCopyKey(k) {
				return nil, unknownParam(k)
			}
		}
	}
	return opts, nil
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return clampInt(int64(n))
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return clampInt(n)
	case uint:
		return clampInt(uint64(n))
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return clampInt(uint64(n))
	case uint64:
		return clampInt(n)
	case float32:
		return floatInt(float64(n))
	case float64:
		return floatInt(n)
	}
	return 0, false
}

// clampInt refuses what does not fit an int32: no parameter is that large,
// and GStreamer's integer properties are 32-bit.
func clampInt[T int64 | uint64](n T) (int, bool) {
	if uint64(n) > math.MaxInt32 && n > 0 || int64(n) < math.MinInt32 {
		return 0, false
	}
	return int(n), true
}

// floatInt accepts whole floats, as JSON decoding produces.
func floatInt(f float64) (int, bool) {
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, false
	}
	return int(f), true
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsNaN(n)
	case float32:
		return float64(n), !math.IsNaN(float64(n))
	}
	if i, ok := toInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

func toRational(v any) (Rational, error) {
	switch r := v.(type) {
	case string:
		return ParseRational(r)
	case Rational:
		return r, nil
	case [2]int:
		return Rational{r[0], r[1]}, nil
	case []int:
		if len(r) == 2 {
			return Rational{r[0], r[1]}, nil
		}
	case []any:
		if len(r) == 2 {
			n, ok1 := toInt(r[0])
			d, ok2 := toInt(r[1])
			if ok1 && ok2 {
				return Rational{n, d}, nil
			}
		}
	default:
		if f, ok := toFloat(v); ok {
			return rationalFromFloat(f)
		}
	}
	return Rational{}, fmt.Errorf("%w: frame rate %v (%T) is not \"num/den\", [2]int or a number", ErrBadParameter, v, v)
}
