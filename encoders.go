package mpegserver

import "sort"

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
		e.Installed = installed(e.Element)
		for _, n := range codecNames() {
			if c, _ := lookupCodec(n); c.Encoder == e.Element {
				e.Names = append(e.Names, n)
			}
		}
		sort.Strings(e.Names)
		e.Driven = len(e.Names) > 0
		out[i] = e
	}
	return out
}
