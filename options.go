package mpegserver

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// An Option sets one parameter; pass several to Server.SetParameter.
type Option func(*Config)

// Address sets videoAddress, where to push (see Config.Address).
func Address(addr string) Option { return func(c *Config) { c.Address = addr } }

// Codec sets codecName: an FFmpeg encoder name (libx264, libx265, h264,
// hevc) or a GStreamer element (x264enc, x265enc).
func Codec(name string) Option { return func(c *Config) { c.Codec = name } }

// Threads sets nthread, the encoder threads (0 = automatic).
func Threads(n int) Option { return func(c *Config) { c.Threads = n } }

// BitRate sets bitRate in Kb/s (Kb = 1024 bit).
func BitRate(kbps float64) Option { return func(c *Config) { c.BitRate = kbps } }

// Width sets the output width.
func Width(w int) Option { return func(c *Config) { c.Width = w } }

// Height sets the output height.
func Height(h int) Option { return func(c *Config) { c.Height = h } }

// Size sets the output width and height.
func Size(w, h int) Option { return func(c *Config) { c.Width, c.Height = w, h } }

// WidthSrc sets the width of served frames (0 = output width).
func WidthSrc(w int) Option { return func(c *Config) { c.WidthSrc = w } }

// HeightSrc sets the height of served frames (0 = output height).
func HeightSrc(h int) Option { return func(c *Config) { c.HeightSrc = h } }

// SourceSize sets the size of served frames; they are scaled to the output size.
func SourceSize(w, h int) Option { return func(c *Config) { c.WidthSrc, c.HeightSrc = w, h } }

// SourceFormat sets the pixel format of frames served as bytes (default
// RGB24); see Config.SourceFormat.
func SourceFormat(f PixelFormat) Option { return func(c *Config) { c.SourceFormat = f } }

// SourceStride sets the bytes from one row of a served frame to the next
// (0, the default: packed tightly); see Config.SourceStride.
func SourceStride(n int) Option { return func(c *Config) { c.SourceStride = n } }

// GOPSize sets the keyframe interval in frames.
func GOPSize(n int) Option { return func(c *Config) { c.GOPSize = n } }

// MaxBFrames sets maxBframe; 0 disables B-frames.
func MaxBFrames(n int) Option { return func(c *Config) { c.MaxBFrames = n } }

// FrameRate sets the frame rate as num/den.
func FrameRate(num, den int) Option { return func(c *Config) { c.FrameRate = Rational{num, den} } }

// FrameAhead sets how many frames may be served ahead of play time;
// AutoFrameAhead (-1) makes it follow 2 × GOPSize, the default.
func FrameAhead(n int) Option { return func(c *Config) { c.FrameAhead = n } }

// Preset sets the encoder's speed preset (default veryfast).
func Preset(name string) Option { return func(c *Config) { c.Preset = name } }

// SetupTimeout bounds how long Setup waits for the server (default 5 s).
func SetupTimeout(d time.Duration) Option { return func(c *Config) { c.SetupTimeout = d } }

// CloseTimeout bounds how long Close takes, all told: queued frames
// leaving, the server acknowledging them, the pipeline stopping (default
// 10 s).
func CloseTimeout(d time.Duration) Option { return func(c *Config) { c.CloseTimeout = d } }

// StallTimeout is how long a stream may have data waiting with nothing
// acknowledged by the server before it fails with ErrStalled (default 5 s).
func StallTimeout(d time.Duration) Option { return func(c *Config) { c.StallTimeout = d } }

// Reconnect turns reconnection on or off (default off; the command's push
// has it on): see Config.Reconnect and Server.Events.
func Reconnect(on bool) Option { return func(c *Config) { c.Reconnect = on } }

// ReconnectMaxWait caps the back-off between reconnection attempts
// (default 5 s); the first attempt is at once.
func ReconnectMaxWait(d time.Duration) Option { return func(c *Config) { c.ReconnectMaxWait = d } }

// PlaylistLength sets how many segments an HLS playlist lists (addresses
// ending in .m3u8); older segments are deleted from disk.
func PlaylistLength(n int) Option { return func(c *Config) { c.PlaylistLength = n } }

// Backup sets the backup addresses of the stream (see Config.Backup).
func Backup(addrs ...string) Option { return func(c *Config) { c.Backup = strings.Join(addrs, " ") } }

// TLSCAFile trusts the certificates in a PEM file too, for rtmps:// and
// rtsps:// servers (see Config.TLSCAFile).
func TLSCAFile(path string) Option { return func(c *Config) { c.TLSCAFile = path } }

// TLSInsecure accepts any server certificate over TLS: for test servers
// only.
func TLSInsecure(on bool) Option { return func(c *Config) { c.TLSInsecure = on } }

// Logger sets where the stream's life is logged (default: nowhere); see
// Config.Logger.
func Logger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// Record sends the same encoded stream to a second address as well,
// typically a file ("cam.mkv") while the stream goes to a server: one
// encoder, one queue per output. "" (the default) records nothing.
func Record(addr string) Option { return func(c *Config) { c.Record = addr } }

// with applies options in order to a copy of c and validates the result.
// Settings copied from a source (Decoder, ConfigDict) lose to the explicit
// options of the same call, wherever they stand, as the original's
// setParameter(decoder=..., GOPSize=...).
func (c Config) with(opts []Option) (Config, error) {
	n := c
	for i, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: option %d of %d is nil", ErrBadParameter, i+1, len(opts))
		}
		o(&n)
	}
	if n.copied != nil && n.optErr == nil {
		copied := *n.copied
		n = c
		for _, o := range copied {
			o(&n)
		}
		n.copying = true
		for _, o := range opts {
			o(&n)
		}
		n.copying = false
	}
	n.copied = nil
	if err := n.Validate(); err != nil {
		return c, err
	}
	return n, nil
}
