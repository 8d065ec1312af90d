package mpegserver

import (
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A Description is a compiled pipeline: an ordered chain of elements, each
// linked to the next. The same Description builds the live pipeline and
// renders the gst-launch-1.0 line, so what prints is what runs.
type Description struct {
	Elements []ElementDesc
	Live     bool // a real-time stream (RTSP), not a file
}

// ElementDesc is one element of a Description.
type ElementDesc struct {
	Factory string // GStreamer factory name, e.g. "x264enc"
	Props   []Prop // set in order, from their gst-launch string form
}

// Prop is one property in its gst-launch string form. The live pipeline
// sets it through GStreamer's own deserializer (as gst-launch-1.0 does),
// so enum and flag names such as tune=zerolatency mean the same in both.
type Prop struct {
	Name  string
	Value string
	// User marks a value the user typed (an address, a name): it is always
	// quoted in the printed line.
	User bool
	// Secret marks a password: the printed line shows a placeholder.
	Secret bool
}

// redacted replaces secrets in printed lines, messages and reports.
const redacted = "REDACTED"

// codec says how a codec name maps to GStreamer elements.
type codec struct {
	Encoder string // encoder element
	Parser  string // parser that puts parameter sets in-band for RTSP
	Family  string // h264 or h265: what a reader sees
	// props returns the encoder's properties for a configuration.
	props func(c Config) []Prop
}

// codecs maps every accepted codec name, GStreamer's and FFmpeg's, to its
// encoder. Lookups are case-insensitive.
var codecs = map[string]codec{}

func init() {
	x264 := codec{Encoder: "x264enc", Parser: "h264parse", Family: "h264", props: x264Props}
	x265 := codec{Encoder: "x265enc", Parser: "h265parse", Family: "h265", props: x265Props}
	for _, n := range []string{"x264enc", "libx264", "h264", "x264", "avc", "libx264rgb"} {
		codecs[n] = x264
	}
	for _, n := range []string{"x265enc", "libx265", "h265", "x265", "hevc"} {
		codecs[n] = x265
	}
}

func lookupCodec(name string) (codec, bool) {
	c, ok := codecs[strings.ToLower(strings.TrimSpace(name))]
	return c, ok
}

// codecNames lists the accepted codec names, sorted.
func codecNames() []string {
	names := make([]string, 0, len(codecs))
	for n := range codecs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// encoderKbps converts the API's Kb/s (1024 bit) to the encoders' kbit/s
// (1000 bit), so a bitRate of 1000 Kb/s really is 1 024 000 bit/s.
func encoderKbps(kb float64) string {
	return strconv.Itoa(int(math.Max(1, math.Round(kb*1024/1000))))
}

func x264Props(c Config) []Prop {
	p := []Prop{
		{Name: "bitrate", Value: encoderKbps(c.BitRate)},
		{Name: "key-int-max", Value: strconv.Itoa(c.GOPSize)},
		{Name: "bframes", Value: strconv.Itoa(c.MaxBFrames)},
		{Name: "threads", Value: strconv.Itoa(c.Threads)},
		{Name: "speed-preset", Value: c.Preset},
	}
	if c.MaxBFrames == 0 {
		// No reordering, no lookahead: each frame leaves as soon as it is coded.
		p = append(p, Prop{Name: "tune", Value: "zerolatency"})
	}
	// scenecut=0 keeps keyframes exactly every GOPSize frames, which
	// viewers joining late and segmenting servers rely on.
	p = append(p, Prop{Name: "option-string", Value: "scenecut=0"})
	return p
}

func x265Props(c Config) []Prop {
	opts := []string{"bframes=" + strconv.Itoa(c.MaxBFrames), "scenecut=0"}
	if c.Threads > 0 {
		opts = append(opts, "pools="+strconv.Itoa(c.Threads))
	}
	p := []Prop{
		{Name: "bitrate", Value: encoderKbps(c.BitRate)},
		{Name: "key-int-max", Value: strconv.Itoa(c.GOPSize)},
		{Name: "speed-preset", Value: c.Preset},
	}
	if c.MaxBFrames == 0 {
		p = append(p, Prop{Name: "tune", Value: "zerolatency"})
	}
	return append(p, Prop{Name: "option-string", Value: strings.Join(opts, ":")})
}

// target is a parsed address.
type target struct {
	Scheme   string // rtsp, rtsps or file
	Location string // the address without user information; for files, the path
	User     string
	Password string
	Format   string // formatName: the container or protocol, as FFmpeg names it
	Muxer    string // for files: the muxer element, "" for a raw elementary stream
}

// Live reports whether the target plays in real time (a stream) rather
// than being written as fast as frames come (a file).
func (t target) Live() bool { return t.Scheme != "file" }

// sinkSchemes lists the schemes Setup can push to; a path without a scheme
// is a file.
var sinkSchemes = []string{"rtsp", "rtsps", "file"}

// fileMuxers maps file extensions to a muxer and FFmpeg's format name;
// other extensions get the raw elementary stream (Annex B).
var fileMuxers = map[string][2]string{
	".mp4": {"mp4mux", "mp4"}, ".mov": {"qtmux", "mov"},
	".mkv": {"matroskamux", "matroska"}, ".ts": {"mpegtsmux", "mpegts"},
}

func fileTarget(addr, path string) (target, error) {
	if path == "" || strings.HasSuffix(path, "/") {
		return target{}, fmt.Errorf("%w: %q names no file", ErrUnsupportedAddress, addr)
	}
	t := target{Scheme: "file", Location: path, Format: "h264"}
	if m, ok := fileMuxers[strings.ToLower(filepath.Ext(path))]; ok {
		t.Muxer, t.Format = m[0], m[1]
	}
	return t, nil
}

// parseAddress splits an address into what the sink needs. Credentials are
// taken out of the location so they can be set as separate properties and
// never printed.
func parseAddress(addr string) (target, error) {
	if strings.TrimSpace(addr) == "" {
		return target{}, fmt.Errorf("%w: empty address", ErrUnsupportedAddress)
	}
	if !strings.Contains(addr, "://") {
		return fileTarget(addr, addr)
	}
	if strings.HasPrefix(strings.ToLower(addr), "file://") {
		u, err := url.Parse(addr)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return target{}, fmt.Errorf("%w: %q is not a file URL (file:///path)", ErrUnsupportedAddress, addr)
		}
		return fileTarget(addr, u.Path)
	}
	if strings.ContainsAny(addr, " \t\r\n\"'\\") {
		return target{}, fmt.Errorf("%w: %q contains spaces, quotes or backslashes (percent-encode them)",
			ErrUnsupportedAddress, Redact(addr))
	}
	u, err := url.Parse(addr)
	if err != nil {
		return target{}, fmt.Errorf("%w: %q is not a URL", ErrUnsupportedAddress, Redact(addr))
	}
	scheme := strings.ToLower(u.Scheme)
	ok := false
	for _, s := range sinkSchemes {
		ok = ok || s == scheme
	}
	if !ok {
		return target{}, fmt.Errorf("%w: scheme %q in %q (supported: %s)",
			ErrUnsupportedAddress, u.Scheme, Redact(addr), strings.Join(sinkSchemes, ", "))
	}
	if u.Hostname() == "" {
		return target{}, fmt.Errorf("%w: %q has no host", ErrUnsupportedAddress, Redact(addr))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return target{}, fmt.Errorf("%w: port %q in %q", ErrUnsupportedAddress, p, Redact(addr))
		}
	}
	t := target{Scheme: scheme, Format: "rtsp", Location: withoutUserinfo(addr)}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	return t, nil
}

