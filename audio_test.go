package mpegserver_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

// tracks is what ffprobe finds in a file or playlist: each stream's codec
// and duration in seconds (0 where the container gives none), in order.
type tracks struct {
	video, audio       string
	videoDur, audioDur float64
}

func probeTracks(t testing.TB, file string) tracks {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,duration",
		"-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var tr tracks
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(strings.TrimSuffix(l, ","), ",")
		if len(f) < 2 {
			continue
		}
		d := 0.0
		if len(f) > 2 {
			d, _ = strconv.ParseFloat(f[2], 64)
		}
		switch f[1] {
		case "video":
			tr.video, tr.videoDur = f[0], d
		case "audio":
			tr.audio, tr.audioDur = f[0], d
		}
	}
	if tr.audio != "" && tr.audioDur == 0 {
		// Matroska and FLV say no duration per stream: decode it.
		tr.audioDur = decodedSeconds(t, file)
	}
	return tr
}

// decodedSeconds is how long the audio track decodes to.
func decodedSeconds(t testing.TB, file string) float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", file, "-map", "0:a:0", "-ac", "1", "-ar", "48000",
		"-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v", file, err)
	}
	return float64(len(out)/2) / 48000
}

// wantTracks checks that a recording has the video and an audio track of
// the codec, about as long as the frames (a receiver may cut the start).
func wantTracks(t testing.TB, what, file, audio string, seconds float64) {
	t.Helper()
	tr := probeTracks(t, file)
	t.Logf("%s: %+v", what, tr)
	if tr.video != "h264" && tr.video != "vp8" || tr.audio != audio {
		t.Errorf("%s: video %q, audio %q; want %s beside the video", what, tr.video, tr.audio, audio)
	}
	if tr.audioDur < seconds-0.6 || tr.audioDur > seconds+0.3 {
		t.Errorf("%s: %.3f s of audio for %.3f s of frames", what, tr.audioDur, seconds)
	}
}

// TestAudioInFiles: a silent track beside the video in every container
// that takes one: AAC, Opus in WebM; as long as the frames.
func TestAudioInFiles(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	dir := t.TempDir()
	for _, tc := range []struct{ ext, codec, audio string }{
		{"mp4", "libx264", "aac"}, {"mov", "libx264", "aac"}, {"mkv", "libx264", "aac"},
		{"ts", "libx264", "aac"}, {"webm", "libvpx", "opus"},
	} {
		file := filepath.Join(dir, "out."+tc.ext)
		s := newServer(t, mpegserver.Size(320, 240), mpegserver.Codec(tc.codec), mpegserver.Audio(mpegserver.Silence()))
		if err := s.Setup(file); err != nil {
			t.Fatal(err)
		}
		pushFrames(t, s, 60, 320, 240)
		if st := s.Stats(); st.AudioFilled != 2*time.Second || st.AudioServed != 0 {
			t.Errorf("%s: filled %v, served %v; want 2 s of silence", tc.ext, st.AudioFilled, st.AudioServed)
		}
		wantTracks(t, tc.ext, file, tc.audio, 2)
	}
	// Samples served past the frames' end (a file has no clock to hold
	// them back) are cut there: the track is as long as the frames.
	file := filepath.Join(dir, "served.mp4")
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.Audio(mpegserver.Samples(48000, 1)))
	if err := s.Setup(file); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeAudioBlock(make([]byte, 48000*2*3/2)); err != nil { // 1.5 s
		t.Fatal(err)
	}
	pushFrames(t, s, 30, 320, 240) // 1 s
	wantTracks(t, "samples past the frames", file, "aac", 1)
}

