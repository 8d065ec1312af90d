package mpegserver_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// softwareEncoders are the software encoders the library drives, by the
// FFmpeg name the original took, with the codec ffprobe reports.
var softwareEncoders = []struct{ name, element, probe string }{
	{"libx264", "x264enc", "h264"},
	{"libx265", "x265enc", "hevc"},
	{"libopenh264", "openh264enc", "h264"},
	{"libvpx", "vp8enc", "vp8"},
	{"libvpx-vp9", "vp9enc", "vp9"},
	{"libaom-av1", "av1enc", "av1"},
}

// TestEncodersThroughOutputs: each software encoder installed here,
// through each output that carries it, read back by ffprobe: codec, size,
// every frame, a keyframe every GOP. Outputs that cannot carry a codec
// refuse it at Setup, with the reason.
func TestEncodersThroughOutputs(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	const n, gop = 30, 10
	wantKeys := []int{0, 10, 20}
	files := []struct {
		ext   string
		takes string // the probe names it carries
	}{
		{".mkv", "h264 hevc vp8 vp9 av1"},
		{".webm", "vp8 vp9 av1"},
		{".mp4", "h264 hevc vp9 av1"},
		{".ts", "h264 hevc"},
		{".h26x", "h264 hevc"}, // raw elementary stream
	}
	for _, enc := range softwareEncoders {
		t.Run(enc.name, func(t *testing.T) {
			t.Parallel() // with each other only: the test itself is not parallel, so nothing else needs the CPU they take
			if el, _ := mpegserver.EncoderFor(enc.name); el != enc.element {
				t.Skipf("%s not installed", enc.element)
			}
			for _, f := range files {
				out := filepath.Join(t.TempDir(), "out"+f.ext)
				// Close waits for every queued frame to be encoded, which
				// for the slower encoders on a loaded machine can take
				// longer than the default bound; how long is not checked.
				s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop), mpegserver.Codec(enc.name), mpegserver.CloseTimeout(2*time.Minute))
				err := s.Setup(out)
				if !strings.Contains(f.takes, enc.probe) {
					if !errors.Is(err, mpegserver.ErrUnknownCodec) {
						t.Errorf("%s to %s: %v, want a refusal at Setup", enc.name, f.ext, err)
					} else {
						t.Logf("%s to %s refused: %v", enc.name, f.ext, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", f.ext, err)
				}
				pushFrames(t, s, n, 320, 240)
				got, keys := ffprobeFrames(t, out)
				if got != fmt.Sprintf("%s,320,240,%d", enc.probe, n) || !equalInts(keys, wantKeys) {
					t.Errorf("%s: %s, keyframes at %v", f.ext, got, keys)
				}
			}
		})
	}
}

// TestEncodersThroughStreams: the same through the network outputs:
// RTSP (the relay, read by ffprobe), RTMP (nginx), SRT (srt-live-transmit).
func TestEncodersThroughStreams(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	const n, gop = 45, 15
	for _, enc := range softwareEncoders {
		t.Run(enc.name, func(t *testing.T) {
			t.Parallel()
			if el, _ := mpegserver.EncoderFor(enc.name); el != enc.element {
				t.Skipf("%s not installed", enc.element)
			}
			// RTSP carries what an RTP payloader exists for; AV1's
			// (rtpav1pay) is not in GStreamer 1.22.
			s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop), mpegserver.Codec(enc.name))
			if enc.probe == "av1" {
				err := s.Setup("rtsp://127.0.0.1:1/x")
				if !errors.Is(err, mpegserver.ErrUnknownCodec) {
					t.Errorf("AV1 to RTSP: %v", err)
				}
			} else {
				i := 0
				p := probeStream(t, s, func() ([]byte, bool) { i++; return testFrame(320, 240, i), i <= n })
				t.Logf("rtsp: %s %dx%d, %d frames decoded of %d relayed, keyframes at %v", p.Codec, p.Width, p.Height,
					len(p.Types), p.Relayed, p.Keyframes)
				if p.Codec != enc.probe || p.Width != 320 || p.Height != 240 || len(p.Types) != n || p.Relayed != n || len(p.Keyframes) == 0 {
					t.Errorf("rtsp: %+v", p)
				}
				for k := 1; k < len(p.Keyframes); k++ {
					if p.Keyframes[k]-p.Keyframes[k-1] != gop {
						t.Errorf("rtsp: keyframes at %v", p.Keyframes)
						break
					}
				}
			}

			s = newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop), mpegserver.Codec(enc.name))
			srv := testutil.StartRTMP(t)
			if enc.probe != "h264" {
				if err := s.Setup(srv.URL + "/x"); !errors.Is(err, mpegserver.ErrUnknownCodec) {
					t.Errorf("%s to RTMP: %v", enc.probe, err)
				}
			} else {
				if err := s.Setup(srv.URL + "/cam"); err != nil {
					t.Fatal(err)
				}
				pushFrames(t, s, n, 320, 240)
				srv.WaitLog(t, "deleteStream", 2, 10*time.Second)
				if got, keys := ffprobeFrames(t, filepath.Join(srv.Dir, "cam.flv")); got != fmt.Sprintf("h264,320,240,%d", n) || !equalInts(keys, []int{0, 15, 30}) {
					t.Errorf("rtmp: %s, keyframes at %v", got, keys)
				}
			}

			s = newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(gop), mpegserver.Codec(enc.name))
			if enc.probe != "h264" && enc.probe != "hevc" {
				if err := s.Setup("srt://127.0.0.1:9/x"); !errors.Is(err, mpegserver.ErrUnknownCodec) && !errors.Is(err, mpegserver.ErrUnsupportedAddress) {
					t.Errorf("%s to SRT: %v", enc.probe, err)
				}
				return
			}
			rx := testutil.StartSRT(t, "")
			if err := s.Setup(fmt.Sprintf("srt://127.0.0.1:%d", rx.Port)); err != nil {
				t.Fatal(err)
			}
			pushFrames(t, s, n, 320, 240)
			rx.Wait(t, 10*time.Second)
			if got, keys := ffprobeFrames(t, rx.File); got != fmt.Sprintf("%s,320,240,%d", enc.probe, n) || !equalInts(keys, []int{0, 15, 30}) {
				t.Errorf("srt: %s, keyframes at %v", got, keys)
			}
		})
	}
}
