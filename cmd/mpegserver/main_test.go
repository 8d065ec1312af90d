package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/internal/testpattern"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// started is a command running in-process: its standard output line by
// line as it comes, and its exit code once it ends.
type started struct {
	lines  chan string // every line of standard output; closed at its end
	out    syncBuffer  // all of standard output
	stderr *syncBuffer
	code   chan int
	cancel context.CancelFunc // what Ctrl-C does
}

// start runs a command line in-process, as main would, with its own
// context and standard streams. Standard output is read as it comes, so
// the command never blocks on it.
func start(t *testing.T, stdin io.Reader, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(testutil.Context(t, 60*time.Second))
	pr, pw := io.Pipe()
	st := &started{lines: make(chan string, 1024), stderr: &syncBuffer{}, code: make(chan int, 1), cancel: cancel}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			st.out.Write([]byte(sc.Text() + "\n"))
			st.lines <- sc.Text()
		}
		close(st.lines)
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		code := run(env{ctx: ctx, stdin: stdin, stdout: pw, stderr: st.stderr}, args)
		pw.Close()
		st.code <- code
	}()
	t.Cleanup(cancel)
	return st
}

// line waits for a line of standard output that matches re and returns
// its first group.
func (st *started) line(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	for l := range st.lines {
		if m := re.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no line matching %s in output:\n%s%s", re, st.out.String(), st.stderr.String())
	return ""
}

// wait waits for the command to end and returns its standard output and
// exit code.
func (st *started) wait(t *testing.T) (stdout string, code int) {
	t.Helper()
	select {
	case code = <-st.code:
	case <-time.After(60 * time.Second):
		t.Fatalf("command still running after 60 s:\n%s", st.out.String())
	}
	for range st.lines {
	}
	return st.out.String(), code
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// runCmd runs a command line in-process to completion and returns its
// outputs and exit code.
func runCmd(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e syncBuffer
	code = run(env{ctx: testutil.Context(t, 60*time.Second), stdin: stdin, stdout: &o, stderr: &e}, args)
	return o.String(), e.String(), code
}

var summaryRE = regexp.MustCompile(`Summary: (\d+) frames`)

func summaryFrames(t *testing.T, out string) int {
	t.Helper()
	m := summaryRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in output:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestPushTestsrcLosesNothing: the command serves its pattern to its own
// embedded server while ffmpeg decodes the stream, until ffmpeg has read
// 90 frames and the command is stopped as Ctrl-C stops it; the frame
// indices read back from the pictures are consecutive up to the last frame
// served.
func TestPushTestsrcLosesNothing(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	const w, h, enough = 640, 360, 90
	// --duration only bounds a run the test fails to stop: ffmpeg takes a
	// while to join, longer on a loaded machine, and what is checked is
	// the frames it reads, not how many seconds they took.
	cmd := start(t, nil, "push", "--duration", "30s", "--listen", "127.0.0.1:0", "--gop", "10", "--frame-ahead", "2", "--quiet")
	url := cmd.line(t, regexp.MustCompile(`to (rtsp://\S+)`))
	// The stream exists once the first frame is announced: ask until it does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := rtsptest.Read(url)
		if err == nil {
			r.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream never appeared at %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ff := exec.CommandContext(testutil.Context(t, 60*time.Second), "ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url,
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-fps_mode", "passthrough", "-")
	raw, err := ff.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ff.Start(); err != nil {
		t.Fatal(err)
	}
	var indexes []int
	frame := make([]byte, w*h*3)
	for {
		if _, err := io.ReadFull(raw, frame); err != nil {
			break
		}
		i, ok := testpattern.Decode(frame, w, h)
		if !ok {
			t.Fatalf("frame %d after %v: index not readable", len(indexes), indexes[max(0, len(indexes)-3):])
		}
		indexes = append(indexes, i)
		if len(indexes) == enough {
			cmd.cancel() // Ctrl-C: push flushes what it served and ends the stream
		}
	}
	_ = ff.Wait()
	out, code := cmd.wait(t)
	if code != 0 {
		t.Fatalf("push: exit %d\n%s%s", code, out, cmd.stderr.String())
	}
	pushed := summaryFrames(t, out)
	if len(indexes) < enough {
		t.Fatalf("decoded only %d frames", len(indexes))
	}
	for k := 1; k < len(indexes); k++ {
		if indexes[k] != indexes[k-1]+1 {
			t.Fatalf("frame index %d follows %d: lost or repeated frames", indexes[k], indexes[k-1])
		}
	}
	if last := indexes[len(indexes)-1]; last != pushed-1 {
		t.Errorf("last frame decoded is %d, the command served %d (0..%d)", last, pushed, pushed-1)
	}
	t.Logf("served %d frames; decoded %d consecutive, %d..%d", pushed, len(indexes), indexes[0], indexes[len(indexes)-1])
}

// TestPushStdin: raw frames from ffmpeg on standard input arrive with the
// right size and count.
func TestPushStdin(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	const n = 45
	relay := testutil.StartRelay(t)
	gen := exec.CommandContext(testutil.Context(t, 60*time.Second), "ffmpeg", "-v", "error", "-f", "lavfi",
		"-i", "testsrc=size=320x240:rate=30", "-frames:v", strconv.Itoa(n), "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	pipe, err := gen.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	push := start(t, pipe, "push", "--input", "-", "--src-width", "320", "--src-height", "240",
		"--width", "320", "--height", "240", "--quiet", relay.URL("stdin"))
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "stdin"); err != nil {
		t.Fatal(err)
	}
	r, err := rtsptest.Read(relay.URL("stdin"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out, code := push.wait(t)
	if err := gen.Wait(); err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("push: exit %d\n%s%s", code, out, push.stderr.String())
	}
	if err := relay.WaitUnpublished(testutil.Context(t, 10*time.Second), "stdin"); err != nil {
		t.Fatal(err)
	}
	if got := relay.Info("stdin").Frames; got != n {
		t.Errorf("server received %d frames, want %d", got, n)
	}
	if got := summaryFrames(t, out); got != n {
		t.Errorf("summary says %d frames, want %d", got, n)
	}
	if err := r.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if w, h, err := r.Size(); err != nil || w != 320 || h != 240 {
		t.Errorf("reader sees %dx%d (%v), want 320x240", w, h, err)
	}
}

// TestPushStdinFormats: every --pix-fmt takes its own frame size, odd
// sizes included (4:2:0 chroma rounds up, as ffmpeg writes it).
func TestPushStdinFormats(t *testing.T) {
	relay := testutil.StartRelay(t)
	for _, fmtName := range mpegserver.PixelFormatNames() {
		const frames = 3
		f, err := mpegserver.ParsePixelFormat(fmtName)
		if err != nil {
			t.Fatal(err)
		}
		in := bytes.Repeat([]byte{100}, f.FrameSize(63, 47)*frames)
		path := "fmt-" + fmtName
		out, errOut, code := runCmd(t, bytes.NewReader(in), "push", "--input", "-", "--pix-fmt", fmtName,
			"--src-width", "63", "--src-height", "47", "--width", "64", "--height", "48", "--quiet", relay.URL(path))
		if code != 0 || summaryFrames(t, out) != frames {
			t.Errorf("%s: exit %d\n%s%s", fmtName, code, out, errOut)
		}
	}
}

func TestPushShortLastFrame(t *testing.T) {
	relay := testutil.StartRelay(t)
	in := bytes.Repeat([]byte{7}, 320*240*3+1000)
	_, errOut, code := runCmd(t, bytes.NewReader(in), "push", "--input", "-", "--src-width", "320",
		"--src-height", "240", "--quiet", relay.URL("short"))
	if code != 1 || !strings.Contains(errOut, "got 1000 of 230400 bytes") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{}, {"nope"}, {"push", "--bogus"}, {"push", "--width", "abc"}, {"push", "a", "b"},
		{"push", "ftp://host/x"}, {"push", "--input", ""}, {"push", "--pix-fmt", "yuv444p"},
		{"push", "--framerate", "fast"}, {"push", "--gop", "0"}, {"push", "--codec", "vp7", "rtsp://h/x"},
		{"push", "--width", "100", "--height", "20"}, {"dump", "--bitrate", "-1"}, {"serve", "extra"},
		{"encoders", "x"}, {"push", "--frame-ahead", "-5"}, {"push", "--blocking"},
	} {
		_, errOut, code := runCmd(t, nil, args...)
		if code != 2 || len(strings.TrimSpace(errOut)) == 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestHelpGoesToStdout: --help of every command prints its usage on
// standard output, nothing on standard error, and exits 0.
func TestHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"push", "--help"}, {"serve", "--help"}, {"dump", "-h"}, {"encoders", "--help"}} {
		out, errOut, code := runCmd(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage") || errOut != "" {
			t.Errorf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
	}
	out, _, _ := runCmd(t, nil, "push", "--help")
	if !strings.Contains(out, "--input -") || !strings.Contains(out, "-frame-ahead") || !strings.Contains(out, "-nonblocking") {
		t.Errorf("push --help lacks flags:\n%s", out)
	}
}

// TestPushNonblocking: --nonblocking serves with ServeFrame and WaitRef and
// still delivers every frame read.
func TestPushNonblocking(t *testing.T) {
	const n = 20
	relay := testutil.StartRelay(t)
	in := bytes.Repeat([]byte{90}, 64*48*3*n)
	out, errOut, code := runCmd(t, bytes.NewReader(in), "push", "--nonblocking", "--input", "-",
		"--src-width", "64", "--src-height", "48", "--width", "64", "--height", "48", "--quiet", relay.URL("nb"))
	if code != 0 || summaryFrames(t, out) != n {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if err := relay.WaitUnpublished(testutil.Context(t, 10*time.Second), "nb"); err != nil {
		t.Fatal(err)
	}
	if got := relay.Info("nb").Frames; got != n {
		t.Errorf("server received %d frames, want %d", got, n)
	}
}

func TestUnreachableExit1WithinBound(t *testing.T) {
	closed := testutil.FreeAddr(t)
	silent := testutil.SilentServer(t)
	for _, addr := range []string{closed, silent} {
		t0 := time.Now()
		_, errOut, code := runCmd(t, nil, "push", "--setup-timeout", "1s", "--quiet", "rtsp://"+addr+"/x")
		if el := time.Since(t0); code != 1 || el > 5*time.Second || !strings.Contains(errOut, "unreachable") {
			t.Errorf("%s: exit %d after %v\n%s", addr, code, el, errOut)
		}
	}
}

// TestDumpRuns: the printed line runs in gst-launch-1.0 with appsrc
// swapped for a live test source, and --dot writes the graph.
func TestDumpRuns(t *testing.T) {
	testutil.NeedTool(t, "gst-launch-1.0")
	relay := testutil.StartRelay(t)
	dot := filepath.Join(t.TempDir(), "p.dot")
	out, errOut, code := runCmd(t, nil, "dump", "--width", "320", "--height", "240", "--gop", "10", "--dot", dot, relay.URL("dump"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if g, err := os.ReadFile(dot); err != nil || !bytes.Contains(g, []byte("digraph")) || !bytes.Contains(g, []byte("x264enc")) {
		t.Errorf("dot file: %v", err)
	}
	line := strings.TrimSpace(out)
	i, j := strings.Index(line, "appsrc"), strings.Index(line, " ! ")
	run := line[:i] + "videotestsrc is-live=true num-buffers=60" + line[j:]
	words, err := exec.Command("sh", "-c", "printf '%s\\n' "+strings.TrimPrefix(run, "gst-launch-1.0 ")).Output()
	if err != nil {
		t.Fatal(err)
	}
	gst := exec.CommandContext(testutil.Context(t, 60*time.Second), "gst-launch-1.0", strings.Split(strings.TrimSpace(string(words)), "\n")...)
	gst.WaitDelay = time.Second
	var gout bytes.Buffer
	gst.Stdout, gst.Stderr = &gout, &gout
	if err := gst.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gst.Process.Kill(); _ = gst.Wait() }()
	if err := relay.Wait(testutil.Context(t, 20*time.Second), "dump", func(i rtspserver.PathInfo) bool { return i.Frames >= 60 }); err != nil {
		t.Fatalf("%v\n%s\n%s", err, run, gout.String())
	}
}

func TestEncodersCommand(t *testing.T) {
	out, _, code := runCmd(t, nil, "encoders")
	if code != 0 || !regexp.MustCompile(`x264enc\s+h264\s+software\s+yes\s+.*libx264`).MatchString(out) ||
		!regexp.MustCompile(`nvh264enc\s+h264\s+hardware\s+(yes|no)\s+.*h264_nvenc`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^h264: \S+ \((software|hardware)`).MatchString(out) {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestServeCommand: `serve` runs a relay that the library can publish to
// and a reader can play, and stops cleanly when cancelled (Ctrl-C).
func TestServeCommand(t *testing.T) {
	cmd := start(t, nil, "serve", "--listen", "127.0.0.1:0")
	base := cmd.line(t, regexp.MustCompile(`RTSP server on (rtsp://\S+)`))
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Size(320, 240), mpegserver.FrameAhead(0))
	if err := s.Setup(base + "/cam"); err != nil {
		t.Fatal(err)
	}
	fr := make([]byte, 320*240*3)
	if err := s.ServeFrameBlock(fr); err != nil {
		t.Fatal(err)
	}
	var r *rtsptest.Reader
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for r == nil {
		r, err = rtsptest.Read(base + "/cam")
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			if err := s.ServeFrameBlock(fr); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer r.Close()
	for i := 0; i < 10; i++ {
		if err := s.ServeFrameBlock(fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.WaitFrames(testutil.Context(t, 10*time.Second), 5); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	cmd.cancel()
	if out, code := cmd.wait(t); code != 0 || !strings.Contains(out, "stopping") {
		t.Errorf("serve after cancel: exit %d\n%s", code, out)
	}
}

// TestBinary builds the command once and runs it as a user does: the
// signal handling in main, exit codes, and help on standard output.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := filepath.Join(t.TempDir(), "mpegserver")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "--help").Output(); err != nil || !strings.Contains(string(out), "Usage") {
		t.Errorf("--help: %v\n%s", err, out)
	}
	var ee *exec.ExitError
	if err := exec.Command(bin, "nope").Run(); !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("unknown command: %v, want exit 2", err)
	}
	cmd := exec.CommandContext(testutil.Context(t, 60*time.Second), bin, "serve", "--listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.Contains(sc.Text(), "RTSP server on") {
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGINT: %v", err)
	}
}

// TestPushReconnects: push keeps going when its server restarts, says so,
// and counts what it dropped meanwhile.
func TestPushReconnects(t *testing.T) {
	addr := testutil.FreeAddr(t)
	relay := &rtspserver.Server{Address: addr}
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	// --duration only bounds a run the test fails to stop: the test stops
	// it once it has reconnected, however long that took.
	cmd := start(t, nil, "push", "--duration", "30s", "--width", "320", "--height", "240", "--frame-ahead", "1", "rtsp://"+addr+"/cam")
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "cam"); err != nil {
		t.Fatal(err)
	}
	relay.Close()
	cmd.waitStderr(t, "connection lost", 10*time.Second)
	time.Sleep(500 * time.Millisecond) // the server stays away a while: frames are dropped meanwhile
	relay = &rtspserver.Server{Address: addr}
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	cmd.waitStderr(t, "reconnected", 20*time.Second)
	cmd.cancel() // Ctrl-C
	out, code := cmd.wait(t)
	errOut := cmd.stderr.String()
	if code != 0 || !regexp.MustCompile(`1 reconnects, down \d+\.\d+ s \([1-9]\d* frames dropped`).MatchString(out) {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// waitStderr waits until the command has written substr on standard
// error.
func (st *started) waitStderr(t *testing.T, substr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(st.stderr.String(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q on standard error within %v:\n%s", substr, within, st.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPushNoReconnectExits1: with --no-reconnect the first loss ends push
// with status 1 and says what to do.
func TestPushNoReconnectExits1(t *testing.T) {
	relay := testutil.StartRelay(t)
	cmd := start(t, nil, "push", "--no-reconnect", "--duration", "30s", "--width", "320", "--height", "240", relay.URL("cam"))
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "cam"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	relay.Close()
	out, code := cmd.wait(t)
	errOut := cmd.stderr.String()
	if code != 1 || time.Since(t0) > 5*time.Second || !strings.Contains(errOut, "disconnected") ||
		!strings.Contains(errOut, "without --no-reconnect") {
		t.Errorf("exit %d after %v\nstdout:\n%s\nstderr:\n%s", code, time.Since(t0), out, errOut)
	}
}

// TestPushInputFile restreams a file with its settings copied: the output
// has the source's size, rate and every frame; flags given win over the
// copied values; a missing source fails with exit 1.
func TestPushInputFile(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	src, err := filepath.Abs("../../testdata/clip.mp4") // 320x240, 30/1, 60 frames
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string // ffprobe: codec,width,height,rate,frames
	}{
		{nil, "h264,320,240,30/1,60"},
		{[]string{"--width", "640", "--height", "480", "--framerate", "15", "--codec", "libx265"}, "hevc,640,480,15/1,60"},
		{[]string{"--src-width", "160", "--src-height", "120"}, "h264,320,240,30/1,60"},
	} {
		out := filepath.Join(t.TempDir(), "out.mkv")
		args := append(append([]string{"push", "--quiet", "--input", src}, tc.args...), out)
		stdout, stderr, code := runCmd(t, nil, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", tc.args, code, stdout, stderr)
		}
		if !strings.Contains(stdout, "Reading file://"+src+": h264 320x240 at 30/1 fps") {
			t.Errorf("stdout:\n%s", stdout)
		}
		probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
			"stream=codec_name,width,height,r_frame_rate,nb_read_frames", "-of", "csv=p=0", out).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(probe)); got != tc.want {
			t.Errorf("%v: ffprobe %s, want %s", tc.args, got, tc.want)
		}
	}
	_, stderr, code := runCmd(t, nil, "push", "--input", filepath.Join(t.TempDir(), "missing.mp4"), filepath.Join(t.TempDir(), "o.mkv"))
	if code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing input: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCmd(t, nil, "push", "--input", src, "--src-width", "160", filepath.Join(t.TempDir(), "o.mkv"))
	if code != 2 {
		t.Errorf("half a resize: exit %d, %s", code, stderr)
	}
}

// TestPushInputStream restreams a live RTSP stream (the library publishing
// to the relay) into a file: the stream's size is copied.
func TestPushInputStream(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240), mpegserver.FrameAhead(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Setup(relay.URL("cam")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 320*240*3)
		for i := 0; s.ServeFrameContext(ctx, b) == nil; i++ {
			testpattern.Draw(b, 320, 240, i, time.Now())
		}
	}()
	defer func() { cancel(); <-done; s.Close() }()
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "cam"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.mkv")
	stdout, stderr, code := runCmd(t, nil, "push", "--quiet", "--input", relay.URL("cam"), "--frames", "30", out)
	if code != 0 || !strings.Contains(stdout, "320x240") || !strings.Contains(stdout, ", live;") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
		"stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(probe)); got != "h264,320,240,30" {
		t.Errorf("ffprobe %s", got)
	}
}

// TestPushRecord: push --record writes the stream it sends to a file as
// well, with every frame, and the summary lists both outputs.
func TestPushRecord(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	rec := filepath.Join(t.TempDir(), "rec.mkv")
	stdout, stderr, code := runCmd(t, nil, "push", "--quiet", "--frames", "45", "--width", "320", "--height", "240",
		"--listen", "127.0.0.1:0", "--record", rec)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Recording to "+rec+" too") || !strings.Contains(stdout, "Encoder: x264enc (software)") ||
		!regexp.MustCompile(rec+`: 45 frames, \d+ bytes, ok`).MatchString(stdout) {
		t.Errorf("stdout:\n%s", stdout)
	}
	probe, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
		"stream=codec_name,width,height,nb_read_frames", "-of", "csv=p=0", rec).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(probe)); got != "h264,320,240,45" {
		t.Errorf("record: %s", got)
	}
}

// TestServeBrowserView: serve prints the browser URL first and serves the
// page there; a non-loopback --http needs --http-public.
func TestServeBrowserView(t *testing.T) {
	cmd := start(t, nil, "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0")
	url := cmd.line(t, regexp.MustCompile(`Watch in a browser: (http://127\.0\.0\.1:\d+/video)`))
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "RTCPeerConnection") {
		t.Errorf("GET %s: %s", url, res.Status)
	}
	if res, err := http.Get(strings.TrimSuffix(url, "video")); err != nil || res.StatusCode != 404 {
		t.Errorf("GET /: %v %v (no listing)", res.Status, err)
	}
	_, stderr, code := runCmd(t, nil, "serve", "--listen", "127.0.0.1:0", "--http", "0.0.0.0:0")
	if code != 2 || !strings.Contains(stderr, "--http-public") {
		t.Errorf("non-loopback --http without --http-public: exit %d, %s", code, stderr)
	}
}