// TestAudioOverNetworks: the track reaches each kind of receiver, read
// back with ffprobe: RTMP to nginx-rtmp (FLV), SRT to srt-live-transmit,
// MPEG-TS over UDP to ffmpeg, RTSP to mediamtx (its recording), and HLS.
func TestAudioOverNetworks(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	const n = 90 // 3 s
	opts := []mpegserver.Option{mpegserver.Size(320, 240), mpegserver.GOPSize(30), mpegserver.Audio(mpegserver.Silence())}
	t.Run("RTMP", func(t *testing.T) {
		t.Parallel()
		srv := testutil.StartRTMP(t)
		s := newServer(t, opts...)
		if err := s.Setup(srv.URL + "/cam"); err != nil {
			t.Fatal(err)
		}
		pushFrames(t, s, n, 320, 240)
		srv.WaitLog(t, "deleteStream", 2, 10*time.Second)
		wantTracks(t, "nginx-rtmp", filepath.Join(srv.Dir, "cam.flv"), "aac", 3)
	})
	t.Run("SRT", func(t *testing.T) {
		t.Parallel()
		rx := testutil.StartSRT(t, "")
		s := newServer(t, opts...)
		if err := s.Setup(fmt.Sprintf("srt://127.0.0.1:%d", rx.Port)); err != nil {
			t.Fatal(err)
		}
		pushFrames(t, s, n, 320, 240)
		rx.Wait(t, 10*time.Second)
		wantTracks(t, "srt-live-transmit", rx.File, "aac", 3)
	})
	t.Run("UDP", func(t *testing.T) {
		t.Parallel()
		rx := testutil.StartUDP(t)
		s := newServer(t, opts...)
		if err := s.Setup(rx.URL()); err != nil {
			t.Fatal(err)
		}
		pushFrames(t, s, n, 320, 240)
		rx.Wait(t, 60*time.Second)
		wantTracks(t, "ffmpeg on UDP", rx.File, "aac", 3)
	})
	t.Run("RTSP", func(t *testing.T) {
		t.Parallel()
		m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{})
		s := newServer(t, opts...)
		if err := s.Setup("rtsp://" + m.RTSP + "/cam"); err != nil {
			t.Fatal(err)
		}
		pushFrames(t, s, n, 320, 240)
		if !m.WaitLog("[path cam] [recorder] recording stopped", 1, 10*time.Second) {
			t.Fatalf("mediamtx did not stop recording:\n%s", m.Log())
		}
		recs := m.Recordings("cam")
		if len(recs) != 1 {
			t.Fatalf("recordings %v", recs)
		}
		// mediamtx announces the stream once it has both tracks: its
		// recording starts a little after the first frame.
		wantTracks(t, "mediamtx over RTSP", recs[0], "aac", 3)
	})
	t.Run("HLS", func(t *testing.T) {
		t.Parallel()
		playlist := filepath.Join(t.TempDir(), "live.m3u8")
		s := newServer(t, append(opts, mpegserver.PlaylistLength(10))...)
		if err := s.Setup(playlist); err != nil {
			t.Fatal(err)
		}
		pushFrames(t, s, n, 320, 240)
		wantTracks(t, "HLS", playlist, "aac", 3)
	})
}

// TestAudioLaunchLineRuns: the printed line with an audio track runs in
// gst-launch-1.0 with both appsrcs swapped for test sources: RTMP to
// nginx-rtmp and an MP4 record, each with the video and the audio.
func TestAudioLaunchLineRuns(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "gst-launch-1.0")
	testutil.NeedTool(t, "ffprobe")
	srv := testutil.StartRTMP(t)
	rec := filepath.Join(t.TempDir(), "rec.mp4")
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Address(srv.URL+"/line"), mpegserver.Size(320, 240), mpegserver.GOPSize(10),
		mpegserver.Record(rec), mpegserver.Audio(mpegserver.Samples(44100, 1)))
	line, err := s.LaunchLine()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"flvmux name=m0 ", "mp4mux name=m1 ", "tee name=at at. ! queue", "aacparse ! m0. at.", "aacparse ! m1."} {
		if !strings.Contains(line, w) {
			t.Errorf("launch line lacks %q:\n%s", w, line)
		}
	}
	// 2 s of each: 60 frames, 20 buffers of 4410 samples.
	run := swapSource(t, line, "appsrc is-live=true", "videotestsrc is-live=true num-buffers=60")
	run = swapSource(t, run, "appsrc is-live=true", "audiotestsrc is-live=true wave=sine num-buffers=20 samplesperbuffer=4410")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gst-launch-1.0", shellArgs(t, run)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, run, out)
	}
	srv.WaitLog(t, "deleteStream", 2, 10*time.Second)
	wantTracks(t, "nginx-rtmp", filepath.Join(srv.Dir, "line.flv"), "aac", 2)
	wantTracks(t, "the record", rec, "aac", 2)
}

// swapSource replaces the first element starting with prefix (up to its
// " ! ") by src.
func swapSource(t testing.TB, line, prefix, src string) string {
	t.Helper()
	i := strings.Index(line, prefix)
	if i < 0 {
		t.Fatalf("no %q in %s", prefix, line)
	}
	j := strings.Index(line[i:], " ! ")
	return line[:i] + src + line[i+j:]
}

