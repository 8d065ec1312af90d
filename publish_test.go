package mpegserver_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// Tests against mediamtx, the server users publish to: credentials,
// RTMPS, reconnection after a restart, rival publishers.

// countEvents counts a server's events by kind until stop is closed.
func countEvents(s *mpegserver.Server, stop <-chan struct{}) func() map[mpegserver.EventKind]int {
	var mu sync.Mutex
	n := map[mpegserver.EventKind]int{}
	go func() {
		for {
			select {
			case ev := <-s.Events():
				mu.Lock()
				n[ev.Kind]++
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	return func() map[mpegserver.EventKind]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[mpegserver.EventKind]int{}
		for k, v := range n {
			out[k] = v
		}
		return out
	}
}

// TestCredentialsRefusedHonestly: wrong or missing credentials are
// ErrUnauthorized, from Setup for RTSP and RTMP and from the first frame
// for SRT (whose check cannot see the passphrase without opening a
// connection), never retried by Reconnect; the right ones stream, RTMP's
// given as user information too.
func TestCredentialsRefusedHonestly(t *testing.T) {
	t.Parallel()
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{
		Users: []testutil.MediaMTXUser{{User: "pub", Pass: "right", Publish: true}}, SRTPassphrase: "0123456789ab"})
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"rtsp://pub:wrong@" + m.RTSP + "/a", false},
		{"rtsp://" + m.RTSP + "/a", false},
		{"rtsp://pub:right@" + m.RTSP + "/a", true},
		{"rtmp://pub:wrong@" + m.RTMP + "/live/b", false},
		{"rtmp://" + m.RTMP + "/live/b", false},
		{"rtmp://pub:right@" + m.RTMP + "/live/b", true},
		{"rtmp://" + m.RTMP + "/live/b?user=pub&pass=right", true},
		{"srt://" + m.SRT + "?streamid=publish:c:pub:right&passphrase=wrongwrongwrong", false},
		// Wrong credentials in the stream id are not here: mediamtx holds
		// that refusal 0-4 s (against guessing), longer than SRT's 3 s
		// connection timeout at random, and a timeout is a loss.
		{"srt://" + m.SRT + "?streamid=publish:c:pub:right&passphrase=0123456789ab", true},
	} {
		shown := mpegserver.Redact(tc.addr)
		s := newServer(t, mpegserver.Size(320, 240), mpegserver.FrameAhead(1), mpegserver.Reconnect(true))
		stop := make(chan struct{})
		events := countEvents(s, stop)
		t0 := time.Now()
		err := s.Setup(tc.addr)
		// Frames until the refusal, for those seen at the first write,
		// or for two seconds.
		for i := 0; err == nil && i < 60; i++ {
			err = s.ServeFrameBlock(testFrame(320, 240, i))
		}
		took := time.Since(t0)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		close(stop)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", shown, err)
		case !tc.ok && (!errors.Is(err, mpegserver.ErrUnauthorized) || !errors.Is(err, mpegserver.ErrRefused)):
			t.Errorf("%s: %v after %v, want ErrUnauthorized", shown, err, took)
		case !tc.ok:
			t.Logf("%s: refused after %v: %v", shown, took.Round(time.Millisecond), err)
		}
		if n := events()[mpegserver.Reconnecting]; n != 0 {
			t.Errorf("%s: %d reconnection attempts", shown, n)
		}
		if strings.Contains(err2s(err), "wrong") || strings.Contains(err2s(err), "right") {
			t.Errorf("%s: a credential in the error: %v", shown, err)
		}
	}
}

