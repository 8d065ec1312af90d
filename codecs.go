package mpegserver

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// codec says how a codec name maps to GStreamer elements.
type codec struct {
	Encoder string // encoder element
	Parser  string // parser that puts parameter sets in-band for RTSP
	Family  string // h264 or h265: what a reader sees
	// props returns the encoder's properties for a configuration.
	props func(c Config) []gstpipe.Prop
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
	slices.Sort(names)
	return names
}

// encoderKbps converts the API's Kb/s (1024 bit) to the encoders' kbit/s
// (1000 bit), so a bitRate of 1000 Kb/s really is 1 024 000 bit/s.
func encoderKbps(kb float64) string {
	return strconv.Itoa(int(math.Max(1, math.Round(kb*1024/1000))))
}

// x264Props and x265Props share the rate, GOP and preset settings; x265
// takes B-frames and threads in its option string.
func x264Props(c Config) []gstpipe.Prop {
	p := append(rateProps(c),
		gstpipe.Prop{Name: "bframes", Value: strconv.Itoa(c.MaxBFrames)},
		gstpipe.Prop{Name: "threads", Value: strconv.Itoa(c.Threads)},
		gstpipe.Prop{Name: "speed-preset", Value: c.Preset})
	p = append(p, latencyProps(c)...)
	// scenecut=0 keeps keyframes exactly every GOPSize frames, which
	// viewers joining late and segmenting servers rely on.
	return append(p, gstpipe.Prop{Name: "option-string", Value: "scenecut=0"})
}

// x265Lookahead is x265's rc-lookahead for each speed preset.
var x265Lookahead = map[string]int{"ultrafast": 5, "superfast": 10, "veryfast": 15, "faster": 15, "fast": 15,
	"medium": 20, "slow": 25, "slower": 40, "veryslow": 40}

func x265Props(c Config) []gstpipe.Prop {
	opts := []string{"bframes=" + strconv.Itoa(c.MaxBFrames), "scenecut=0"}
	if la := x265Lookahead[c.Preset]; c.MaxBFrames >= la {
		// x265 refuses B-frames at or above its lookahead depth ("Can not
		// initialize x265 encoder" at the first frame): deepen it.
		opts = append(opts, "rc-lookahead="+strconv.Itoa(c.MaxBFrames+1))
	}
	if c.Threads > 0 {
		opts = append(opts, "pools="+strconv.Itoa(c.Threads))
	}
	p := append(rateProps(c), gstpipe.Prop{Name: "speed-preset", Value: c.Preset})
	p = append(p, latencyProps(c)...)
	return append(p, gstpipe.Prop{Name: "option-string", Value: strings.Join(opts, ":")})
}

func rateProps(c Config) []gstpipe.Prop {
	return []gstpipe.Prop{
		{Name: "bitrate", Value: encoderKbps(c.BitRate)},
		{Name: "key-int-max", Value: strconv.Itoa(c.GOPSize)},
	}
}

// latencyProps: with no B-frames there is no reordering, so no lookahead
// either: each frame leaves as soon as it is coded.
func latencyProps(c Config) []gstpipe.Prop {
	if c.MaxBFrames == 0 {
		return []gstpipe.Prop{{Name: "tune", Value: "zerolatency"}}
	}
	return nil
}

// EncoderInfo describes one GStreamer video encoder this machine may have.
type EncoderInfo struct {
	Element   string   // GStreamer element, e.g. "x264enc"
	Family    string   // "h264" or "h265"
	Hardware  bool     // runs on a GPU or a hardware block
	Installed bool     // the element is available here
	Driven    bool     // the library can drive it (a codec name maps to it)
	Names     []string // codec names that select it
}

// knownEncoders lists the H.264/H.265 encoders worth reporting. Only those
// in the codecs table are driven today; the others are listed so a user
// sees what the machine offers.
var knownEncoders = []EncoderInfo{
	{Element: "x264enc", Family: "h264"},
	{Element: "x265enc", Family: "h265"},
	{Element: "openh264enc", Family: "h264"},
	{Element: "vah264enc", Family: "h264", Hardware: true},
	{Element: "vah265enc", Family: "h265", Hardware: true},
	{Element: "vaapih264enc", Family: "h264", Hardware: true},
	{Element: "vaapih265enc", Family: "h265", Hardware: true},
	{Element: "nvh264enc", Family: "h264", Hardware: true},
	{Element: "nvh265enc", Family: "h265", Hardware: true},
	{Element: "qsvh264enc", Family: "h264", Hardware: true},
	{Element: "qsvh265enc", Family: "h265", Hardware: true},
	{Element: "v4l2h264enc", Family: "h264", Hardware: true},
	{Element: "v4l2h265enc", Family: "h265", Hardware: true},
}

// Encoders reports the known encoders, installed or not, with the codec
// names that select each one the library drives.
func Encoders() []EncoderInfo {
	out := make([]EncoderInfo, len(knownEncoders))
	for i, e := range knownEncoders {
		e.Installed = gstpipe.Installed(e.Element)
		for _, n := range codecNames() {
			if c, _ := lookupCodec(n); c.Encoder == e.Element {
				e.Names = append(e.Names, n)
			}
		}
		e.Driven = len(e.Names) > 0
		out[i] = e
	}
	return out
}

// AvailableCodecs lists, sorted, the codec names whose encoder and parser
// are installed here.
func AvailableCodecs() []string {
	var out []string
	for _, n := range codecNames() {
		c, _ := lookupCodec(n)
		if gstpipe.Installed(c.Encoder) && gstpipe.Installed(c.Parser) {
			out = append(out, n)
		}
	}
	return out
}

// checkInstalled fails with a clear error when an element is missing.
func checkInstalled(d description) error {
	for _, e := range d.elements {
		if gstpipe.Installed(e.Factory) {
			continue
		}
		if e.Factory == d.codec.Encoder || e.Factory == d.codec.Parser {
			return fmt.Errorf("%w: %q needs GStreamer element %s, which is not installed (available here: %s)",
				ErrUnknownCodec, d.codecName, e.Factory, strings.Join(AvailableCodecs(), ", "))
		}
		return fmt.Errorf("%w: GStreamer element %s is not installed (run `make deps`)", ErrPipeline, e.Factory)
	}
	return nil
}
