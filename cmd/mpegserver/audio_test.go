package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// probeAudio is the codec of a file's audio ("" without) and the file's
// duration.
func probeAudio(t *testing.T, file string) (codec string, seconds float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name:format=duration",
		"-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	// MPEG-TS lists the stream under its program too: the codec first,
	// the file's duration last.
	f := strings.Fields(strings.ReplaceAll(string(out), ",", " "))
	if len(f) >= 2 {
		codec = f[0]
		seconds, _ = strconv.ParseFloat(f[len(f)-1], 64)
	}
	return codec, seconds
}

// TestPushAudioSilent: push --audio silent as a user types it, over
// RTMPS to mediamtx (its self-signed certificate given with --tls-ca) and
// over RTMP to nginx-rtmp: each server's recording has an AAC track
// beside the video.
func TestPushAudioSilent(t *testing.T) {
	testutil.NeedTool(t, "ffprobe")
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{})
	port := m.RTMPS[strings.LastIndex(m.RTMPS, ":"):]
	srv := testutil.StartRTMP(t)
	for _, tc := range []struct {
		args []string
		rec  func() string
	}{
		{[]string{"--tls-ca", m.CA, "rtmps://127.0.0.1" + port + "/live/cam"}, func() string {
			if !m.WaitLog("[path live/cam] [recorder] recording stopped", 1, 10*time.Second) {
				t.Fatalf("mediamtx did not stop recording:\n%s", m.Log())
			}
			return m.Recordings("live/cam")[0]
		}},
		{[]string{srv.URL + "/cam"}, func() string {
			srv.WaitLog(t, "deleteStream", 2, 10*time.Second)
			return filepath.Join(srv.Dir, "cam.flv")
		}},
	} {
		args := append([]string{"push", "--audio", "silent", "--frames", "90", "--quiet", "--width", "320", "--height", "240"}, tc.args...)
		stdout, stderr, code := runCmd(t, nil, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d\n%s%s", args, code, stdout, stderr)
		}
		if !strings.Contains(stdout, "Audio: silent, 2 channels, 128 kbit/s") || !strings.Contains(stdout, "s of silence filled in") {
			t.Errorf("%q: stdout:\n%s", args, stdout)
		}
		// mediamtx records from its track analysis on, a second or two in.
		if codec, secs := probeAudio(t, tc.rec()); codec != "aac" || secs < 0.5 {
			t.Errorf("%q: recorded audio %q, %.2f s; want AAC beside 3 s of frames", args, codec, secs)
		}
	}
}

// TestPushAudioFile: --audio FILE decodes the file and serves it beside
// the frames; --audio-end says what follows its end: loop plays it again
// for the whole run, stop ends the run with it.
func TestPushAudioFile(t *testing.T) {
	testutil.NeedTool(t, "ffmpeg")
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", tone).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	for _, tc := range []struct {
		end     string
		frames  int // --frames
		minSecs float64
		maxSecs float64
	}{
		{"loop", 90, 2.8, 3.2}, // three times the file
		{"stop", 0, 0.9, 1.5},  // the run ends with the file
	} {
		out := filepath.Join(dir, tc.end+".mp4")
		args := []string{"push", "--audio", tone, "--audio-end", tc.end, "--audio-channels", "1", "--quiet", out}
		if tc.frames > 0 {
			args = append(args, "--frames", strconv.Itoa(tc.frames))
		}
		stdout, stderr, code := runCmd(t, nil, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", tc.end, code, stdout, stderr)
		}
		codec, secs := probeAudio(t, out)
		t.Logf("--audio-end %s: %s, %.2f s; %s", tc.end, codec, secs, summaryLine(stdout))
		if codec != "aac" || secs < tc.minSecs || secs > tc.maxSecs || !strings.Contains(stdout, "(at its end: "+tc.end+")") {
			t.Errorf("--audio-end %s: %q, %.2f s, want %.1f–%.1f s\n%s", tc.end, codec, secs, tc.minSecs, tc.maxSecs, stdout)
		}
	}
}

func summaryLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Summary:") {
			return l
		}
	}
	return ""
}

// TestPushAudioRefusals: audio flags that do nothing or cannot work are
// refused before anything is written: usage errors exit 2, a source that
// cannot be read exits 1.
func TestPushAudioRefusals(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.mkv")
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"push", "--audio-end", "loop", out}, 2, "no effect without --audio"},
		{[]string{"push", "--audio-channels", "1", out}, 2, "no effect without --audio"},
		{[]string{"push", "--audio", "silent", "--audio-end", "loop", out}, 2, "a silent track never ends"},
		{[]string{"push", "--audio", "tone.wav", "--audio-end", "forever", out}, 2, "--audio-end \"forever\""},
		{[]string{"push", "--audio", "silent", "--audio-channels", "6", out}, 2, "audio channels"},
		{[]string{"push", "--audio", "silent", "--audio-bitrate", "999", out}, 2, "audio bit rate"},
		{[]string{"push", "--audio", "silent", filepath.Join(dir, "x.h264")}, 2, "one elementary stream"},
		{[]string{"push", "--audio", filepath.Join(dir, "missing.wav"), "--frames", "5", out}, 1, "nothing was written"},
		{[]string{"dump", "--audio-end", "stop"}, 2, "no effect without --audio"},
	} {
		_, stderr, code := runCmd(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.says) {
			t.Errorf("%q: exit %d, want %d saying %q\n%s", tc.args, code, tc.code, tc.says, stderr)
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command line wrote %s", out)
	}
	help, _, _ := runCmd(t, nil, "push", "--help")
	for _, f := range []string{"-audio ", "-audio-end", "-audio-channels", "-audio-bitrate", "--audio silent", "--audio SOURCE"} {
		if !strings.Contains(help, f) {
			t.Errorf("push --help lacks %q", f)
		}
	}
	line, _, code := runCmd(t, nil, "dump", "--audio", "silent", "rtmp://127.0.0.1/live/x")
	if code != 0 || !strings.Contains(line, "flvmux name=m0") || !strings.Contains(line, "aacparse ! m0.") {
		t.Errorf("dump --audio silent: exit %d: %s", code, line)
	}
}