// TestCredentialsRefusedAtOnce: against a server that answers a wrong
// password at once (the embedded relay with publish credentials; mediamtx
// holds its refusals 0-4 s at random, against guessing), Setup returns
// ErrUnauthorized well within 2 s and nothing is retried.
func TestCredentialsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	r := &rtspserver.Server{Address: "127.0.0.1:0", PublishUser: "pub", PublishPass: "right"}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	for _, tc := range []struct {
		user string
		ok   bool
	}{{"pub:wrong@", false}, {"", false}, {"other:right@", false}, {"pub:right@", true}} {
		addr := "rtsp://" + tc.user + r.Addr() + "/cam"
		s := newServer(t, mpegserver.Size(320, 240), mpegserver.FrameAhead(1), mpegserver.Reconnect(true))
		stop := make(chan struct{})
		events := countEvents(s, stop)
		t0 := time.Now()
		err := s.Setup(addr)
		took := time.Since(t0)
		if err == nil {
			err = s.ServeFrameBlock(testFrame(320, 240, 0))
		}
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		close(stop)
		shown := mpegserver.Redact(addr)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", shown, err)
		case tc.ok && r.Info("cam").Frames == 0:
			t.Errorf("%s: the relay received no frame", shown)
		case !tc.ok && !errors.Is(err, mpegserver.ErrUnauthorized):
			t.Errorf("%s: %v after %v, want ErrUnauthorized", shown, err, took)
		case !tc.ok && took >= 2*time.Second:
			t.Errorf("%s: refused after %v, want under 2 s", shown, took)
		case !tc.ok:
			t.Logf("%s: refused after %v: %v", shown, took.Round(time.Millisecond), err)
		}
		if n := events()[mpegserver.Reconnecting]; n != 0 {
			t.Errorf("%s: %d reconnection attempts", shown, n)
		}
		if strings.Contains(err2s(err), "wrong") || strings.Contains(err2s(err), "right") {
			t.Errorf("%s: a credential in the error: %v", shown, err)
		}
	}
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestRTMPS: publishing over TLS to a server with a self-signed
// certificate works with its certificate as CA file, or with the
// insecure option; without either Setup says the certificate is not
// trusted and what to do.
func TestRTMPS(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{})
	addr := "rtmps://127.0.0.1" + m.RTMPS[strings.LastIndex(m.RTMPS, ":"):] + "/live/"
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.SetupTimeout(3*time.Second))
	err := s.Setup(addr + "untrusted")
	if !errors.Is(err, mpegserver.ErrUnreachable) || !strings.Contains(err.Error(), "certificate") || !strings.Contains(err.Error(), "TLSCAFile") {
		t.Errorf("untrusted certificate: %v", err)
	}
	for name, opt := range map[string]mpegserver.Option{"ca": mpegserver.TLSCAFile(m.CA), "insecure": mpegserver.TLSInsecure(true)} {
		s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(10), mpegserver.FrameAhead(1), opt)
		if err := s.Setup(addr + name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Three seconds: mediamtx declares an RTMP publisher once it has
		// seen about two.
		for i := 0; i < 90; i++ {
			if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
				t.Fatalf("%s: frame %d: %v", name, i, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !m.WaitLog("is publishing to path 'live/"+name+"'", 1, 5*time.Second) {
			t.Errorf("%s: mediamtx never saw the stream published", name)
		}
		for _, line := range strings.Split(m.Log(), "\n") {
			if strings.Contains(line, "is publishing to path 'live/"+name+"'") && !strings.Contains(line, "[RTMPS]") {
				t.Errorf("%s: not over TLS: %s", name, line)
			}
		}
	}
}

// TestReconnectToRestartedMediaMTX: RTSP, RTMP and SRT to mediamtx
// restarted mid-stream: the stream is back soon after the server returns,
// and the server records what was served from then on, starting with a
// keyframe.
func TestReconnectToRestartedMediaMTX(t *testing.T) {
	t.Parallel()
	testutil.NeedTool(t, "ffprobe")
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{})
	for _, tc := range []struct{ addr, path string }{
		{"rtsp://" + m.RTSP + "/r1", "r1"},
		{"rtmp://" + m.RTMP + "/live/r2", "live/r2"},
		{"srt://" + m.SRT + "?streamid=publish:r3", "r3"},
	} {
		s := newServer(t, mpegserver.Size(320, 240), mpegserver.FrameAhead(1), mpegserver.GOPSize(10),
			mpegserver.Reconnect(true), mpegserver.ReconnectMaxWait(300*time.Millisecond))
		if err := s.Setup(tc.addr); err != nil {
			t.Fatal(err)
		}
		// Frames all along: mediamtx declares an RTMP publisher only once
		// it has seen about two seconds of it.
		var served atomic.Int64
		stop := make(chan struct{})
		fed := make(chan struct{})
		go func() {
			defer close(fed)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.ServeFrameBlock(testFrame(320, 240, i)); err != nil {
					t.Errorf("%s: frame %d: %v", tc.addr, i, err)
					return
				}
				served.Add(1)
			}
		}()
		published := "is publishing to path '" + tc.path + "'"
		if !m.WaitLog(published, 1, 10*time.Second) {
			close(stop)
			<-fed
			t.Fatalf("%s: not published\n%s", tc.addr, m.Log())
		}
		time.Sleep(time.Second) // a second of stream before the restart
		m.Restart()
		back := time.Now()
		waitEvent(t, s, mpegserver.Reconnected, 10*time.Second)
		after := served.Load()
		t.Logf("%s: back %v after mediamtx returned", tc.addr, time.Since(back).Round(time.Millisecond))
		ok := m.WaitLog(published, 2, 10*time.Second)
		time.Sleep(time.Second) // a second more of stream to record
		close(stop)
		<-fed
		if err := s.Close(); err != nil {
			t.Errorf("%s: Close: %v", tc.addr, err)
		}
		recs := m.Recordings(tc.path)
		if fi, err := os.Stat(recs[len(recs)-1]); !ok || len(recs) == 0 || err != nil || fi.ModTime().Before(back) {
			t.Fatalf("%s: not published again; recordings %v\n%s", tc.addr, recs, m.Log())
		}
		summary, keys := ffprobeFrames(t, recs[len(recs)-1])
		var n int64
		if f := strings.Split(summary, ","); len(f) == 4 {
			n, _ = strconv.ParseInt(f[3], 10, 64)
		}
		sent := served.Load() - after
		t.Logf("%s: after the restart mediamtx recorded %s (%d frames served since the reconnection), keyframes at %v", tc.addr, summary, sent, keys)
		if !strings.HasPrefix(summary, "h264,320,240,") || len(keys) == 0 || keys[0] != 0 || n < sent-5 {
			t.Errorf("%s: the recording after the restart: %s of %d frames, keyframes %v", tc.addr, summary, sent, keys)
		}
	}
}

