package mpegserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
)

// TestReaderSeesEveryFrame pushes N frames of 640×360 at 30 fps through the
// embedded server: the reader must get every frame pushed after it joined,
// as H.264 at the output size, with IDR frames exactly every GOPSize frames
// and no B-frames.
func TestReaderSeesEveryFrame(t *testing.T) {
	t.Parallel()
	const w, h, n, gop = 640, 360, 90, 15
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(w, h), mpegserver.FrameRate(30, 1),
		mpegserver.GOPSize(gop), mpegserver.MaxBFrames(0))
	r := publishAndRead(t, relay, s, "video", testFrame(w, h, 0))
	for i := 1; i < n; i++ {
		if err := s.ServeFrameBlock(testFrame(w, h, i)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	aus := r.AUs()
	if len(aus) != n-1 {
		t.Fatalf("reader got %d frames, want %d (frames 1..%d)", len(aus), n-1, n-1)
	}
	if gw, gh, err := r.Size(); err != nil || gw != w || gh != h {
		t.Errorf("stream size %dx%d (%v), want %dx%d", gw, gh, err, w, h)
	}
	// Frame k is aus[k-1]; IDR frames are 0, gop, 2·gop, ...
	var want []int
	for k := gop; k < n; k += gop {
		want = append(want, k-1)
	}
	if got := rtsptest.Keyframes(aus); !equalInts(got, want) {
		t.Errorf("keyframes at %v, want %v", got, want)
	}
	if types := string(rtsptest.SliceTypes(aus)); strings.Contains(types, "B") {
		t.Errorf("B-frames with maxBframe=0: %s", types)
	}
	if st := s.Stats(); st.Pushed != n || st.Encoded != n || st.Bytes <= 0 {
		t.Errorf("stats after Close: %+v", st)
	}
}

// TestBFramesWhenAsked: the test above can only pass if maxBframe really
// reaches the encoder; here B-frames must appear when allowed. Without
// zero-latency tuning x264 holds frames back (lookahead, reordering), so
// the server-side count also checks that Close flushes them all out.
func TestBFramesWhenAsked(t *testing.T) {
	t.Parallel()
	const n = 90
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.GOPSize(30), mpegserver.MaxBFrames(2))
	if err := s.Setup(relay.URL("bframes")); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			if err := s.ServeFrameBlock(testFrame(640, 360, i)); err != nil {
				served <- err
				return
			}
		}
		served <- s.Close()
	}()
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "bframes"); err != nil {
		t.Fatal(err)
	}
	r, err := rtsptest.Read(relay.URL("bframes"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if err := r.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := relay.Info("bframes").Frames; got != n {
		t.Errorf("server received %d frames, want %d", got, n)
	}
	aus := r.AUs()
	if types := string(rtsptest.SliceTypes(aus)); !strings.Contains(types, "B") {
		t.Errorf("no B-frames with maxBframe=2 in %d frames: %s", len(aus), types)
	}
}

func TestDotGraphAndEncoders(t *testing.T) {
	dot, err := mpegserver.DotGraph(mpegserver.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"digraph", "x264enc", "rtspclientsink", "appsrc"} {
		if !strings.Contains(dot, want) {
			t.Errorf("graph lacks %q", want)
		}
	}
	found := false
	for _, e := range mpegserver.Encoders() {
		if e.Element == "x264enc" {
			found = e.Installed && strings.Contains(strings.Join(e.Names, ","), "libx264")
		}
	}
	if !found {
		t.Errorf("x264enc not reported installed with its names: %+v", mpegserver.Encoders())
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
