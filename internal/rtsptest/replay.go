package rtsptest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
	"github.com/pion/rtp"
)

// Recording keeps every video RTP packet a relay path receives, from its
// first, and the path's session description, to play the whole stream to
// a reader that could not have joined in time: a live stream waits for
// no one, and a reader process (ffprobe) takes a while to start, longer
// on a loaded machine.
type Recording struct {
	mu     sync.Mutex
	pkts   []*rtp.Packet
	desc   *description.Session
	cancel func()
}

// Record keeps what path receives from now on, until Stop or Replay.
func Record(relay *rtspserver.Server, path string) *Recording {
	r := &Recording{}
	r.cancel = relay.Subscribe(path, func(_ rtspserver.Track, pkt *rtp.Packet) {
		c := pkt.Clone() // valid only during the call
		r.mu.Lock()
		r.pkts = append(r.pkts, c)
		r.mu.Unlock()
	})
	return r
}

// Describe keeps the session description of url, a path being published.
func (r *Recording) Describe(url string) error {
	u, err := base.ParseURL(url)
	if err != nil {
		return err
	}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	if err := c.Start(); err != nil {
		return err
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		return fmt.Errorf("describe %s: %w", url, err)
	}
	r.mu.Lock()
	r.desc = desc
	r.mu.Unlock()
	return nil
}

// Stop stops recording.
func (r *Recording) Stop() { r.cancel() }

// Frames counts the access units recorded (packets with the marker bit).
func (r *Recording) Frames() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.pkts {
		if p.Marker {
			n++
		}
	}
	return n
}

// Span is how far apart the lowest and the highest RTP time stamp
// recorded are, in the stream's clock (90 kHz for video).
func (r *Recording) Span() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lo, hi int64
	for i, p := range r.pkts {
		if i == 0 {
			continue
		}
		d := int64(int32(p.Timestamp - r.pkts[0].Timestamp))
		lo, hi = min(lo, d), max(hi, d)
	}
	return hi - lo
}

// Replay stops recording and publishes the recording on the relay's path.
// Once the stream is up it calls ready, which starts a reader and waits
// for the relay to count it; sends every packet at the pace of its time
// stamps; then sends two frames more, the last one again ten and eleven
// seconds later, and stays until the reader is done (finished closed) or,
// if it never is, until 20 s after the relay has had everything.
//
// The reader should read exactly Frames frames and stop (ffprobe's
// -read_intervals %+#N stops on the frame after its last): the stream
// does not end under it, as it would if the publisher left while the
// relay still had frames on their way to a slow reader. The extra frames
// tell it the last has passed; a reader that missed a frame takes the
// first of them for one of the stream's, which its time stamp, beyond
// Span, gives away.
func (r *Recording) Replay(ctx context.Context, relay *rtspserver.Server, path string, ready func() error, finished <-chan struct{}) error {
	r.Stop()
	r.mu.Lock()
	desc, pkts := r.desc, r.pkts
	r.mu.Unlock()
	if desc == nil {
		return errors.New("replay: no session description (Describe)")
	}
	var medi *description.Media
	for _, m := range desc.Medias {
		if m.Type == description.MediaTypeVideo && len(m.Formats) > 0 {
			medi = &description.Media{Type: m.Type, Formats: m.Formats}
			break
		}
	}
	if medi == nil || len(pkts) == 0 {
		return fmt.Errorf("replay: no video (%d packets)", len(pkts))
	}
	clock := int64(medi.Formats[0].ClockRate())
	// The extra frames: the last access unit again, ten and eleven
	// seconds on. Two: a parser (H.264, H.265) hands a frame on only once
	// the next one begins.
	pkts = append([]*rtp.Packet(nil), pkts...)
	recorded := len(pkts)
	last := len(pkts) - 1
	for last > 0 && !pkts[last-1].Marker {
		last--
	}
	seq := pkts[len(pkts)-1].SequenceNumber
	for _, later := range []int64{10, 11} {
		for _, p := range pkts[last:recorded] {
			c := p.Clone()
			seq++
			c.SequenceNumber, c.Timestamp = seq, p.Timestamp+uint32(later*clock)
			pkts = append(pkts, c)
		}
	}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Protocol: &tcp, WriteQueueSize: 1024}
	if err := c.StartRecording(relay.URL(path), &description.Session{Medias: []*description.Media{medi}}); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer c.Close()
	if err := ready(); err != nil {
		return err
	}
	// The relay counts a reader from its PLAY request, a moment before it
	// starts sending to it. A reader of our own joins after, and its PLAY
	// is answered only once it is sent to: by then the first reader is too.
	if err := played(relay.URL(path)); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	pt := medi.Formats[0].PayloadType()
	start, ts0, ahead := time.Now(), pkts[0].Timestamp, int64(0)
	for i, p := range pkts {
		// At the pace of the time stamps, as the stream was sent, so no
		// queue on the way to a slow reader overflows. They are in
		// presentation order: with B-frames they go back now and then;
		// the pace follows the latest. The extra frames go at once.
		if i < recorded {
			ahead = max(ahead, int64(int32(p.Timestamp-ts0)))
			time.Sleep(time.Until(start.Add(time.Duration(ahead) * time.Second / time.Duration(clock))))
		}
		p.PayloadType = pt
		for {
			err := c.WritePacketRTP(medi, p)
			if errors.As(err, new(liberrors.ErrClientWriteQueueFull)) {
				time.Sleep(time.Millisecond) // a large keyframe: let the queue drain, lose nothing
				continue
			}
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			break
		}
	}
	n := uint64(r.Frames() + 2) // and the extra ones
	if err := relay.Wait(ctx, path, func(i rtspserver.PathInfo) bool { return i.Frames >= n }); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
	case <-ctx.Done():
	}
	return nil
}

// played connects to url, plays every media and leaves.
func played(url string) error {
	u, err := base.ParseURL(url)
	if err != nil {
		return err
	}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	if err := c.Start(); err != nil {
		return err
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		return err
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		return err
	}
	_, err = c.Play(nil)
	return err
}
