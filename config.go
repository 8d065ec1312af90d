package mpegserver

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Defaults of a new Server. They aim at low-latency live streaming of
// machine-made video (robot cameras, simulations, vision output):
//
//   - H.264 through x264, because every player and server reads it;
//   - no B-frames, so the encoder never holds frames back to reorder them,
//     and x264's zerolatency tuning is used;
//   - a keyframe every second (GOP 30 at 30 fps), so a viewer who joins
//     sees a picture within a second;
//   - 2048 Kb/s, enough for a clean 640×360 picture at 30 fps;
//   - frames ahead derived from the GOP size (2 × GOP), as the original.
//
// The default address is where mediamtx (or `mpegserver serve`) listens on
// this machine with its default settings.
const (
	DefaultAddress    = "rtsp://127.0.0.1:8554/video"
	DefaultCodec      = "libx264"
	DefaultBitRate    = 2048.0 // Kb/s, Kb = 1024 bit
	DefaultWidth      = 640
	DefaultHeight     = 360
	DefaultGOPSize    = 30
	DefaultMaxBFrames = 0
	DefaultThreads    = 0 // 0: the encoder picks
	// DefaultPreset is the usual live-streaming preset: real time on small
	// machines with little quality lost against slower presets.
	DefaultPreset = "veryfast"

	DefaultSetupTimeout = 5 * time.Second
	DefaultCloseTimeout = 10 * time.Second
)

// DefaultFrameRate is 30 frames per second.
var DefaultFrameRate = Rational{30, 1}

// Bounds checked by validation. They are wide on purpose: they catch typing
// mistakes and overflows, not unusual but legitimate settings.
const (
	maxDimension  = 16384
	maxGOPSize    = 1 << 16
	maxBFrames    = 16 // x264 and x265 refuse more
	maxFrameAhead = 1 << 12
	maxThreads    = 1024
	maxBitRate    = 1 << 20 // Kb/s: 1 Gb/s
	maxFPS        = 1000
)

// Rational is a frame rate as numerator/denominator (the original's
// AVRational), e.g. {30000, 1001} for 29.97 fps.
type Rational struct {
	Num, Den int
}

// Float returns Num/Den.
func (r Rational) Float() float64 { return float64(r.Num) / float64(r.Den) }

// String returns "Num/Den", the form ParseRational reads.
func (r Rational) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// ParseRational reads "30", "30/1", "30000/1001" or "29.97".
func ParseRational(s string) (Rational, error) {
	s = strings.TrimSpace(s)
	if n, d, ok := strings.Cut(s, "/"); ok {
		num, err1 := strconv.Atoi(strings.TrimSpace(n))
		den, err2 := strconv.Atoi(strings.TrimSpace(d))
		if err1 != nil || err2 != nil {
			return Rational{}, fmt.Errorf("%w: frame rate %q is not num/den", ErrBadParameter, s)
		}
		return Rational{num, den}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Rational{}, fmt.Errorf("%w: frame rate %q is not a number or num/den", ErrBadParameter, s)
	}
	return rationalFromFloat(f)
}

// rationalFromFloat keeps whole rates exact and maps the NTSC family
// (23.976, 29.97, 59.94) to their exact /1001 forms.
func rationalFromFloat(f float64) (Rational, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > maxFPS {
		return Rational{}, fmt.Errorf("%w: frame rate %v out of range (0, %d]", ErrBadParameter, f, maxFPS)
	}
	if f == math.Trunc(f) {
		return Rational{int(f), 1}, nil
	}
	if n := math.Round(f * 1001); math.Abs(n/1001-f) < 5e-3 && int(n)%1000 == 0 {
		return Rational{int(n), 1001}, nil
	}
	n, d := int(math.Round(f*1000)), 1000
	for a, b := n, d; b != 0; a, b = b, a%b {
		if a%b == 0 {
			n, d = n/b, d/b
			break
		}
	}
	return Rational{n, d}, nil
}