// TestRivalPublishersCalmDown: two publishers on one mediamtx path (which
// lets the newer replace the older) do not storm: each is replaced again
// and again, says so (Flapping), and backs off to one attempt per
// ReconnectMaxWait; the producers keep real time.
func TestRivalPublishersCalmDown(t *testing.T) {
	t.Parallel()
	m := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{})
	addr := "rtsp://" + m.RTSP + "/rival"
	const run = 10 * time.Second
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		s := newServer(t, mpegserver.Size(320, 240), mpegserver.GOPSize(10), mpegserver.Reconnect(true),
			mpegserver.ReconnectMaxWait(2*time.Second))
		if err := s.Setup(addr); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		events := countEvents(s, stop)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(stop)
			t0 := time.Now()
			n := 0
			for ; time.Since(t0) < run; n++ {
				if err := s.ServeFrameBlock(testFrame(320, 240, n)); err != nil {
					t.Errorf("publisher %d: %v", i, err)
					return
				}
			}
			st, ev := s.Stats(), events()
			t.Logf("publisher %d: %d frames served in %v, %d pushed, %d dropped; %d reconnecting, %d reconnected, %d flapping",
				i, n, run, st.Pushed, st.Dropped, ev[mpegserver.Reconnecting], ev[mpegserver.Reconnected], ev[mpegserver.Flapping])
			// Two attempts at once, then the back-off: 250 ms, 500 ms,
			// 1 s, then 2 s each: no more than a dozen in ten seconds.
			if ev[mpegserver.Reconnecting] > 12 {
				t.Errorf("publisher %d: %d reconnection attempts in %v", i, ev[mpegserver.Reconnecting], run)
			}
			// Real time: 30 fps for the run, plus the frames ahead once.
			if limit := int(run.Seconds()*30) + 2*2*10 + 30; n > limit {
				t.Errorf("publisher %d served %d frames in %v: not paced (limit %d)", i, n, run, limit)
			}
		}()
		time.Sleep(500 * time.Millisecond) // the second publisher comes after the first
	}
	wg.Wait()
	if got := strings.Count(m.Log(), "is publishing to path 'rival'"); got > 20 {
		t.Errorf("mediamtx saw %d publications in %v", got, run)
	}
}

// TestBackupIngest: when the server in use goes away and does not come
// back, the stream moves to the backup address within the back-off, says
// so, and the backup records it; Setup with the first address down starts
// on the backup.
func TestBackupIngest(t *testing.T) {
	t.Parallel()
	primary := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{})
	backup := testutil.StartMediaMTX(t, testutil.MediaMTXOptions{})
	main, spare := "rtsp://"+primary.RTSP+"/cam", "rtsp://"+backup.RTSP+"/cam"
	s := newServer(t, mpegserver.Size(320, 240), mpegserver.FrameAhead(1), mpegserver.GOPSize(10), mpegserver.Reconnect(true),
		mpegserver.ReconnectMaxWait(time.Second), mpegserver.Backup(spare))
	if err := s.Setup(main); err != nil {
		t.Fatal(err)
	}
	fs := &frameSeq{s: s, w: 320, h: 240}
	if !fs.serve(t, 30) || s.Stats().Address != main {
		t.Fatalf("not streaming to the primary: %+v", s.Stats())
	}
	primary.Stop()
	gone := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); fs.serve(t, 120) }()
	ev := waitEvent(t, s, mpegserver.Reconnected, 10*time.Second)
	t.Logf("moved to %s %v after the primary went (attempt %d)", ev.Output, time.Since(gone).Round(time.Millisecond), ev.Attempt)
	if ev.Output != spare {
		t.Errorf("reconnected to %q, want the backup %s", ev.Output, spare)
	}
	<-done
	if st := s.Stats(); st.Address != spare {
		t.Errorf("Stats.Address %q, want the backup", st.Address)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !backup.WaitLog("is publishing to path 'cam'", 1, 5*time.Second) || len(backup.Recordings("cam")) == 0 {
		t.Errorf("the backup never recorded the stream")
	}

	// The primary down at Setup: the backup at once.
	s2 := newServer(t, mpegserver.Size(320, 240), mpegserver.Backup(spare), mpegserver.SetupTimeout(2*time.Second))
	if err := s2.Setup(main); err != nil {
		t.Fatalf("Setup with the primary down: %v", err)
	}
	if st := s2.Stats(); st.Address != spare {
		t.Errorf("Setup started on %q, want the backup", st.Address)
	}
}
