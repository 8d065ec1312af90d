package mpegserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/mpegcoder-go/mpegserver"
)

// TestFFprobeSeesEveryFrame: ffprobe, an independent reader, sees H.264 at
// the output size, every frame pushed after it joined, and keyframes every
// GOPSize frames.
func TestFFprobeSeesEveryFrame(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	const w, h, n, gop = 640, 360, 60, 10
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(w, h), mpegserver.GOPSize(gop))
	if err := s.Setup(relay.URL("probe")); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeFrameBlock(testFrame(w, h, 0)); err != nil {
		t.Fatal(err)
	}
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "probe", func(i rtspserverInfo) bool { return i.Frames > 0 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-i", relay.URL("probe"),
		"-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height:packet=flags", "-of", "json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := relay.WaitReaders(testutil.Context(t, 20*time.Second), "probe", 1); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := s.ServeFrameBlock(testFrame(w, h, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, errb.String())
	}
	var res struct {
		Streams []struct {
			CodecName     string `json:"codec_name"`
			Width, Height int
		}
		Packets []struct{ Flags string }
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(res.Streams) != 1 || res.Streams[0].CodecName != "h264" || res.Streams[0].Width != w || res.Streams[0].Height != h {
		t.Errorf("streams %+v", res.Streams)
	}
	if len(res.Packets) != n-1 {
		t.Errorf("ffprobe read %d packets, want %d (frames 1..%d)", len(res.Packets), n-1, n-1)
	}
	var keys []int
	for i, p := range res.Packets {
		if strings.HasPrefix(p.Flags, "K") {
			keys = append(keys, i+1) // packet i is frame i+1
		}
	}
	var want []int
	for k := gop; k < n; k += gop {
		want = append(want, k)
	}
	if !equalInts(keys, want) {
		t.Errorf("keyframes at frames %v, want %v", keys, want)
	}
}

// TestSourceSizeAndColours: frames of one size are scaled to the output
// size, and colours keep their channel order through the image fast path.
func TestSourceSizeAndColours(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	const sw, sh, w, h = 320, 240, 640, 360
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.SourceSize(sw, sh), mpegserver.Size(w, h), mpegserver.GOPSize(5))
	if err := s.Setup(relay.URL("scale")); err != nil {
		t.Fatal(err)
	}
	// Left half red, right half blue, as an RGBA image (alpha dropped).
	img := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			c := color.RGBA{230, 20, 20, 255}
			if x >= sw/2 {
				c = color.RGBA{20, 20, 230, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := s.ServeImageBlock(img); err != nil {
				served <- err
				return
			}
		}
		served <- nil
	}()
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "scale"); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	raw, err := exec.CommandContext(rctx, "ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", relay.URL("scale"),
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	cancel()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if len(raw) != w*h*3 {
		t.Fatalf("decoded frame is %d bytes, want %dx%dx3 = %d", len(raw), w, h, w*h*3)
	}
	px := func(x, y int) [3]byte { o := (y*w + x) * 3; return [3]byte{raw[o], raw[o+1], raw[o+2]} }
	near := func(a [3]byte, b [3]int) bool {
		for i := range a {
			if d := int(a[i]) - b[i]; d < -30 || d > 30 {
				return false
			}
		}
		return true
	}
	if l := px(w/4, h/2); !near(l, [3]int{230, 20, 20}) {
		t.Errorf("left pixel %v, want red", l)
	}
	if r := px(3*w/4, h/2); !near(r, [3]int{20, 20, 230}) {
		t.Errorf("right pixel %v, want blue", r)
	}
}

// TestDumpFileDescribesRunningStream and hides the password.
func TestDumpFileDescribesRunningStream(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.GOPSize(12))
	addr := strings.Replace(relay.URL("dump"), "rtsp://", "rtsp://cam:t0ps3cret@", 1)
	if err := s.Setup(addr); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := s.ServeFrameBlock(testFrame(640, 360, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "dump", func(i rtspserverInfo) bool { return i.Frames >= 3 }); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := s.DumpFile(&b); err != nil {
		t.Fatal(err)
	}
	dump := b.String()
	for _, want := range []string{"x264enc", "key-int-max = 12", "video/x-h264", "width=(int)640", "height=(int)360",
		"rtspclientsink", "user-pw = REDACTED", "cam:REDACTED@"} {
		if !strings.Contains(dump, want) {
			t.Errorf("dump lacks %q", want)
		}
	}
	line, _ := s.LaunchLine()
	for what, text := range map[string]string{"dump": dump, "String": s.String(), "LaunchLine": line} {
		if strings.Contains(text, "t0ps3cret") {
			t.Errorf("password in %s:\n%s", what, text)
		}
	}
	if t.Failed() {
		t.Log(dump)
	}
}

// TestH265Stream: libx265 produces an HEVC stream a reader recognises.
func TestH265Stream(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Codec("libx265"), mpegserver.Size(320, 240), mpegserver.GOPSize(10), mpegserver.FrameAhead(0))
	if err := s.Setup(relay.URL("hevc")); err != nil {
		t.Fatal(err)
	}
	feed(t, s, 320, 240)
	if err := relay.Wait(testutil.Context(t, 20*time.Second), "hevc", func(i rtspserverInfo) bool { return i.Frames > 0 }); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(testutil.Context(t, 30*time.Second), "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
		"-i", relay.URL("hevc"), "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "hevc,320,240" {
		t.Errorf("ffprobe: %q, want hevc,320,240", got)
	}
}
