package mpegserver

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
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
	DefaultStallTimeout = 5 * time.Second
	// DefaultReconnectMaxWait caps the back-off between reconnection
	// attempts.
	DefaultReconnectMaxWait = 5 * time.Second
	// DefaultPlaylistLength: an HLS playlist of 5 segments (5 GOPs,
	// 5 s at the defaults) is what players buffer from.
	DefaultPlaylistLength = 5
)

// AutoFrameAhead as Config.FrameAhead makes frames ahead follow
// 2 × GOPSize, as the original derives it.
const AutoFrameAhead = -1

// DefaultFrameRate is 30 frames per second.
var DefaultFrameRate = Rational{30, 1}

// Bounds checked by validation. They are wide on purpose: they catch typing
// mistakes and overflows, not unusual but legitimate settings.
const (
	maxDimension  = 16384
	maxStride     = 4 * maxDimension * 4 // four times the widest row
	maxGOPSize    = 1 << 16
	maxBFrames    = 16 // x264 and x265 refuse more
	maxFrameAhead = 1 << 12
	maxThreads    = 1024
	maxPlaylist   = 10000
	maxBitRate    = 1 << 20 // Kb/s: 1 Gb/s
	maxFPS        = 1000
	minFPS        = 1.0 / 3600 // a frame an hour
)

// Config holds every parameter of a Server. The zero value is not valid;
// start from DefaultConfig. The original's key for each field is in
// compat.go's table and the guide.
type Config struct {
	// Address is where to push, and its form picks the output:
	// rtsp://host[:port]/path or rtsps://, rtmp://host[:port]/app/stream
	// or rtmps://, srt://host:port[?streamid=...], udp://host:port
	// (MPEG-TS), whip+http://[TOKEN@]host[:port]/path or whip+https://
	// (WebRTC by WHIP), a path ending in .m3u8 (HLS), or a file
	// (file:///path or a plain path). user:password@ is sent as
	// credentials, a WHIP token as a bearer token, and neither is ever
	// printed (see Redact and docs/outputs.md).
	Address   string
	Codec     string  // libx264, h264, x264enc, libx265, hevc, x265enc, ...
	Threads   int     // encoder threads, 0 = automatic
	BitRate   float64 // Kb/s, Kb = 1024 bit
	Width     int     // output width
	Height    int     // output height
	WidthSrc  int     // frame width; 0 = Width
	HeightSrc int     // frame height; 0 = Height
	// SourceFormat is the layout of frames served as bytes (ServeFrame):
	// packed RGB by default, or a camera's own (NV12, YUYV422, ...). 4:2:0
	// frames go to the encoder with one copy and no conversion; others
	// are converted by libyuv as they are copied in. Not a parameter of
	// the original, which took packed RGB only.
	SourceFormat PixelFormat
	// SourceStride is the bytes from one row of a served frame to the
	// next (V4L2's bytesperline), for rows padded beyond their pixels; the
	// chroma rows of YUV420P and YUVJ420P are half as far apart, NV12's
	// as far. 0: rows packed tightly.
	SourceStride int
	GOPSize      int      // frames from one keyframe to the next
	MaxBFrames   int      // consecutive B-frames, 0 = none
	FrameRate    Rational // frames per second, exact
	// FrameAhead is how many frames may be served ahead of play time before
	// ServeFrameBlock waits; AutoFrameAhead follows 2 × GOPSize. Ahead()
	// gives the value in force.
	FrameAhead int
	// Preset is the encoder's speed/quality trade-off, x264's and x265's
	// names: ultrafast, superfast, veryfast, faster, fast, medium, slow,
	// slower, veryslow. Not a parameter of the original (FFmpeg's -preset).
	Preset string

	// Not parameters of the original: bounds on the lifecycle calls.
	SetupTimeout time.Duration // how long Setup may wait for the server
	CloseTimeout time.Duration // how long Close may take, all told
	// StallTimeout is how long a stream may go with data waiting and
	// nothing acknowledged by the server before it fails with ErrStalled.
	StallTimeout time.Duration
	// Reconnect makes a stream that loses its server (ErrDisconnected,
	// ErrStalled, ErrUnreachable) open again by itself, with back-off up
	// to ReconnectMaxWait, dropping and counting frames meanwhile.
	Reconnect        bool
	ReconnectMaxWait time.Duration
	// PlaylistLength is how many segments an HLS playlist (an address
	// ending in .m3u8) lists; older segments are deleted.
	PlaylistLength int
	// Record is a second output for the same encoded stream, any address
	// Address takes (typically a file): the stream and the record share
	// one encoder. An output that fails stops alone; see Stats.Outputs.
	Record string
	// Backup lists other addresses of the same stream (a platform's backup
	// ingest), separated by spaces: with Reconnect, when the address in use
	// is lost and does not come back at once, the next one is tried, round
	// robin; Setup too tries them in turn when the first cannot be reached.
	// Servers only (RTSP, RTMP, SRT), and not with Record.
	Backup string
	// TLSCAFile names a PEM file of certificates to trust, besides the
	// system's, for rtmps:// and rtsps:// servers: a private CA, or a
	// self-signed server's own certificate. "" trusts the system's only.
	TLSCAFile string
	// TLSInsecure accepts any certificate over TLS: for test servers only.
	TLSInsecure bool
	// Logger receives the stream's life as structured records: set up,
	// lost (with its class), reconnecting, reconnected, an output
	// failed, closed (with totals). Passwords never appear. Nil, the
	// default, logs nothing.
	Logger *slog.Logger
	// Audio is the stream's audio track (none by default): Audio(Silence())
	// or Audio(Samples(rate, channels)); see AudioConfig and ServeAudio.
	Audio AudioConfig

	optErr  error     // an option's own error (ConfigDict), reported by Validate
	copied  *[]Option // settings copied from a source (Decoder, ConfigDict); a pointer keeps Config comparable
	copying bool      // SetParameter is re-applying options after copied ones
}

