package mpegserver

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// encoder is one GStreamer video encoder and how the configuration's
// numbers are set on it: every element names bit rate, GOP, B-frames,
// threads and speed differently, in different units.
type encoder struct {
	Element  string // GStreamer element
	Family   string // what a reader sees: h264, h265, vp8, vp9 or av1
	Hardware bool
	// After is the element that follows the encoder: a parser that
	// repeats the parameter sets in-band, or caps that pin what the
	// encoder leaves open.
	After gstpipe.Element
	// BFrames says the codec has B-frames at all.
	BFrames bool
	props   func(c Config) []gstpipe.Prop
}

// Families: the codecs an encoder produces, as readers name them.
const (
	famH264 = "h264"
	famH265 = "h265"
	famVP8  = "vp8"
	famVP9  = "vp9"
	famAV1  = "av1"
)

func h26xParser(fam string) gstpipe.Element {
	// config-interval=-1 repeats SPS/PPS (and VPS) with every keyframe,
	// so a reader joining mid-stream can start at the next keyframe.
	return gstpipe.Element{Factory: fam + "parse", Props: []gstpipe.Prop{{Name: "config-interval", Value: "-1"}}}
}

// vp8Caps pins profile 0: vp8enc reads the profile from downstream caps
// and fails ("Invalid vpx profile") when a sink takes ANY, as
// the RTSP sink does.
var vp8Caps = gstpipe.Element{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps", Value: "video/x-vp8,profile=(string)0"}}}

// encoderTable is every encoder the library drives, software first within
// a family for the listing; hardware ones are preferred by plain names.
var encoderTable = []*encoder{
	{Element: "x264enc", Family: famH264, After: h26xParser(famH264), BFrames: true, props: x264Props},
	{Element: "x265enc", Family: famH265, After: h26xParser(famH265), BFrames: true, props: x265Props},
	{Element: "openh264enc", Family: famH264, After: h26xParser(famH264), props: openh264Props},
	{Element: "vp8enc", Family: famVP8, After: vp8Caps, props: vpxProps(famVP8)},
	// vp9parse fills in what mp4mux needs (chroma-format) and, like the
	// caps for VP8, gives vp9enc a profile to read downstream.
	{Element: "vp9enc", Family: famVP9, After: gstpipe.Element{Factory: "vp9parse"}, props: vpxProps(famVP9)},
	// av1parse turns the encoder's OBU stream into what muxers take.
	{Element: "av1enc", Family: famAV1, After: gstpipe.Element{Factory: "av1parse"}, props: av1Props},
	{Element: "nvh264enc", Family: famH264, Hardware: true, After: h26xParser(famH264), BFrames: true, props: nvencProps},
	{Element: "nvh265enc", Family: famH265, Hardware: true, After: h26xParser(famH265), BFrames: true, props: nvencProps},
	{Element: "vah264enc", Family: famH264, Hardware: true, After: h26xParser(famH264), BFrames: true, props: vaProps},
	{Element: "vah265enc", Family: famH265, Hardware: true, After: h26xParser(famH265), BFrames: true, props: vaProps},
	{Element: "vaapih264enc", Family: famH264, Hardware: true, After: h26xParser(famH264), BFrames: true, props: vaapiProps},
	{Element: "vaapih265enc", Family: famH265, Hardware: true, After: h26xParser(famH265), BFrames: true, props: vaapiProps},
	{Element: "qsvh264enc", Family: famH264, Hardware: true, After: h26xParser(famH264), BFrames: true, props: qsvProps},
	{Element: "qsvh265enc", Family: famH265, Hardware: true, After: h26xParser(famH265), BFrames: true, props: qsvProps},
	{Element: "v4l2h264enc", Family: famH264, Hardware: true, After: h26xParser(famH264), props: v4l2Props(famH264)},
	{Element: "v4l2h265enc", Family: famH265, Hardware: true, After: h26xParser(famH265), props: v4l2Props(famH265)},
}

func encoderByElement(name string) *encoder {
	for _, e := range encoderTable {
		if e.Element == name {
			return e
		}
	}
	return nil
}

// codecs maps every accepted codec name, FFmpeg's and GStreamer's, to the
// encoders that may serve it, in order of preference: the first installed
// one that works is used. Lookups are case-insensitive.
var codecs = map[string][]string{}

func init() {
	hw264 := []string{"nvh264enc", "vah264enc", "vaapih264enc", "qsvh264enc", "v4l2h264enc"}
	hw265 := []string{"nvh265enc", "vah265enc", "vaapih265enc", "qsvh265enc", "v4l2h265enc"}
	set := func(elems []string, names ...string) {
		for _, n := range names {
			codecs[n] = elems
		}
	}
	// A plain codec name takes the hardware encoder when there is one
	// that works, else the software one; a library's name takes that
	// library.
	// FFmpeg's h264 takes whichever H.264 encoder it has: openh264 where
	// x264 is not installed.
	set(append(slices.Clone(hw264), "x264enc", "openh264enc"), "h264", "avc")
	set(append(slices.Clone(hw265), "x265enc"), "h265", "hevc")
	set([]string{"x264enc"}, "x264enc", "libx264", "x264", "libx264rgb")
	set([]string{"x265enc"}, "x265enc", "libx265", "x265")
	set([]string{"openh264enc"}, "openh264enc", "libopenh264", "openh264")
	set([]string{"vp8enc"}, "vp8enc", "libvpx", "vp8")
	set([]string{"vp9enc"}, "vp9enc", "libvpx-vp9", "vp9")
	set([]string{"av1enc"}, "av1enc", "libaom-av1", "av1")
	set([]string{"nvh264enc"}, "nvh264enc", "h264_nvenc")
	set([]string{"nvh265enc"}, "nvh265enc", "hevc_nvenc")
	// FFmpeg's VAAPI encoders: GStreamer's newer va plugin first, the
	// older vaapi one where only that is installed.
	set([]string{"vah264enc", "vaapih264enc"}, "h264_vaapi")
	set([]string{"vah265enc", "vaapih265enc"}, "hevc_vaapi")
	set([]string{"vah264enc"}, "vah264enc")
	set([]string{"vah265enc"}, "vah265enc")
	set([]string{"vaapih264enc"}, "vaapih264enc")
	set([]string{"vaapih265enc"}, "vaapih265enc")
	set([]string{"qsvh264enc"}, "qsvh264enc", "h264_qsv")
	set([]string{"qsvh265enc"}, "qsvh265enc", "hevc_qsv")
	set([]string{"v4l2h264enc"}, "v4l2h264enc", "h264_v4l2m2m")
	set([]string{"v4l2h265enc"}, "v4l2h265enc", "hevc_v4l2m2m")
}

// candidates returns the encoders a codec name may use, in order.
func candidates(name string) ([]*encoder, bool) {
	elems, ok := codecs[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return nil, false
	}
	out := make([]*encoder, len(elems))
	for i, e := range elems {
		out[i] = encoderByElement(e)
	}
	return out, true
}

// codecFamily is the family a codec name produces ("" if unknown).
func codecFamily(name string) string {
	if cs, ok := candidates(name); ok {
		return cs[0].Family
	}
	return ""
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

// encoderBps is the same rate in bit/s, for the encoders that take that.
func encoderBps(kb float64) string {
	return strconv.Itoa(int(math.Max(1000, math.Round(kb*1024))))
}

// presetRank orders the speed presets from fastest (0) to slowest (8);
// encoders without x264's names get their own speed from it.
func presetRank(p string) int {
	if i := slices.Index(presets, p); i >= 0 {
		return i
	}
	return slices.Index(presets, DefaultPreset)
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

// openh264Props: bit/s, a GOP in frames, three speed levels; Baseline
// profile, so no B-frames.
func openh264Props(c Config) []gstpipe.Prop {
	complexity := []string{"low", "low", "low", "medium", "medium", "medium", "high", "high", "high"}[presetRank(c.Preset)]
	return []gstpipe.Prop{
		{Name: "bitrate", Value: encoderBps(c.BitRate)},
		{Name: "gop-size", Value: strconv.Itoa(c.GOPSize)},
		{Name: "rate-control", Value: "bitrate"},
		{Name: "complexity", Value: complexity},
		{Name: "multi-thread", Value: strconv.Itoa(c.Threads)},
	}
}

// vpxProps: libvpx in real-time mode, constant bit rate in bit/s, no
// frames held back (lag-in-frames=0: no alt-ref delay), speed from the
// preset (cpu-used, higher is faster).
func vpxProps(fam string) func(c Config) []gstpipe.Prop {
	return func(c Config) []gstpipe.Prop {
		fastest := 16 // vp8enc's cpu-used runs -16..16
		if fam == famVP9 {
			fastest = 9 // vp9enc's real-time speeds end at 9
		}
		p := []gstpipe.Prop{
			{Name: "target-bitrate", Value: encoderBps(c.BitRate)},
			{Name: "keyframe-max-dist", Value: strconv.Itoa(c.GOPSize)},
			{Name: "end-usage", Value: "cbr"},
			{Name: "deadline", Value: "1"},
			{Name: "cpu-used", Value: strconv.Itoa(max(fastest-presetRank(c.Preset)*fastest/9, 1))},
			{Name: "lag-in-frames", Value: "0"},
			{Name: "threads", Value: strconv.Itoa(c.Threads)},
		}
		if fam == famVP9 {
			p = append(p, gstpipe.Prop{Name: "row-mt", Value: "true"})
		}
		return p
	}
}

// av1Props: libaom's real-time profile, kbit/s. max-quantizer must be set:
// at av1enc's default libaom aborts the process in CBR (an assertion in
// its rate control, measured with GStreamer 1.22 and libaom 3.6).
func av1Props(c Config) []gstpipe.Prop {
	return []gstpipe.Prop{
		{Name: "target-bitrate", Value: encoderKbps(c.BitRate)},
		{Name: "keyframe-max-dist", Value: strconv.Itoa(c.GOPSize)},
		{Name: "end-usage", Value: "cbr"},
		{Name: "usage-profile", Value: "realtime"},
		{Name: "cpu-used", Value: strconv.Itoa(max(10-presetRank(c.Preset), 5))},
		{Name: "lag-in-frames", Value: "0"},
		{Name: "min-quantizer", Value: "0"},
		{Name: "max-quantizer", Value: "63"},
		{Name: "threads", Value: strconv.Itoa(c.Threads)},
		{Name: "row-mt", Value: "true"},
	}
}

// The hardware encoders are driven by their documented properties; this
// machine has none, so these are checked by their launch lines only
// (docs/outputs.md).

func nvencProps(c Config) []gstpipe.Prop {
	preset := []string{"hp", "hp", "low-latency-hp", "low-latency-hp", "low-latency", "low-latency-hq", "hq", "hq", "hq"}[presetRank(c.Preset)]
	return []gstpipe.Prop{
		{Name: "bitrate", Value: encoderKbps(c.BitRate)},
		{Name: "gop-size", Value: strconv.Itoa(c.GOPSize)},
		{Name: "bframes", Value: strconv.Itoa(c.MaxBFrames)},
		{Name: "rc-mode", Value: "cbr"},
		{Name: "preset", Value: preset},
		{Name: "zerolatency", Value: strconv.FormatBool(c.MaxBFrames == 0)},
	}
}

func vaProps(c Config) []gstpipe.Prop {
	return []gstpipe.Prop{
		{Name: "bitrate", Value: encoderKbps(c.BitRate)},
		{Name: "key-int-max", Value: strconv.Itoa(c.GOPSize)},
		{Name: "b-frames", Value: strconv.Itoa(c.MaxBFrames)},
		{Name: "rate-control", Value: "cbr"},
		// target-usage runs 1 (quality) .. 7 (speed).
		{Name: "target-usage", Value: strconv.Itoa(7 - presetRank(c.Preset)*6/8)},
	}
}

func vaapiProps(c Config) []gstpipe.Prop {
	return []gstpipe.Prop{
		{Name: "bitrate", Value: encoderKbps(c.BitRate)},
		{Name: "keyframe-period", Value: strconv.Itoa(c.GOPSize)},
		{Name: "max-bframes", Value: strconv.Itoa(c.MaxBFrames)},
		{Name: "rate-control", Value: "cbr"},
		{Name: "quality-level", Value: strconv.Itoa(7 - presetRank(c.Preset)*6/8)},
	}
}

func qsvProps(c Config) []gstpipe.Prop {
	return []gstpipe.Prop{
		{Name: "bitrate", Value: encoderKbps(c.BitRate)},
		{Name: "gop-size", Value: strconv.Itoa(c.GOPSize)},
		{Name: "b-frames", Value: strconv.Itoa(c.MaxBFrames)},
		{Name: "rate-control", Value: "cbr"},
		{Name: "target-usage", Value: strconv.Itoa(7 - presetRank(c.Preset)*6/8)},
	}
}

// v4l2Props: V4L2 memory-to-memory encoders take their settings as V4L2
// controls, bit rate in bit/s.
func v4l2Props(fam string) func(c Config) []gstpipe.Prop {
	return func(c Config) []gstpipe.Prop {
		period := "h264_i_frame_period"
		if fam == famH265 {
			period = "hevc_i_frame_period"
		}
		return []gstpipe.Prop{{Name: "extra-controls", Value: fmt.Sprintf(
			"controls,video_bitrate=%s,video_gop_size=%d,%s=%d,repeat_sequence_header=1",
			encoderBps(c.BitRate), c.GOPSize, period, c.GOPSize)}}
	}
}

// EncoderInfo describes one GStreamer video encoder the library knows.
type EncoderInfo struct {
	Element   string   // GStreamer element, e.g. "x264enc"
	Family    string   // "h264", "h265", "vp8", "vp9" or "av1"
	Hardware  bool     // runs on a GPU or a hardware block
	Installed bool     // the element is available here
	Names     []string // codec names that select it (a plain name only if it comes first)
}

// Encoders reports every encoder the library drives, installed or not,
// with the codec names that may select each.
func Encoders() []EncoderInfo {
	out := make([]EncoderInfo, len(encoderTable))
	for i, e := range encoderTable {
		info := EncoderInfo{Element: e.Element, Family: e.Family, Hardware: e.Hardware, Installed: gstpipe.Installed(e.Element)}
		for _, n := range codecNames() {
			if slices.Contains(codecs[n], e.Element) {
				info.Names = append(info.Names, n)
			}
		}
		out[i] = info
	}
	return out
}

// EncoderFor names the encoder element a codec name selects on this
// machine, the first installed of its candidates, and whether it is a
// hardware one; "" when none is installed. Setup falls back from a
// hardware encoder that fails to start to the next candidate.
func EncoderFor(codec string) (element string, hardware bool) {
	if e := firstInstalled(codec, nil, gstpipe.Installed); e != nil {
		return e.Element, e.Hardware
	}
	return "", false
}

// AvailableCodecs lists, sorted, the codec names with an encoder (and
// what follows it) installed here.
func AvailableCodecs() []string {
	var out []string
	for _, n := range codecNames() {
		if e := firstInstalled(n, nil, gstpipe.Installed); e != nil {
			out = append(out, n)
		}
	}
	return out
}

// firstInstalled is the first of a name's encoders that is installed and
// not in skip, or nil.
func firstInstalled(name string, skip []string, installed func(string) bool) *encoder {
	cs, _ := candidates(name)
	for _, e := range cs {
		if !slices.Contains(skip, e.Element) && installed(e.Element) && installed(e.After.Factory) {
			return e
		}
	}
	return nil
}

// checkInstalled fails with a clear error when an element is missing.
func checkInstalled(d description) error {
	for i, e := range append(append([]gstpipe.Element(nil), d.elements...), d.audio.elements...) {
		if gstpipe.Installed(e.Factory) {
			continue
		}
		if i >= len(d.elements) {
			return fmt.Errorf("%w: %w", ErrPipeline, missingError{"the audio track needs GStreamer element " + e.Factory + ", which is not installed (run `make deps`)"})
		}
		if e.Factory == d.enc.Element || e.Factory == d.enc.After.Factory {
			return fmt.Errorf("%w: %w", ErrUnknownCodec, missingError{fmt.Sprintf("%q needs GStreamer element %s, which is not installed (available here: %s)",
				d.codecName, e.Factory, strings.Join(AvailableCodecs(), ", "))})
		}
		return fmt.Errorf("%w: %w", ErrPipeline, missingError{"GStreamer element " + e.Factory + " is not installed (run `make deps`)"})
	}
	return nil
}
