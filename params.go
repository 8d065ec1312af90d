package mpegserver

import (
	"fmt"
	"math"
	"sort"
	"strings"
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
	KeyPtsAhead     = "ptsAhead"   // frames ahead, as reported
	KeyFrameAhead   = "frameAhead" // frames ahead, as set
	// KeyFrameAheadAuto (bool) says frames ahead follows 2 × GOPSize.
	KeyFrameAheadAuto = "frameAheadAuto"
	// KeyPreset is the encoder speed preset (not in the original).
	KeyPreset = "preset"
)

// formatName is what the original guesses from the address: the muxer.
func formatName(addr string) string {
	t, err := parseAddress(addr)
	if err != nil {
		return ""
	}
	return t.Format
}

// Parameter returns one parameter by its original name. Types: strings for
// videoAddress, codecName and formatName; int for nthread, width, height,
// widthSrc, heightSrc, GOPSize, maxBframe and ptsAhead; float64 for
// bitRate (Kb/s), frameRate (fps) and waitRef (seconds).
func (s *Server) Parameter(name string) (any, error) {
	c := s.Config()
	switch name {
	case KeyVideoAddress:
		return c.Address, nil
	case KeyCodecName:
		return c.Codec, nil
	case KeyFormatName:
		return formatName(c.Address), nil
	case KeyNThread:
		return c.Threads, nil
	case KeyBitRate:
		return c.BitRate, nil
	case KeyWidth:
		return c.Width, nil
	case KeyHeight:
		return c.Height, nil
	case KeyWidthSrc:
		w, _ := c.SourceSize()
		return w, nil
	case KeyHeightSrc:
		_, h := c.SourceSize()
		return h, nil
	case KeyGOPSize:
		return c.GOPSize, nil
	case KeyMaxBframe:
		return c.MaxBFrames, nil
	case KeyFrameRate:
		return c.FrameRate.Float(), nil
	case KeyWaitRef:
		return s.WaitRef().Seconds(), nil
	case KeyPtsAhead, KeyFrameAhead:
		return c.FrameAhead, nil
	case KeyPreset:
		return c.Preset, nil
	}
	return nil, fmt.Errorf("%w: unknown parameter %q (known: %s)", ErrBadParameter, name, strings.Join(parameterNames(), ", "))
}

func parameterNames() []string {
	n := []string{KeyVideoAddress, KeyCodecName, KeyFormatName, KeyNThread, KeyBitRate, KeyWidth, KeyHeight,
		KeyWidthSrc, KeyHeightSrc, KeyGOPSize, KeyMaxBframe, KeyFrameRate, KeyWaitRef, KeyPtsAhead}
	sort.Strings(n)
	return n
}

// Parameters returns every parameter by its original name. frameRate is a
// [2]int{num, den} here (exact), where Parameter gives a float. widthSrc and
// heightSrc appear only when set apart from the output size, as in the
// original. SetParameters(other.Parameters()) reproduces other's
// configuration.
func (s *Server) Parameters() map[string]any {
	c := s.Config()
	m := map[string]any{
		KeyVideoAddress: c.Address,
		KeyCodecName:    c.Codec,
		KeyFormatName:   formatName(c.Address),
		KeyNThread:      c.Threads,
		KeyBitRate:      c.BitRate,
		KeyWidth:        c.Width,
		KeyHeight:       c.Height,
		KeyGOPSize:      c.GOPSize,
		KeyMaxBframe:    c.MaxBFrames,
		KeyFrameRate:    [2]int{c.FrameRate.Num, c.FrameRate.Den},
		KeyWaitRef:      s.WaitRef().Seconds(),
		KeyPtsAhead:     c.FrameAhead,
		KeyPreset:       c.Preset,
	}
	if c.WidthSrc != 0 {
		m[KeyWidthSrc] = c.WidthSrc
	}
	if c.HeightSrc != 0 {
		m[KeyHeightSrc] = c.HeightSrc
	}
	if c.FrameAheadAuto {
		// Not in the original: it lets SetParameters keep frames ahead
		// following GOPSize, so the round trip is exact.
		m[KeyFrameAheadAuto] = true
	}
	return m
}

// SetParameters applies a map keyed by the original names, all or nothing.
// Integer keys take any Go integer (or a float with no fraction); bitRate
// takes a number in Kb/s; frameRate takes "num/den", [2]int, []int or a
// number; address and codec take strings. The read-only keys formatName
// and waitRef are accepted and ignored, so Parameters() round-trips.
// Unknown keys and wrong types are errors.
func (s *Server) SetParameters(params map[string]any) error {
	var opts []Option
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	// GOPSize before frame ahead: setting GOPSize moves an automatic
	// frames-ahead, and an explicit one in the same map must win.
	sort.Slice(keys, func(i, j int) bool { return keyOrder(keys[i]) < keyOrder(keys[j]) })
	for _, k := range keys {
		v := params[k]
		bad := func(want string) error {
			return fmt.Errorf("%w: %s wants %s, got %T (%v)", ErrBadParameter, k, want, v, v)
		}
		switch k {
		case KeyVideoAddress, "videoPath":
			str, ok := v.(string)
			if !ok {
				return bad("a string")
			}
			opts = append(opts, Address(str))
		case KeyCodecName:
			str, ok := v.(string)
			if !ok {
				return bad("a string")
			}
			opts = append(opts, Codec(str))
		case KeyPreset:
			str, ok := v.(string)
			if !ok {
				return bad("a string")
			}
			opts = append(opts, Preset(str))
		case KeyFormatName:
			if _, ok := v.(string); !ok {
				return bad("a string")
			}
		case KeyWaitRef:
			if _, ok := toFloat(v); !ok {
				return bad("a number")
			}
		case KeyBitRate:
			f, ok := toFloat(v)
			if !ok {
				return bad("a number (Kb/s)")
			}
			opts = append(opts, BitRate(f))
		case KeyFrameRate:
			r, err := toRational(v)
			if err != nil {
				return fmt.Errorf("%w (%s)", err, k)
			}
			opts = append(opts, FrameRate(r.Num, r.Den))
		case KeyFrameAheadAuto:
			auto, ok := v.(bool)
			if !ok {
				return bad("a bool")
			}
			if auto {
				opts = append(opts, func(c *Config) error {
					c.FrameAheadAuto, c.FrameAhead = true, 2*c.GOPSize
					return nil
				})
			}
		default:
			set, ok := intSetters[k]
			if !ok {
				return fmt.Errorf("%w: unknown parameter %q (known: %s)", ErrBadParameter, k, strings.Join(parameterNames(), ", "))
			}
			n, ok := toInt(v)
			if !ok {
				return bad("an integer")
			}
			opts = append(opts, set(n))
		}
	}
	return s.SetParameter(opts...)
}

var intSetters = map[string]func(int) Option{
	KeyNThread: Threads, KeyWidth: Width, KeyHeight: Height, KeyWidthSrc: WidthSrc, KeyHeightSrc: HeightSrc,
	KeyGOPSize: GOPSize, KeyMaxBframe: MaxBFrames, KeyPtsAhead: FrameAhead, KeyFrameAhead: FrameAhead,
}

func keyOrder(k string) int {
	switch k {
	case KeyGOPSize:
		return 0
	case KeyPtsAhead, KeyFrameAhead:
		return 2
	case KeyFrameAheadAuto:
		return 3
	}
	return 1
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
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
		return float64(n), true
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
