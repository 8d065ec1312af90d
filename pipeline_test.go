package mpegserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
)

// TestReaderSeesEveryFrame pushes N frames of 640×360 at 30 fps through the
// embedded server: the reader must get every frame pushed after it joined,
// as H.264 at the output size, with IDR frames exactly every GOPSize frames
// and no B-frames.
func TestReaderSeesEveryFrame(t *testing.T) {
	const w, h, n, gop = 640, 360, 90, 15
	relay := startRelay(t)
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
	if err := r.WaitEnd(ctxT(t, 10*time.Second)); err != nil {
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
