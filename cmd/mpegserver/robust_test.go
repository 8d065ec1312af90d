package main

import (
	"bufio"
	"errors"
	"io"
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

	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

const rawW, rawH = 64, 48

// stallingStdin gives n raw frames of rawW × rawH RGB, then holds the
// pipe open without writing, as a producer that hangs does, until the
// test ends. It is an OS pipe, so a command started with it as standard
// input can exit without exec waiting on a copy.
func stallingStdin(t *testing.T, n int) *os.File {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = pw.Write(make([]byte, rawW*rawH*3*n)) }()
	t.Cleanup(func() { pw.Close(); pr.Close() })
	return pr
}

// frameCount is ffprobe's count of decoded frames in a file.
func frameCount(t *testing.T, file string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ffprobe %s: %q", file, out)
	}
	return n
}

// pushRaw is push reading raw rawW × rawH frames from standard input.
func pushRaw(args ...string) []string {
	return append([]string{"push", "--input", "-", "--src-width", "64", "--src-height", "48", "--width", "64", "--height", "48", "--quiet"}, args...)
}

// TestDurationBeatsAStalledInput: with a producer that stalls after five
// frames, push ends at --duration all the same, exit 0, with the five
// frames written; and the same with a stream URL that stalls halfway.
func TestDurationBeatsAStalledInput(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	out := filepath.Join(t.TempDir(), "out.mkv")
	t0 := time.Now()
	_, stderr, code := runCmd(t, stallingStdin(t, 5), pushRaw("--duration", "2s", out)...)
	if took := time.Since(t0); code != 0 || took > 3*time.Second {
		t.Fatalf("stalled stdin: exit %d after %v (want 0 within --duration + 1 s)\n%s", code, took, stderr)
	}
	if n := frameCount(t, out); n != 5 {
		t.Errorf("%d frames written, want the 5 given", n)
	}
	t.Logf("stalled stdin, --duration 2s: exit 0 after %v", time.Since(t0).Round(time.Millisecond))

	url := testutil.StallingServer(t, testutil.FaststartClip(t, 4))
	out2 := filepath.Join(t.TempDir(), "out2.mkv")
	t0 = time.Now()
	_, stderr, code = runCmd(t, nil, "push", "--input", url, "--duration", "3s", "--quiet", out2)
	if took := time.Since(t0); code != 0 || took > 4*time.Second {
		t.Fatalf("stalled URL: exit %d after %v (want 0 within --duration + 1 s)\n%s", code, took, stderr)
	}
	if n := frameCount(t, out2); n == 0 || n >= 120 {
		t.Errorf("%d frames written from half a 120-frame file", n)
	}
	t.Logf("stalled URL, --duration 3s: exit 0 after %v", time.Since(t0).Round(time.Millisecond))
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the command once for the tests that send it signals.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the command")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mpegserver-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "mpegserver")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

// TestSignalsEndAStalledRun: SIGINT or SIGTERM ends push within
// --close-timeout + 1 s, exit 0, with what was served flushed, whether
// standard input or a stream URL is stalled.
func TestSignalsEndAStalledRun(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	bin := binary(t)
	url := testutil.StallingServer(t, testutil.FaststartClip(t, 4))
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, input := range []string{"-", url} {
			out := filepath.Join(t.TempDir(), "out.mkv")
			args := pushRaw()
			if input != "-" {
				args = []string{"push", "--input", input, "--quiet"}
			}
			cmd := exec.Command(bin, append(args, "--close-timeout", "2s", out)...)
			if input == "-" {
				cmd.Stdin = stallingStdin(t, 5)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			sc := bufio.NewScanner(stdout)
			for sc.Scan() && !strings.HasPrefix(sc.Text(), "Encoder:") {
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			// Frames were served: wait until the input has stalled.
			time.Sleep(500 * time.Millisecond)
			t0 := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				took := time.Since(t0)
				if err != nil || took > 3*time.Second {
					t.Errorf("%v with %s stalled: %v after %v\n%s", sig, input, err, took, stderr.String())
				}
				t.Logf("%v with %s stalled: exit after %v", sig, input, took.Round(time.Millisecond))
			case <-time.After(10 * time.Second):
				t.Fatalf("%v with %s stalled: still running 10 s later\n%s", sig, input, stderr.String())
			}
			if n := frameCount(t, out); n == 0 {
				t.Errorf("%v with %s stalled: nothing flushed", sig, input)
			}
		}
	}
}

// TestZeroFramesIsNoSuccess: an input with no frame fails the run and
// writes nothing; a file cut short plays what it has with a warning.
func TestZeroFramesIsNoSuccess(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mkv")
	_, stderr, code := runCmd(t, strings.NewReader(""), pushRaw(out)...)
	if code != 1 || !strings.Contains(stderr, "before its first frame") {
		t.Errorf("empty stdin: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty stdin left %s (%v)", out, err)
	}
	// Half of a 4 s file, as a download broken off leaves it.
	clip := testutil.FaststartClip(t, 4)
	data, _ := os.ReadFile(clip)
	if err := os.WriteFile(clip, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCmd(t, nil, "push", "--input", clip, "--quiet", filepath.Join(dir, "half.mkv"))
	if code != 0 || !strings.Contains(stderr, "cut short") {
		t.Errorf("half a file: exit %d, want 0 and a warning\n%s", code, stderr)
	}
}

// TestRecordOnFullDisk: a record to a full device beside a file: the file
// has every frame, the summary says which output failed, exit 1.
func TestRecordOnFullDisk(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	out := filepath.Join(t.TempDir(), "out.mkv")
	stdout, stderr, code := runCmd(t, nil, "push", "--frames", "60", "--quiet", "--record", "/dev/full", out)
	if code != 1 || !regexpMatch(`/dev/full: \d+ frames, \d+ bytes, failed: .*No space left`, stdout) ||
		!regexpMatch(`out\.mkv: 60 frames, \d+ bytes, ok`, stdout) {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
	if n := frameCount(t, out); n != 60 {
		t.Errorf("%s has %d frames, want 60", out, n)
	}
}

// TestNothingWrittenWhenSetupFails: a record that cannot be written fails
// the run before the stream's file is touched.
func TestNothingWrittenWhenSetupFails(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, "o6.mkv")
	if err := os.WriteFile(precious, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCmd(t, nil, "push", "--frames", "60", "--quiet", "--record", filepath.Join(dir, "nonexistent", "r.mkv"), precious)
	if b, _ := os.ReadFile(precious); code != 1 || string(b) != "precious\n" {
		t.Errorf("exit %d, %s now holds %q\n%s", code, precious, b, stderr)
	}
}

// TestFlagsThatDoNothingAreRefused: what the user typed wrong is exit 2,
// with the reason; what the machine or the input lacks is exit 1.
func TestFlagsThatDoNothingAreRefused(t *testing.T) {
	dir := t.TempDir()
	same := filepath.Join(dir, "x.mkv")
	wd, _ := os.Getwd()
	rel, _ := filepath.Rel(wd, same)
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"push", "--pix-fmt", "bgr24", "--frames", "1", same}, 2, "--pix-fmt"},
		{[]string{"push", "--listen", "127.0.0.1:0", "--frames", "1", same}, 2, "--listen is for the embedded server"},
		{[]string{"push", "--path", "cam", "--frames", "1", same}, 2, "--path"},
		{[]string{"push", "--http", "127.0.0.1:0", "--frames", "1", same}, 2, "--http"},
		{[]string{"push", "--record", filepath.Join(dir, "a.mkv"), "--record", filepath.Join(dir, "b.mkv"), same}, 2, "given twice"},
		{[]string{"push", "--record", rel, same}, 2, "own address"},
		{[]string{"push", "--record", "file://" + same, same}, 2, "own address"},
		{[]string{"push", "--listen", "127.0.0.1:99999", "--frames", "1"}, 2, "port"},
		{[]string{"serve", "--listen", "127.0.0.1:99999"}, 2, "port"},
		{[]string{"serve", "--http", "127.0.0.1:70000", "--listen", "127.0.0.1:0"}, 2, "port"},
	} {
		_, stderr, code := runCmd(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.says) {
			t.Errorf("%q: exit %d, want %d saying %q\n%s", tc.args, code, tc.code, tc.says, stderr)
		}
	}
	if _, err := os.Stat(same); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command line wrote %s", same)
	}
	// localhost is loopback.
	_, stderr, code := runCmd(t, nil, "push", "--http", "localhost:0", "--listen", "127.0.0.1:0", "--frames", "3", "--quiet")
	if code != 0 {
		t.Errorf("--http localhost:0: exit %d\n%s", code, stderr)
	}
}