// Config holds every parameter of a Server. The zero value is not valid;
// start from DefaultConfig. Field comments give the original's key names.
type Config struct {
	Address    string   // videoAddress: where to push, e.g. rtsp://host:8554/path
	Codec      string   // codecName: libx264, h264, x264enc, libx265, x265enc, ...
	Threads    int      // nthread: encoder threads, 0 = automatic
	BitRate    float64  // bitRate: Kb/s, Kb = 1024 bit
	Width      int      // width: output width
	Height     int      // height: output height
	WidthSrc   int      // widthSrc: frame width; 0 = Width
	HeightSrc  int      // heightSrc: frame height; 0 = Height
	GOPSize    int      // GOPSize: frames from one keyframe to the next
	MaxBFrames int      // maxBframe: consecutive B-frames, 0 = none
	FrameRate  Rational // frameRate
	// FrameAhead (frameAhead, reported as ptsAhead) is how many frames may
	// be served ahead of play time before ServeFrameBlock waits. When
	// FrameAheadAuto is true it follows 2 × GOPSize, as in the original.
	FrameAhead     int
	FrameAheadAuto bool
	// Preset is the encoder's speed/quality trade-off, x264's and x265's
	// names: ultrafast, superfast, veryfast, faster, fast, medium, slow,
	// slower, veryslow. Not a parameter of the original (FFmpeg's -preset).
	Preset string

	// Not parameters of the original: bounds on the lifecycle calls.
	SetupTimeout time.Duration // how long Setup may wait for the server
	CloseTimeout time.Duration // how long Close may wait for queued frames to leave
}

// DefaultConfig returns the configuration of a new Server.
func DefaultConfig() Config {
	return Config{
		Address:        DefaultAddress,
		Codec:          DefaultCodec,
		Threads:        DefaultThreads,
		BitRate:        DefaultBitRate,
		Width:          DefaultWidth,
		Height:         DefaultHeight,
		GOPSize:        DefaultGOPSize,
		MaxBFrames:     DefaultMaxBFrames,
		FrameRate:      DefaultFrameRate,
		FrameAhead:     2 * DefaultGOPSize,
		FrameAheadAuto: true,
		Preset:         DefaultPreset,
		SetupTimeout:   DefaultSetupTimeout,
		CloseTimeout:   DefaultCloseTimeout,
	}
}

// SourceSize is the size of the frames the caller serves.
func (c Config) SourceSize() (w, h int) {
	w, h = c.WidthSrc, c.HeightSrc
	if w == 0 {
		w = c.Width
	}
	if h == 0 {
		h = c.Height
	}
	return w, h
}

// FrameSize is the byte length of one packed RGB source frame.
func (c Config) FrameSize() int {
	w, h := c.SourceSize()
	return w * h * 3
}

// Validate checks every number and the codec name's form; it does not
// look at what is installed (Setup does).
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadParameter}, args...)...))
	}
	inRange := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			bad("%s %d out of range [%d, %d]", name, v, lo, hi)
		}
	}
	inRange("width", c.Width, 2, maxDimension)
	inRange("height", c.Height, 2, maxDimension)
	// 4:2:0 output needs even sizes; an odd size would be silently cropped.
	if c.Width%2 != 0 || c.Height%2 != 0 {
		bad("output size %dx%d must be even (the encoder subsamples colour by 2)", c.Width, c.Height)
	}
	inRange("widthSrc", c.WidthSrc, 0, maxDimension)
	inRange("heightSrc", c.HeightSrc, 0, maxDimension)
	inRange("GOPSize", c.GOPSize, 1, maxGOPSize)
	inRange("maxBframe", c.MaxBFrames, 0, maxBFrames)
	if c.MaxBFrames > 0 && c.MaxBFrames >= c.GOPSize {
		bad("maxBframe %d must be smaller than GOPSize %d", c.MaxBFrames, c.GOPSize)
	}
	inRange("nthread", c.Threads, 0, maxThreads)
	inRange("frameAhead", c.FrameAhead, 0, maxFrameAhead)
	if math.IsNaN(c.BitRate) || c.BitRate < 1 || c.BitRate > maxBitRate {
		bad("bitRate %v Kb/s out of range [1, %d]", c.BitRate, maxBitRate)
	}
	if c.FrameRate.Num <= 0 || c.FrameRate.Den <= 0 {
		bad("frame rate %s must have a positive numerator and denominator", c.FrameRate)
	} else if f := c.FrameRate.Float(); f > maxFPS || f < 1.0/3600 {
		bad("frame rate %s (%.4g fps) out of range", c.FrameRate, f)
	}
	if c.SetupTimeout <= 0 || c.CloseTimeout <= 0 {
		bad("setup and close timeouts must be positive (%v, %v)", c.SetupTimeout, c.CloseTimeout)
	}
	if !validPreset(c.Preset) {
		bad("preset %q (want one of %s)", c.Preset, strings.Join(presets, ", "))
	}
	if strings.TrimSpace(c.Codec) == "" {
		bad("codec name is empty")
	}
	return errors.Join(errs...)
}