// withoutUserinfo drops "user:password@" and keeps every other byte as
// typed: re-encoding the URL could change the path a server sees.
func withoutUserinfo(addr string) string {
	i := strings.Index(addr, "://")
	if i < 0 {
		return addr
	}
	rest := addr[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return addr[:i+3] + rest
}

// Redact returns the address with any password replaced by xxxxx, for
// printing; everything else stays as typed.
func Redact(addr string) string {
	i := strings.Index(addr, "://")
	if i < 0 {
		return addr
	}
	rest := addr[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return addr
	}
	colon := strings.Index(rest[:at], ":")
	if colon < 0 {
		return addr
	}
	return addr[:i+3] + rest[:colon+1] + "xxxxx" + rest[at:]
}

// Compile turns a configuration into the pipeline
//
//	appsrc ! <source caps> ! videoconvert ! videoscale ! <output caps> ! <encoder> ! <parser> ! <sink>
//
// It checks the configuration and the address, not what is installed.
func Compile(c Config) (Description, error) {
	if err := c.Validate(); err != nil {
		return Description{}, err
	}
	cd, ok := lookupCodec(c.Codec)
	if !ok {
		return Description{}, fmt.Errorf("%w: %q (accepted names: %s)", ErrUnknownCodec, c.Codec, strings.Join(codecNames(), ", "))
	}
	t, err := parseAddress(c.Address)
	if err != nil {
		return Description{}, err
	}
	ws, hs := c.SourceSize()
	fr := c.FrameRate.String()
	soft, _ := queueBounds(c, t.Live())
	d := Description{Live: t.Live(), Elements: []ElementDesc{
		{Factory: "appsrc", Props: []Prop{
			// A stream plays in real time; a file is written as fast as
			// frames come.
			{Name: "is-live", Value: strconv.FormatBool(t.Live())},
			{Name: "format", Value: "time"},
			// We stamp every frame ourselves (counter × period).
			{Name: "do-timestamp", Value: "false"},
			// Never block inside GStreamer: the blocking call waits in Go,
			// where a context can cancel it and Close can wake it.
			{Name: "block", Value: "false"},
			// The queue is bounded in frames; the byte bound (200 kB by
			// default, less than one frame) would fire on every push.
			{Name: "max-buffers", Value: strconv.Itoa(soft)},
			// Ask for more as soon as there is room, not only once empty:
			// otherwise a blocked caller waits for the whole queue to drain
			// and then bursts (a 968 ms gap measured in steady pacing).
			{Name: "min-percent", Value: "90"},
			{Name: "max-bytes", Value: "0"},
			{Name: "max-time", Value: "0"},
		}},
		// Frames are converted from RGB to I420 as they are copied in
		// (gst.go), so appsrc's buffers are already what the encoder
		// takes and videoconvert passes them through; it stays for
		// encoders that want another layout (NV12 for most hardware).
		{Factory: "capsfilter", Props: []Prop{{Name: "caps", Value: fmt.Sprintf(
			"video/x-raw,format=I420,width=%d,height=%d,framerate=%s,pixel-aspect-ratio=1/1,colorimetry=%s",
			ws, hs, fr, sourceColorimetry(hs))}}},
		// Conversion and scaling share the encoder's thread setting (0:
		// every core); GStreamer's default is one thread. They only work
		// when the source size differs or the encoder wants another format.
		{Factory: "videoconvert", Props: []Prop{{Name: "n-threads", Value: strconv.Itoa(c.Threads)}}},
		{Factory: "videoscale", Props: []Prop{{Name: "n-threads", Value: strconv.Itoa(c.Threads)}}},
		// I420 explicitly: from RGB, x264enc would otherwise pick Y444 and
		// produce High 4:4:4, which most players cannot decode. Square
		// pixels make videoscale stretch to the output size, as sws_scale does.
		{Factory: "capsfilter", Props: []Prop{{Name: "caps", Value: fmt.Sprintf(
			"video/x-raw,format=I420,width=%d,height=%d,framerate=%s,pixel-aspect-ratio=1/1", c.Width, c.Height, fr)}}},
		{Factory: cd.Encoder, Props: cd.props(c)},
		// config-interval=-1 repeats SPS/PPS with every keyframe, so a
		// reader joining mid-stream can start at the next keyframe.
		{Factory: cd.Parser, Props: []Prop{{Name: "config-interval", Value: "-1"}}},
	}}
	if !t.Live() {
		// A file keeps its parameter sets in the header (muxed) or with
		// every keyframe (raw), so a player can seek to any keyframe.
		if t.Muxer != "" {
			d.Elements = append(d.Elements, ElementDesc{Factory: t.Muxer})
		} else {
			// A raw file is Annex B, start codes and all; the encoder's own
			// length-prefixed form is unreadable without a container.
			d.Elements = append(d.Elements, ElementDesc{Factory: "capsfilter", Props: []Prop{{Name: "caps",
				Value: "video/x-" + cd.Family + ",stream-format=byte-stream,alignment=au"}}})
		}
		d.Elements = append(d.Elements, ElementDesc{Factory: "filesink", Props: []Prop{{Name: "location", Value: t.Location, User: true}}})
		return d, nil
	}
	d.Elements = append(d.Elements, ElementDesc{Factory: "rtspclientsink", Props: sinkProps(t, c.SetupTimeout)})
	return d, nil
}

func sinkProps(t target, timeout time.Duration) []Prop {
	p := []Prop{
		{Name: "location", Value: t.Location, User: true},
		// TCP interleaved: no UDP ports to open, no loss on a busy
		// network, and it passes NAT and firewalls.
		{Name: "protocols", Value: "tcp"},
		// A server that stops answering fails the stream within the
		// setup bound instead of the sink's default 20 s.
		{Name: "tcp-timeout", Value: strconv.FormatInt(timeout.Microseconds(), 10)},
		// gortsplib servers (mediamtx, the embedded one) answer SETUP a
		// second late to clients whose user agent starts with "GStreamer",
		// working around an old rtspclientsink bug. Measured here with
		// GStreamer 1.22: first packet 1.01 s after the first frame with the
		// default agent, 10 ms with this one, no failed start in 30 tries.
		{Name: "user-agent", Value: "mpegserver"},
	}
	if t.User != "" {
		p = append(p, Prop{Name: "user-id", Value: t.User, User: true})
	}
	if t.Password != "" {
		p = append(p, Prop{Name: "user-pw", Value: t.Password, User: true, Secret: true})
	}
	return p
}

// LaunchLine renders the description as a gst-launch-1.0 command line that
// runs in a POSIX shell as printed. Passwords are replaced by REDACTED.
func (d Description) LaunchLine() string {
	var b strings.Builder
	b.WriteString("gst-launch-1.0 -e")
	for i, e := range d.Elements {
		if i > 0 {
			b.WriteString(" !")
		}
		if e.Factory == "capsfilter" && len(e.Props) == 1 && e.Props[0].Name == "caps" {
			// Bare caps are gst-launch's own shorthand for a capsfilter.
			b.WriteString(" " + shellWord(e.Props[0].Value))
			continue
		}
		b.WriteString(" " + e.Factory)
		for _, p := range e.Props {
			b.WriteString(" " + p.launchWord())
		}
	}
	return b.String()
}

func (p Prop) launchWord() string {
	v := p.Value
	if p.Secret {
		v = redacted
	}
	if !p.User {
		return shellWord(p.Name + "=" + v)
	}
	// gst-launch-1.0 keeps each argument whole, so one shell word is one
	// value whatever it holds; the inner quotes make that visible and
	// protect a value that starts with a quote.
	q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	w := p.Name + "=" + q
	if plain(v) {
		return w // the shell strips the quotes; gst-launch sees the plain value
	}
	return shellQuote(w)
}

// plain reports whether s needs no quoting for the shell or gst-launch.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_@%+=:,./-", r):
		default:
			return false
		}
	}
	return true
}

