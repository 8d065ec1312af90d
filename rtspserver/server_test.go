package rtspserver_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/mpegcoder-go/mpegserver/internal/rtsptest"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// publisher records a tiny H.264 stream of one-packet access units.
type publisher struct {
	c    *gortsplib.Client
	medi *description.Media
	seq  uint16
}

func publish(t *testing.T, url string) *publisher {
	t.Helper()
	medi := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{
		PayloadTyp: 96, PacketizationMode: 1,
		SPS: []byte{0x67, 0x64, 0x00, 0x1e, 0xac, 0xb4, 0x05, 0x01, 0x7f, 0xcb, 0x80, 0xb5, 0x06, 0x06, 0x06, 0xa5},
		PPS: []byte{0x68, 0xef, 0x3c, 0xb0},
	}}}
	tcp := gortsplib.ProtocolTCP
	p := &publisher{c: &gortsplib.Client{Protocol: &tcp}, medi: medi}
	if err := p.c.StartRecording(url, &description.Session{Medias: []*description.Media{medi}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.c.Close)
	return p
}

// frame sends one access unit: an IDR slice NAL in one packet.
func (p *publisher) frame(t *testing.T) {
	t.Helper()
	p.seq++
	err := p.c.WritePacketRTP(p.medi, &rtp.Packet{
		Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: p.seq, Timestamp: uint32(p.seq) * 3000, Marker: true, SSRC: 1},
		Payload: []byte{0x65, 0x88, 0x84, 0x00, 0x33},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPathsReadersAndShutdown(t *testing.T) {
	g0 := runtime.NumGoroutine()
	s := &rtspserver.Server{}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	a, b := publish(t, s.URL("a")), publish(t, s.URL("b"))
	for _, p := range []string{"a", "b"} {
		if err := s.WaitPublisher(testutil.Context(t, 10*time.Second), p); err != nil {
			t.Fatal(err)
		}
	}
	ra1, err := rtsptest.Read(s.URL("a"))
	if err != nil {
		t.Fatal(err)
	}
	ra2, err := rtsptest.Read(s.URL("/a"))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := rtsptest.Read(s.URL("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitReaders(testutil.Context(t, 10*time.Second), "a", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitReaders(testutil.Context(t, 10*time.Second), "b", 1); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		a.frame(t)
	}
	for i := 0; i < 3; i++ {
		b.frame(t)
	}
	for _, c := range []struct {
		r *rtsptest.Reader
		n int
	}{{ra1, 5}, {ra2, 5}, {rb, 3}} {
		if err := c.r.WaitFrames(testutil.Context(t, 10*time.Second), c.n); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(rb.AUs()); got != 3 {
		t.Errorf("path b reader got %d frames, want 3 (paths must not mix)", got)
	}
	if i := s.Info("a"); i.Frames != 5 || i.Readers != 2 || !i.Publishing {
		t.Errorf("info a = %+v", i)
	}
	// Unknown paths are refused.
	if _, err := rtsptest.Read(s.URL("nope")); err == nil {
		t.Error("reading an unpublished path succeeded")
	}
	// A second publisher on a path replaces the first; its readers end.
	a2 := publish(t, s.URL("a"))
	if err := ra1.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(testutil.Context(t, 10*time.Second), "a", func(i rtspserver.PathInfo) bool { return i.Publishers == 2 && i.Publishing }); err != nil {
		t.Fatal(err)
	}
	a2.frame(t)
	// The publisher leaving ends its readers' streams.
	b.c.Close()
	if err := rb.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitUnpublished(testutil.Context(t, 10*time.Second), "b"); err != nil {
		t.Fatal(err)
	}
	// Close disconnects everyone and returns the goroutines.
	s.Close()
	s.Close()
	if err := ra2.WaitEnd(testutil.Context(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitPublisher(testutil.Context(t, 10*time.Second), "a"); err != rtspserver.ErrClosed {
		t.Errorf("Wait after Close: %v", err)
	}
	for _, r := range []*rtsptest.Reader{ra1, ra2, rb} {
		r.Close()
	}
	a.c.Close()
	a2.c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > g0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > g0 {
		t.Errorf("goroutines %d after Close, %d before", g, g0)
	}
}

// TestKeyframeWanted: a reader that starts playing a path, and a
// reader's WantKeyframe, reach the function OnKeyframeWanted set, with
// the path's name.
func TestKeyframeWanted(t *testing.T) {
	s := testutil.StartRelay(t)
	wanted := make(chan string, 4)
	s.OnKeyframeWanted(func(path string) { wanted <- path })
	p := publish(t, s.URL("cam"))
	p.frame(t)
	if err := s.WaitPublisher(testutil.Context(t, 5*time.Second), "cam"); err != nil {
		t.Fatal(err)
	}
	r, err := rtsptest.Read(s.URL("cam"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s.WantKeyframe("/cam/")
	for _, how := range []string{"PLAY", "WantKeyframe"} {
		select {
		case got := <-wanted:
			if got != "cam" {
				t.Errorf("%s: path %q", how, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no keyframe wanted", how)
		}
	}
	s.OnKeyframeWanted(nil)
	s.WantKeyframe("cam") // nobody to tell: nothing happens
}
