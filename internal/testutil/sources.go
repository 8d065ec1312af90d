package testutil

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// FaststartClip makes a secs-second 320x240 30 fps H.264 MP4 with its
// index first, as files served for streaming are.
func FaststartClip(t testing.TB, secs int) string {
	t.Helper()
	NeedTool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "clip.mp4")
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30:duration="+strconv.Itoa(secs),
		"-c:v", "libx264", "-g", "30", "-pix_fmt", "yuv420p", "-movflags", "+faststart", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// StallingServer serves a file over HTTP on loopback, announcing all of
// it but sending only the first half, then holding the connection open
// until the test ends: a source that stops sending without closing.
func StallingServer(t testing.TB, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		select {
		case <-done:
		case <-r.Context().Done():
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { close(done); srv.Close() })
	return "http://" + l.Addr().String() + "/" + filepath.Base(file)
}

// StartRelayAt starts an RTSP relay on addr (a server that must come back
// on the same address), closed at the end of the test.
func StartRelayAt(t testing.TB, addr string) *rtspserver.Server {
	t.Helper()
	r := &rtspserver.Server{Address: addr}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// SyncBuffer is a bytes.Buffer safe to write from several goroutines
// (a command's or a logger's output).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