// DefaultConfig returns the configuration of a new Server.
func DefaultConfig() Config {
	return Config{
		Address:      DefaultAddress,
		Codec:        DefaultCodec,
		Threads:      DefaultThreads,
		BitRate:      DefaultBitRate,
		Width:        DefaultWidth,
		Height:       DefaultHeight,
		GOPSize:      DefaultGOPSize,
		MaxBFrames:   DefaultMaxBFrames,
		FrameRate:    DefaultFrameRate,
		FrameAhead:   AutoFrameAhead,
		Preset:       DefaultPreset,
		SetupTimeout: DefaultSetupTimeout,
		CloseTimeout: DefaultCloseTimeout,
		StallTimeout: DefaultStallTimeout,

		ReconnectMaxWait: DefaultReconnectMaxWait,
		PlaylistLength:   DefaultPlaylistLength,
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

// FrameSize is the byte length of one source frame in SourceFormat,
// SourceStride included (heightSrc × widthSrc × 3 for packed RGB).
func (c Config) FrameSize() int {
	w, h := c.SourceSize()
	return c.SourceFormat.frameSize(w, h, c.SourceStride)
}

// Ahead is the frames-ahead value in force: FrameAhead, or 2 × GOPSize
// when that is AutoFrameAhead.
func (c Config) Ahead() int {
	if c.FrameAhead == AutoFrameAhead {
		return 2 * c.GOPSize
	}
	return c.FrameAhead
}

// Validate checks every number and the codec name's form; it does not
// look at what is installed (Setup does).
func (c Config) Validate() error {
	var errs []error
	if c.optErr != nil {
		errs = append(errs, c.optErr)
	}
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
	if c.SourceFormat < 0 || c.SourceFormat >= numPixelFormats {
		bad("source format %d (want one of %s)", int(c.SourceFormat), strings.Join(PixelFormatNames(), ", "))
	} else if ws, _ := c.SourceSize(); c.SourceStride != 0 && (c.SourceStride < c.SourceFormat.minStride(ws) || c.SourceStride > maxStride) {
		bad("source stride %d: a %s row %d pixels wide needs %d to %d bytes (0: packed tightly)",
			c.SourceStride, c.SourceFormat, ws, c.SourceFormat.minStride(ws), maxStride)
	}
	inRange("GOPSize", c.GOPSize, 1, maxGOPSize)
	inRange("maxBframe", c.MaxBFrames, 0, maxBFrames)
	if c.MaxBFrames > 0 && c.MaxBFrames >= c.GOPSize {
		bad("maxBframe %d must be smaller than GOPSize %d", c.MaxBFrames, c.GOPSize)
	}
	inRange("nthread", c.Threads, 0, maxThreads)
	inRange("playlist length", c.PlaylistLength, 1, maxPlaylist)
	switch {
	case c.FrameAhead < AutoFrameAhead:
		bad("frameAhead %d: want %d (2 × GOPSize) or 0 to %d", c.FrameAhead, AutoFrameAhead, maxFrameAhead)
	case c.Ahead() > maxFrameAhead:
		bad("frameAhead %d out of range [0, %d] (set it when GOPSize is over %d)", c.Ahead(), maxFrameAhead, maxFrameAhead/2)
	}
	if math.IsNaN(c.BitRate) || c.BitRate < 1 || c.BitRate > maxBitRate {
		bad("bitRate %v Kb/s out of range [1, %d]", c.BitRate, maxBitRate)
	}
	if c.FrameRate.Num <= 0 || c.FrameRate.Den <= 0 || c.FrameRate.Num > math.MaxInt32 || c.FrameRate.Den > math.MaxInt32 {
		// GStreamer's fractions are 32-bit.
		bad("frame rate %s: numerator and denominator must be in [1, %d]", c.FrameRate, math.MaxInt32)
	} else if f := c.FrameRate.Float(); f > maxFPS || f < minFPS {
		bad("frame rate %s (%.4g fps) out of range", c.FrameRate, f)
	}
	if c.SetupTimeout <= 0 || c.CloseTimeout <= 0 || c.StallTimeout <= 0 || c.ReconnectMaxWait <= 0 {
		bad("timeouts must be positive (setup %v, close %v, stall %v, reconnect wait %v)",
			c.SetupTimeout, c.CloseTimeout, c.StallTimeout, c.ReconnectMaxWait)
	}
	if !slices.Contains(presets, c.Preset) {
		bad("preset %q (want one of %s)", c.Preset, strings.Join(presets, ", "))
	}
	if strings.TrimSpace(c.Codec) == "" {
		bad("codec name is empty")
	}
	if err := c.Audio.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}
