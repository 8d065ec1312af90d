package mpegserver_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// serveN sets s up on addr and serves n test frames as fast as it takes
// them; it returns Close's error.
func serveN(t *testing.T, s *mpegserver.Server, addr string, w, h, n int) error {
	t.Helper()
	if err := s.Setup(addr); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := s.ServeFrameBlock(testFrame(w, h, i)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	return s.Close()
}

// TestRecordAnyFormatBesideAny: every file format as the stream and as
// the record, in pairs whose muxers want different stream formats (avc
// for mp4 and mkv, byte-stream for ts, a raw file and HLS): both files
// hold every frame.
func TestRecordAnyFormatBesideAny(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	const w, h, n = 160, 96, 30
	for _, pair := range [][2]string{{"a.mkv", "b.h264"}, {"a.h264", "b.mp4"}, {"a.mp4", "b.m3u8"}, {"a.m3u8", "b.ts"}, {"a.ts", "b.mkv"}} {
		dir := t.TempDir()
		main, rec := filepath.Join(dir, pair[0]), filepath.Join(dir, pair[1])
		s := newServer(t, mpegserver.Size(w, h), mpegserver.GOPSize(10), mpegserver.Record(rec))
		if err := serveN(t, s, main, w, h, n); err != nil {
			t.Errorf("%v: %v", pair, err)
			continue
		}
		for _, f := range []string{main, rec} {
			if strings.HasSuffix(f, ".m3u8") {
				continue // live: segments of whole GOPs, checked by TestHLSOutput
			}
			if got, _ := ffprobeFrames(t, f); got != "h264,160,96,30" {
				t.Errorf("%v: %s: %s", pair, filepath.Base(f), got)
			}
		}
	}
}

// TestFailingFileSparesTheOther: a record on a full disk (/dev/full, and
// as root a full tmpfs, each way round) is dropped and reported while the
// other file gets every frame; Close reports the failed output.
func TestFailingFileSparesTheOther(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	const w, h, n = 160, 96, 60
	type pair struct{ main, rec, failing string }
	dir := t.TempDir()
	cases := []pair{{filepath.Join(dir, "main.mkv"), "/dev/full", "/dev/full"}}
	if full := fullDisk(t); full != "" {
		cases = append(cases,
			pair{filepath.Join(dir, "main2.mkv"), filepath.Join(full, "rec.mkv"), filepath.Join(full, "rec.mkv")},
			pair{filepath.Join(full, "main.mkv"), filepath.Join(dir, "rec2.mkv"), filepath.Join(full, "main.mkv")})
	}
	for _, c := range cases {
		s := newServer(t, mpegserver.Size(w, h), mpegserver.GOPSize(10), mpegserver.Record(c.rec))
		err := serveN(t, s, c.main, w, h, n)
		if !errors.Is(err, mpegserver.ErrPipeline) || !strings.Contains(err.Error(), c.failing) {
			t.Errorf("%s beside %s: Close = %v, want the failing output's error", c.rec, c.main, err)
		}
		good := c.main
		if good == c.failing {
			good = c.rec
		}
		if got, _ := ffprobeFrames(t, good); got != "h264,160,96,60" {
			t.Errorf("%s beside a failing %s: %s", good, c.failing, got)
		}
		for _, o := range s.Stats().Outputs {
			if failed := o.Address == c.failing; failed != (o.Err != nil) {
				t.Errorf("%s: %d frames, error %v", o.Address, o.Frames, o.Err)
			}
		}
	}
}

// fullDisk mounts a tiny tmpfs for the test, or says why it cannot ("").
func fullDisk(t *testing.T) string {
	if os.Geteuid() != 0 {
		t.Log("not root: no full tmpfs, /dev/full only")
		return ""
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Logf("no full tmpfs (%v: %s), /dev/full only", err, out)
		return ""
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// TestSetupFailureLeavesFilesAlone: a Setup that fails (the record's
// directory does not exist) leaves the existing file it would have
// written as it was, and a Setup that never gets a frame leaves no empty
// file behind.
func TestSetupFailureLeavesFilesAlone(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "o6.mkv")
	if err := os.WriteFile(precious, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, mpegserver.Record(filepath.Join(dir, "nonexistent", "r.mkv")))
	if err := s.Setup(precious); err == nil || !strings.Contains(err.Error(), "record: ") {
		t.Fatalf("Setup = %v, want the record's error", err)
	}
	if b, _ := os.ReadFile(precious); string(b) != "precious\n" {
		t.Fatalf("the failed Setup changed %s: %q", precious, b)
	}
	empty := filepath.Join(dir, "never.mkv")
	s = newServer(t)
	if err := s.Setup(empty); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a stream closed before its first frame left %s (%v)", empty, err)
	}
}

// TestReadContextEndsAStall: a source that stops sending (an HTTP server
// that sends half a file and holds the connection) holds ReadContext only
// until its context ends; what was read is counted, and a file that ends
// early says so in Stats.
func TestReadContextEndsAStall(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	clip := testutil.FaststartClip(t, 4)
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	url := testutil.StallingServer(t, clip)
	r, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), url, mpegserver.ReaderConfig{ReadTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	frame := make([]byte, r.FrameSize())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	for ; ; n++ {
		if err = r.ReadContext(ctx, frame); err != nil {
			break
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) || n == 0 || n >= 120 {
		t.Fatalf("after %d frames: %v, want the context's end after some of 120", n, err)
	}
	if st := r.Stats(); st.Frames != int64(n) || st.Short {
		t.Errorf("stats %+v after a stall (not an end), %d frames read", st, n)
	}

	// The same half file, whole as far as the server is concerned: Read
	// ends with io.EOF and Stats says it ended short.
	half := filepath.Join(t.TempDir(), "half.mp4")
	if err := os.WriteFile(half, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	r2, err := mpegserver.OpenReader(testutil.Context(t, 10*time.Second), half, mpegserver.ReaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for err = nil; err == nil; err = r2.Read(frame) {
	}
	st := r2.Stats()
	if err != io.EOF || !st.Short || st.Duration < 3900*time.Millisecond || st.Position > st.Duration*3/4 {
		t.Errorf("a file cut in half: %v, stats %+v", err, st)
	}
	t.Logf("half file: %d frames, %v of %v", st.Frames, st.Position, st.Duration)
}
