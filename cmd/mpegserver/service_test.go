package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// notifySocket listens where a supervisor would (NOTIFY_SOCKET) and hands
// each datagram on.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	got := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			got <- string(buf[:n])
		}
	}()
	return path, got
}

func waitNotify(t *testing.T, got <-chan string, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-got:
			if strings.Contains(m, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q from the command within 10 s", want)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPushAsAService runs push as systemd runs it: it says READY once the
// stream is up and STOPPING at SIGTERM, serves /metrics and the probes,
// logs JSON records without the password, and on SIGTERM delivers every
// frame it served (counted at the server) and exits 0 within the close
// timeout.
func TestPushAsAService(t *testing.T) {
	bin := binary(t)
	relay := testutil.StartRelay(t)
	sock, notes := notifySocket(t)
	const password = "s3cretpw42"
	addr := strings.Replace(relay.URL("cam"), "rtsp://", "rtsp://pub:"+password+"@", 1)
	cmd := exec.Command(bin, "push", "--metrics", "127.0.0.1:0", "--name", "cam", "--log-format", "json",
		"--close-timeout", "5s", "--width", "320", "--height", "240", addr)
	cmd.Env = append(cmd.Environ(), "NOTIFY_SOCKET="+sock)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var out syncBuffer
	metricsURL := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`^Metrics: (http://\S+)/metrics`)
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				metricsURL <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-metricsURL:
	case <-time.After(20 * time.Second):
		t.Fatalf("no metrics address:\n%s%s", out.String(), stderr.String())
	}
	waitNotify(t, notes, "READY=1")
	if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserver.PathInfo) bool { return i.Frames >= 30 }); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz while streaming: %d", code)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK || !regexp.MustCompile(`(?m)^mpegserver_frames_pushed_total\{stream="cam"\} [1-9]`).MatchString(body) ||
		!strings.Contains(body, "go_goroutines") || strings.Contains(body, password) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}

	t0 := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitNotify(t, notes, "STOPPING=1")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	if took := time.Since(t0); took > 6*time.Second {
		t.Errorf("SIGTERM to exit: %v, want within the close timeout (5 s) and the race detector's exit", took)
	}
	m := regexp.MustCompile(`Summary: (\d+) frames`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary:\n%s", out.String())
	}
	served, _ := strconv.Atoi(m[1])
	if got := relay.Info("cam").Frames; got != uint64(served) {
		t.Errorf("the server received %d frames of the %d served", got, served)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON record: %q", line)
			continue
		}
		msgs = append(msgs, rec["msg"].(string))
	}
	if s := strings.Join(msgs, "|"); !strings.Contains(s, "stream set up") || !strings.Contains(s, "stream closed") {
		t.Errorf("log records: %v", msgs)
	}
	if strings.Contains(stderr.String()+out.String(), password) {
		t.Errorf("the password is in the output:\n%s%s", out.String(), stderr.String())
	}
}

// TestServeMetrics: serve exports the relay's paths and readers; a
// --metrics address other machines could reach needs --metrics-public.
func TestServeMetrics(t *testing.T) {
	cmd := start(t, nil, "serve", "--listen", "127.0.0.1:0", "--http", "", "--metrics", "127.0.0.1:0", "--quiet")
	base := cmd.line(t, regexp.MustCompile(`^Metrics: (http://\S+)/metrics`))
	if code, body := get(t, base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "mpegserver_relay_paths 0") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d", code)
	}
	cmd.cancel()
	if _, code := cmd.wait(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	for _, args := range [][]string{
		{"serve", "--metrics", "0.0.0.0:0"},
		{"push", "--metrics", "0.0.0.0:0", "--frames", "1"},
		{"push", "--log-format", "xml", "--frames", "1"},
		{"push", "--log-level", "loud", "--frames", "1"},
	} {
		if _, stderr, code := runCmd(t, nil, args...); code != 2 {
			t.Errorf("%q: exit %d\n%s", args, code, stderr)
		}
	}
}

// TestDeployCommandLines: the command lines of the systemd unit and the
// Kubernetes example in deploy/ run as written, with the camera, the
// server and the metrics port swapped for local ones.
func TestDeployCommandLines(t *testing.T) {
	relay := testutil.StartRelay(t)
	clip, err := filepath.Abs("../../testdata/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("../../deploy/mpegserver@.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=\S+ (.*)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("no ExecStart in the unit")
	}
	fromUnit := strings.NewReplacer("%i", "cam1", "${INPUT}", clip, "${METRICS}", "127.0.0.1:0", "${OUTPUT}", relay.URL("unit")).
		Replace(string(m[1]))
	yaml, err := os.ReadFile("../../deploy/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var fromYAML []string
	inArgs := false
	for _, line := range strings.Split(string(yaml), "\n") {
		switch trimmed := strings.TrimSpace(line); {
		case trimmed == "args:":
			inArgs = true
		case inArgs && strings.HasPrefix(trimmed, "- "):
			fromYAML = append(fromYAML, strings.TrimPrefix(trimmed, "- "))
		default:
			inArgs = false
		}
	}
	for i, a := range fromYAML {
		switch {
		case strings.HasPrefix(a, "--input="):
			fromYAML[i] = "--input=" + clip
		case strings.HasPrefix(a, "--metrics="):
			fromYAML[i] = "--metrics=127.0.0.1:0"
		case strings.HasPrefix(a, "rtsp://"):
			fromYAML[i] = relay.URL("k8s")
		}
	}
	for name, args := range map[string][]string{"unit": strings.Fields(fromUnit), "kubernetes": fromYAML} {
		if len(args) < 3 || args[0] != "push" {
			t.Fatalf("%s: command line %q", name, args)
		}
		args = append(args, "--frames", "10", "--quiet")
		if stdout, stderr, code := runCmd(t, nil, args...); code != 0 || !strings.Contains(stdout, "Metrics: http://127.0.0.1:") {
			t.Errorf("%s: %q: exit %d\n%s%s", name, args, code, stdout, stderr)
		}
	}
}

// TestPushRTMPSAndBackup: push over RTMPS as a user types it, trusting a
// self-signed server by its certificate; a backup address that cannot
// stand in for the address is refused before anything starts.
func TestPushRTMPSAndBackup(t *testing.T) {
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{})
	port := m.RTMPS[strings.LastIndex(m.RTMPS, ":"):]
	stdout, stderr, code := runCmd(t, nil, "push", "--tls-ca", m.CA, "--frames", "90", "--frame-ahead", "1", "--quiet",
		"rtmps://127.0.0.1"+port+"/live/cmd")
	if code != 0 {
		t.Errorf("push rtmps: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := runCmd(t, nil, "push", "--frames", "1", "rtmps://127.0.0.1"+port+"/live/x"); code != 1 ||
		!strings.Contains(stderr, "--tls-ca") {
		t.Errorf("push rtmps without the CA: exit %d\n%s", code, stderr)
	}
	for _, args := range [][]string{
		{"push", "--backup", "/tmp/x.mkv", "--frames", "1", "rtmp://127.0.0.1:1/live/x"},
		{"push", "--backup", "rtmp://127.0.0.1:1/live/y", "--record", "/tmp/r.mkv", "--frames", "1", "rtmp://127.0.0.1:1/live/x"},
	} {
		if _, stderr, code := runCmd(t, nil, args...); code != 2 {
			t.Errorf("%q: exit %d\n%s", args, code, stderr)
		}
	}
}