func shellWord(s string) string {
	if plain(s) {
		return s
	}
	return shellQuote(s)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sourceColorimetry is the Y'CbCr matrix frames are converted with, by the
// usual convention (and GStreamer's default): BT.709 from 720 lines up,
// BT.601 below. Limited range either way; the encoder writes it into the
// stream, so players convert back with the same matrix.
func sourceColorimetry(height int) string {
	if height >= 720 {
		return "bt709"
	}
	return "bt601"
}

// fileQueue is appsrc's queue, in frames, for file targets.
const fileQueue = 4

// queueBounds gives the appsrc queue's soft bound (max-buffers: enough-data
// fires there and ServeFrameBlock waits) and the hard cap at which
// ServeFrame refuses frames. The hard cap leaves room for a caller that
// follows WaitRef loosely, but never more than 512 MiB of raw frames.
func queueBounds(c Config, live bool) (soft, hard int) {
	// One more than the frames-ahead rule allows, so the rule binds first
	// and the queue only when the encoder falls behind.
	soft = c.FrameAhead + 2
	if !live {
		// A file has no play time to run ahead of. A short queue means
		// few buffers: at 1080p each new buffer is 6 MB of fresh pages,
		// and faulting in frames-ahead of them cost more than encoding.
		soft = fileQueue
	}
	hard = 2*soft + 2
	if fs := c.FrameSize(); fs > 0 {
		if byBytes := (512 << 20) / fs; hard > byBytes {
			hard = max(byBytes, soft+1)
		}
	}
	return soft, hard
}
