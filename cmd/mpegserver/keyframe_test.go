package main

import (
	"regexp"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// TestPushViewerStartsAtOnce: push to its embedded server with a
// 10-second GOP; a reader joining after a second gets a keyframe within a
// few frames, asked of push's encoder when it started to play.
func TestPushViewerStartsAtOnce(t *testing.T) {
	cmd := start(t, nil, "push", "--duration", "4s", "--width", "320", "--height", "240", "--gop", "300", "--frame-ahead", "1",
		"--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--path", "cam")
	url := cmd.line(t, regexp.MustCompile(`to (rtsp://\S+) \(RTSP\)`))
	time.Sleep(time.Second) // well into the GOP
	r, err := rtsptest.Read(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.WaitFrames(testutil.Context(t, 10*time.Second), 10); err != nil {
		t.Fatal(err)
	}
	keys := rtsptest.Keyframes(r.AUs())
	t.Logf("reader joining a second into a 300-frame GOP: keyframes at %v", keys)
	if len(keys) == 0 || keys[0] > 3 {
		t.Errorf("keyframes at %v: the reader waited", keys)
	}
	cmd.cancel()
	cmd.wait(t)
}
