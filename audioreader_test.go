package mpegserver_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// TestAudioReader: a file's audio decoded to the samples asked (mono
// 44.1 kHz from a stereo 48 kHz AAC file), all of them, then io.EOF; the
// refusals a caller tests for.
func TestAudioReader(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffmpeg")
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.m4a")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=48000",
		"-ac", "2", "-c:a", "aac", tone).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	r, err := mpegserver.OpenAudioReader(context.Background(), tone, mpegserver.AudioReaderConfig{Rate: 44100, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.SampleSize() != 2 {
		t.Errorf("sample size %d, want 2 (mono S16LE)", r.SampleSize())
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, mpegserver.ErrFrameSize) {
		t.Errorf("a 1-byte buffer: %v", err)
	}
	buf := make([]byte, 4411) // not a whole number of samples: reads stay whole
	total := 0
	for {
		n, err := r.Read(buf)
		if n%2 != 0 {
			t.Fatalf("read %d bytes: half a sample", n)
		}
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// AAC holds whole frames of 1024 samples: the tone, to within one.
	if got := float64(total/2) / 44100; got < 1.97 || got > 2.03 || r.Position() != time.Duration(total/2)*time.Second/44100 {
		t.Errorf("%.3f s decoded (position %v), want 2 s", got, r.Position())
	}
	r.Close()
	if _, err := r.Read(buf); !errors.Is(err, mpegserver.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}

	video := filepath.Join(dir, "video.mp4")
	s := newServer(t, mpegserver.Size(320, 240))
	if err := s.Setup(video); err != nil {
		t.Fatal(err)
	}
	pushFrames(t, s, 10, 320, 240)
	for _, tc := range []struct {
		source string
		cfg    mpegserver.AudioReaderConfig
		want   error
	}{
		{video, mpegserver.AudioReaderConfig{}, mpegserver.ErrNoAudio},
		{filepath.Join(dir, "missing.m4a"), mpegserver.AudioReaderConfig{}, os.ErrNotExist},
		{tone, mpegserver.AudioReaderConfig{Channels: 3}, mpegserver.ErrBadParameter},
		{tone, mpegserver.AudioReaderConfig{Rate: 100}, mpegserver.ErrBadParameter},
	} {
		if r, err := mpegserver.OpenAudioReader(context.Background(), tc.source, tc.cfg); !errors.Is(err, tc.want) {
			if r != nil {
				r.Close()
			}
			t.Errorf("%s %+v: %v, want %v", filepath.Base(tc.source), tc.cfg, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mpegserver.OpenAudioReader(ctx, tone, mpegserver.AudioReaderConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