// An Option sets one parameter; pass several to Server.SetParameter.
type Option func(*Config) error

// Address sets videoAddress, the stream to push to.
func Address(addr string) Option {
	return func(c *Config) error { c.Address = addr; return nil }
}

// Codec sets codecName: an FFmpeg encoder name (libx264, libx265, h264,
// hevc) or a GStreamer element (x264enc, x265enc).
func Codec(name string) Option { return func(c *Config) error { c.Codec = name; return nil } }

// Threads sets nthread, the encoder threads (0 = automatic).
func Threads(n int) Option { return func(c *Config) error { c.Threads = n; return nil } }

// BitRate sets bitRate in Kb/s (Kb = 1024 bit).
func BitRate(kbps float64) Option { return func(c *Config) error { c.BitRate = kbps; return nil } }

// Width sets the output width.
func Width(w int) Option { return func(c *Config) error { c.Width = w; return nil } }

// Height sets the output height.
func Height(h int) Option { return func(c *Config) error { c.Height = h; return nil } }

// Size sets the output width and height.
func Size(w, h int) Option {
	return func(c *Config) error { c.Width, c.Height = w, h; return nil }
}

// WidthSrc sets the width of served frames (0 = output width).
func WidthSrc(w int) Option { return func(c *Config) error { c.WidthSrc = w; return nil } }

// HeightSrc sets the height of served frames (0 = output height).
func HeightSrc(h int) Option { return func(c *Config) error { c.HeightSrc = h; return nil } }

// SourceSize sets the size of served frames; they are scaled to the output size.
func SourceSize(w, h int) Option {
	return func(c *Config) error { c.WidthSrc, c.HeightSrc = w, h; return nil }
}

// GOPSize sets the keyframe interval in frames. Unless FrameAhead was set,
// frames ahead follows as 2 × GOPSize.
func GOPSize(n int) Option {
	return func(c *Config) error {
		c.GOPSize = n
		if c.FrameAheadAuto {
			c.FrameAhead = 2 * n
		}
		return nil
	}
}

// MaxBFrames sets maxBframe; 0 disables B-frames.
func MaxBFrames(n int) Option { return func(c *Config) error { c.MaxBFrames = n; return nil } }

// FrameRate sets the frame rate as num/den.
func FrameRate(num, den int) Option {
	return func(c *Config) error { c.FrameRate = Rational{num, den}; return nil }
}

// SetupTimeout bounds how long Setup waits for the server (default 5 s).
func SetupTimeout(d time.Duration) Option {
	return func(c *Config) error { c.SetupTimeout = d; return nil }
}

// CloseTimeout bounds how long Close waits for queued frames to leave
// (default 10 s).
func CloseTimeout(d time.Duration) Option {
	return func(c *Config) error { c.CloseTimeout = d; return nil }
}

// Preset sets the encoder's speed preset (default veryfast).
func Preset(name string) Option { return func(c *Config) error { c.Preset = name; return nil } }

var presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}

func validPreset(p string) bool {
	for _, q := range presets {
		if p == q {
			return true
		}
	}
	return false
}

// FrameAhead sets how many frames may be served ahead of play time; it
// stops following the GOP size.
func FrameAhead(n int) Option {
	return func(c *Config) error { c.FrameAhead, c.FrameAheadAuto = n, false; return nil }
}
