package mpegserver_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mpegcoder-go/mpegserver"
)

// TestHardwareEncoderLines: this machine has no GPU, so the hardware
// mappings are checked by what they would run: each FFmpeg name selects
// its element with the stream's bit rate (in the element's unit), GOP,
// B-frames and rate control. Where the element is missing, Setup says so
// and lists what is installed.
func TestHardwareEncoderLines(t *testing.T) {
	// 1000 Kb/s (1024 bit) = 1024 kbit/s = 1 024 000 bit/s; GOP 24; 2 B-frames.
	cases := []struct{ codec, want string }{
		{"h264_nvenc", "nvh264enc bitrate=1024 gop-size=24 bframes=2 rc-mode=cbr preset=low-latency-hp zerolatency=false ! h264parse"},
		{"hevc_nvenc", "nvh265enc bitrate=1024 gop-size=24 bframes=2 rc-mode=cbr preset=low-latency-hp zerolatency=false ! h265parse"},
		{"h264_vaapi", "h264enc bitrate=1024 "}, // vah264enc, or vaapih264enc where only that is installed
		{"vah264enc", "vah264enc bitrate=1024 key-int-max=24 b-frames=2 rate-control=cbr target-usage=6 ! h264parse"},
		{"vaapih265enc", "vaapih265enc bitrate=1024 keyframe-period=24 max-bframes=2 rate-control=cbr quality-level=6 ! h265parse"},
		{"h264_qsv", "qsvh264enc bitrate=1024 gop-size=24 b-frames=2 rate-control=cbr target-usage=6 ! h264parse"},
		{"hevc_qsv", "qsvh265enc bitrate=1024 gop-size=24 b-frames=2 rate-control=cbr target-usage=6 ! h265parse"},
	}
	for _, tc := range cases {
		s := mpegserver.New()
		if err := s.SetParameter(mpegserver.Codec(tc.codec), mpegserver.BitRate(1000), mpegserver.GOPSize(24), mpegserver.MaxBFrames(2)); err != nil {
			t.Fatal(err)
		}
		line, err := s.LaunchLine()
		if err != nil || !strings.Contains(line, tc.want) {
			t.Errorf("%s: %v\n%s\nwant %s", tc.codec, err, line, tc.want)
		}
		if el, _ := mpegserver.EncoderFor(tc.codec); el == "" {
			err := s.Setup("out.mkv")
			if !errors.Is(err, mpegserver.ErrUnknownCodec) || !strings.Contains(err.Error(), "not installed") || !strings.Contains(err.Error(), "libx264") {
				t.Errorf("%s not installed: Setup %v", tc.codec, err)
			}
		}
	}
	// V4L2 encoders take controls, in bit/s, and have no B-frames.
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Codec("h264_v4l2m2m"), mpegserver.BitRate(1000), mpegserver.GOPSize(24))
	if line, _ := s.LaunchLine(); !strings.Contains(line, "v4l2h264enc extra-controls=controls,video_bitrate=1024000,video_gop_size=24,h264_i_frame_period=24,repeat_sequence_header=1 ! h264parse") {
		t.Errorf("v4l2: %s", line)
	}
	if err := s.SetParameter(mpegserver.MaxBFrames(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LaunchLine(); !errors.Is(err, mpegserver.ErrBadParameter) || !strings.Contains(err.Error(), "no B-frames") {
		t.Errorf("v4l2 with B-frames: %v", err)
	}
	// A plain name takes the hardware encoder when one is installed and
	// x264enc otherwise, and says which.
	if el, hw := mpegserver.EncoderFor("h264"); el == "" || (el == "x264enc") == hw {
		t.Errorf("h264 → %s (hardware %v)", el, hw)
	}
}
