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

// Replay stops recording and publishes the recording on the relay's path:
// once the stream is up it calls ready (which starts a reader and waits
// for it), sends every packet, at ten times the pace of its time stamps so
// that no queue on the way overflows, waits until the relay has every
// frame, and leaves.
func (r *Recording) Replay(ctx context.Context, relay *rtspserver.Server, path string, ready func() error) error {
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
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Protocol: &tcp}
	if err := c.StartRecording(relay.URL(path), &description.Session{Medias: []*description.Media{medi}}); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer c.Close()
	if err := ready(); err != nil {
		return err
	}
	clock := int64(medi.Formats[0].ClockRate())
	pt := medi.Formats[0].PayloadType()
	start, ts0, ahead := time.Now(), pkts[0].Timestamp, int64(0)
	for _, p := range pkts {
		// Time stamps are in presentation order: with B-frames they go
		// back now and then; the pace follows the latest.
		ahead = max(ahead, int64(int32(p.Timestamp-ts0)))
		time.Sleep(time.Until(start.Add(time.Duration(ahead) * time.Second / time.Duration(10*clock))))
		p.PayloadType = pt
		if err := c.WritePacketRTP(medi, p); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
	}
	n := uint64(r.Frames())
	return relay.Wait(ctx, path, func(i rtspserver.PathInfo) bool { return i.Frames >= n })
}