// TestServeAudioErrors: samples the stream cannot take are refused with
// the error to test for, and the stream goes on.
func TestServeAudioErrors(t *testing.T) {
	t.Parallel()
	relay := testutil.StartRelay(t)
	pcm := make([]byte, 1600*4)
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.Audio(mpegserver.Samples(48000, 2)), mpegserver.FrameAhead(4))
	if err := s.ServeAudio(pcm); !errors.Is(err, mpegserver.ErrNotSetUp) {
		t.Errorf("before Setup: %v", err)
	}
	if err := s.Setup(relay.URL("a")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pcm  []byte
		want error
	}{
		{nil, mpegserver.ErrFrameSize},
		{make([]byte, 6), mpegserver.ErrFrameSize},          // one and a half stereo samples
		{make([]byte, 48000*4*11), mpegserver.ErrFrameSize}, // 11 s
	} {
		if err := s.ServeAudio(tc.pcm); !errors.Is(err, tc.want) {
			t.Errorf("%d bytes: %v, want %v", len(tc.pcm), err, tc.want)
		}
	}
	// Non-blocking, as fast as possible: refused at the cap, with a hint.
	refused := 0
	for i := 0; i < 200 && refused == 0; i++ {
		if err := s.ServeAudio(pcm); errors.Is(err, mpegserver.ErrQueueFull) {
			refused++
			if w := s.AudioWaitRef(); w <= 0 {
				t.Errorf("refused, but AudioWaitRef is %v", w)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); refused == 0 || st.AudioRefused == 0 {
		t.Errorf("never refused: %+v", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.ServeAudioContext(ctx, pcm); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	for i := 0; i < 10; i++ { // the stream still takes frames
		if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.ServeAudio(pcm); !errors.Is(err, mpegserver.ErrNotSetUp) {
		t.Errorf("after Close: %v", err)
	}

	for _, a := range []mpegserver.AudioConfig{{}, mpegserver.Silence()} {
		s := newServer(t, mpegserver.Size(320, 240), mpegserver.Audio(a))
		if err := s.Setup(relay.URL("b")); err != nil {
			t.Fatal(err)
		}
		if err := s.ServeAudioBlock(pcm); !errors.Is(err, mpegserver.ErrBadParameter) || !strings.Contains(err.Error(), "Samples(") {
			t.Errorf("audio %v: %v, want ErrBadParameter naming Samples", a, err)
		}
		_ = s.Close()
	}
	// A raw video file has no room for a track: refused at Setup.
	s = newServer(t, mpegserver.Audio(mpegserver.Silence()))
	if err := s.Setup(filepath.Join(t.TempDir(), "x.h264")); !errors.Is(err, mpegserver.ErrUnsupportedAddress) {
		t.Errorf("raw file: %v", err)
	}
}

// TestAudioSurvivesReconnection: the audio track comes back with the
// stream. Alone (the whole stream opened again), samples served while the
// server is away are dropped and counted, at their pace, without an
// error. With a record, the lost output's branch is rebuilt with its
// part of the audio chain while the record goes on with both tracks.
func TestAudioSurvivesReconnection(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	pcm := make([]byte, 1600*4) // one frame's stereo samples at 48 kHz
	for _, record := range []bool{false, true} {
		t.Run(map[bool]string{false: "stream", true: "record"}[record], func(t *testing.T) {
			t.Parallel()
			addr := testutil.FreeAddr(t)
			relay := startRelayAt(t, addr)
			rec := filepath.Join(t.TempDir(), "cam.mkv")
			opts := []mpegserver.Option{mpegserver.Size(320, 240), mpegserver.GOPSize(15), mpegserver.FrameAhead(4),
				mpegserver.Audio(mpegserver.Samples(48000, 2)), mpegserver.Reconnect(true), mpegserver.ReconnectMaxWait(300 * time.Millisecond)}
			if record {
				opts = append(opts, mpegserver.Record(rec))
			}
			s := newServer(t, opts...)
			if err := s.Setup(relay.URL("cam")); err != nil {
				t.Fatal(err)
			}
			i := 0
			serve := func(n int) {
				t.Helper()
				for end := i + n; i < end; i++ {
					if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					if err := s.ServeAudioBlock(pcm); err != nil {
						t.Fatalf("audio %d: %v", i, err)
					}
				}
			}
			serve(30)
			if err := relay.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserverInfo) bool { return i.AudioPackets > 0 }); err != nil {
				t.Fatal(err)
			}
			relay.Close()
			lost := mpegserver.Disconnected
			if record {
				lost = mpegserver.OutputFailed
			}
			// Serving goes on, frames and samples at their pace, while the
			// events come: the loss, then the return.
			serveUntil := func(kind mpegserver.EventKind) {
				t.Helper()
				deadline := time.Now().Add(20 * time.Second)
				for {
					serve(1)
					select {
					case ev := <-s.Events():
						t.Logf("event: %v %s attempt %d %v", ev.Kind, ev.Output, ev.Attempt, ev.Err)
						if ev.Kind == kind {
							return
						}
					default:
					}
					if time.Now().After(deadline) {
						t.Fatalf("no %v event within 20 s", kind)
					}
				}
			}
			serveUntil(lost)
			serve(30) // while the server is away
			relay2 := startRelayAt(t, addr)
			serveUntil(mpegserver.Reconnected)
			serve(30)
			if err := relay2.Wait(testutil.Context(t, 10*time.Second), "cam", func(i rtspserverInfo) bool { return i.AudioPackets > 20 && i.Frames > 10 }); err != nil {
				t.Fatalf("the returning server got no audio: %v (%+v)", err, relay2.Info("cam"))
			}
			st := s.Stats()
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			t.Logf("%d frames served; audio served %v, dropped %v, filled %v; returning server %+v", i, st.AudioServed, st.AudioDropped,
				st.AudioFilled, relay2.Info("cam"))
			if !record && (st.AudioDropped == 0 || st.Dropped == 0) {
				t.Errorf("nothing dropped while down: %+v", st)
			}
			if record {
				wantTracks(t, "the record", rec, "aac", float64(i)/30)
			}
		})
	}
}