// TestInputTooWideIsNotAUsageError: an input whose own size cannot be
// streamed is the input's fault (exit 1, saying how to scale it), not the
// command line's.
func TestInputTooWideIsNotAUsageError(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	wide := filepath.Join(t.TempDir(), "wide.mkv")
	if b, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=size=16400x16:rate=5:duration=1",
		"-c:v", "ffv1", wide).CombinedOutput(); err != nil {
		t.Skipf("ffmpeg cannot make a 16400-wide file here: %v\n%s", err, b)
	}
	_, stderr, code := runCmd(t, nil, "push", "--input", wide, "--quiet", filepath.Join(t.TempDir(), "out.mkv"))
	if code != 1 || !strings.Contains(stderr, "cannot be streamed with its own settings") || strings.Contains(stderr, "--help") {
		t.Errorf("exit %d\n%s", code, stderr)
	}
}

// TestDumpWithoutPluginsIsExit1: a GStreamer element missing on the
// machine is not a usage error.
func TestDumpWithoutPluginsIsExit1(t *testing.T) {
	bin := binary(t)
	cmd := exec.Command(bin, "dump", "rtsp://127.0.0.1:8554/x")
	// An empty plugin path and a registry of its own: no plugin at all.
	cmd.Env = append(os.Environ(), "GST_PLUGIN_SYSTEM_PATH_1_0="+t.TempDir(), "GST_PLUGIN_PATH_1_0=",
		"GST_REGISTRY_1_0="+filepath.Join(t.TempDir(), "registry.bin"))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "not installed") {
		t.Errorf("dump with no plugins: %v\n%s", err, out)
	}
}

// TestNoReconnectEndsWithARecord: with --no-reconnect the loss of the
// server ends the run even though the record could go on (cli.md), and
// the record is a whole file.
func TestNoReconnectEndsWithARecord(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	relay := testutil.StartRelay(t)
	rec := filepath.Join(t.TempDir(), "rec.mkv")
	cmd := start(t, nil, "push", "--no-reconnect", "--duration", "30s", "--width", "320", "--height", "240",
		"--record", rec, relay.URL("cam"))
	if err := relay.WaitPublisher(testutil.Context(t, 10*time.Second), "cam"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	relay.Close()
	out, code := cmd.wait(t)
	errOut := cmd.stderr.String()
	if code != 1 || time.Since(t0) > 10*time.Second || !strings.Contains(errOut, "without --no-reconnect") {
		t.Errorf("exit %d after %v\nstdout:\n%s\nstderr:\n%s", code, time.Since(t0), out, errOut)
	}
	if n := frameCount(t, rec); n == 0 {
		t.Errorf("the record holds no frame")
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
