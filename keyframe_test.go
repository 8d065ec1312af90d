package mpegserver_test

import (
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// TestReaderStartsAtOnce: with the relay's OnKeyframeWanted wired to the
// publisher's RequestKeyframe, an RTSP reader joining mid-stream gets a
// keyframe within a frame or two, however far the GOP (300 frames, 10 s)
// is from its next one.
func TestReaderStartsAtOnce(t *testing.T) {
	relay := testutil.StartRelay(t)
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(300), mpegserver.FrameAhead(1))
	relay.OnKeyframeWanted(func(path string) {
		if path == "cam" {
			s.RequestKeyframe()
		}
	})
	if err := s.Setup(relay.URL("cam")); err != nil {
		t.Fatal(err)
	}
	feed(t, s, 320, 240)
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserver.PathInfo) bool { return i.Frames >= 20 }); err != nil {
		t.Fatal(err)
	}
	var worst time.Duration
	for i := 0; i < 5; i++ {
		time.Sleep(mpegserver.KeyframeInterval + time.Duration(i)*41*time.Millisecond)
		joined := time.Now()
		r, err := rtsptest.Read(relay.URL("cam"))
		if err != nil {
			t.Fatal(err)
		}
		ctx := testutil.Context(t, 10*time.Second)
		for len(rtsptest.Keyframes(r.AUs())) == 0 {
			if err := r.WaitFrames(ctx, len(r.AUs())+1); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(joined)
		worst = max(worst, took)
		first := rtsptest.Keyframes(r.AUs())[0]
		r.Close()
		t.Logf("reader %d: keyframe after %d frames, %v after it asked to play", i, first, took.Round(time.Millisecond))
		if first > 3 {
			t.Errorf("reader %d waited %d frames for a keyframe", i, first)
		}
	}
	t.Logf("join → first keyframe at most %v", worst.Round(time.Millisecond))
}
