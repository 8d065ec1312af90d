// Package rtsptest holds test helpers: an RTSP reader that records every
// H.264 access unit it receives, and what the tests read from them.
package rtsptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

// AU is one H.264 access unit: one coded frame.
type AU struct {
	NALUs [][]byte
	PTS   int64 // in the 90 kHz clock, from the reader's first packet
}

// Reader plays an RTSP path over TCP and records its access units until
// the stream ends (the publisher leaves) or Close is called.
type Reader struct {
	c    *gortsplib.Client
	mu   sync.Mutex
	aus  []AU
	sps  []byte
	pps  []byte
	err  error
	done chan struct{}
	got  chan struct{} // signalled after each access unit
}

// Read connects to url and starts playing. It returns once PLAY succeeded.
func Read(url string) (*Reader, error) {
	u, err := base.ParseURL(url)
	if err != nil {
		return nil, err
	}
	tcp := gortsplib.ProtocolTCP
	r := &Reader{c: &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp},
		done: make(chan struct{}), got: make(chan struct{}, 1)}
	if err := r.c.Start(); err != nil {
		return nil, err
	}
	desc, _, err := r.c.Describe(u)
	if err != nil {
		r.c.Close()
		return nil, fmt.Errorf("describe %s: %w", url, err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		r.c.Close()
		return nil, errors.New("no H.264 media in the stream")
	}
	r.sps, r.pps = forma.SPS, forma.PPS
	dec, err := forma.CreateDecoder()
	if err != nil {
		r.c.Close()
		return nil, err
	}
	if _, err := r.c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		r.c.Close()
		return nil, err
	}
	r.c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		if err != nil {
			if !errors.Is(err, rtph264.ErrMorePacketsNeeded) && !errors.Is(err, rtph264.ErrNonStartingPacketAndNoPrevious) {
				r.setErr(err)
			}
			return
		}
		pts, _ := r.c.PacketPTS(medi, pkt)
		r.mu.Lock()
		for _, n := range au {
			if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
				r.sps = n
			}
			if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypePPS {
				r.pps = n
			}
		}
		r.aus = append(r.aus, AU{NALUs: au, PTS: pts})
		r.mu.Unlock()
		select {
		case r.got <- struct{}{}:
		default:
		}
	})
	if _, err := r.c.Play(nil); err != nil {
		r.c.Close()
		return nil, err
	}
	go func() {
		// Wait returns when the server ends the stream: for these tests
		// that is the expected end, not a reader error.
		_ = r.c.Wait()
		close(r.done)
	}()
	return r, nil
}

func (r *Reader) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil && err != nil {
		r.err = err
	}
}

// Done is closed when the stream has ended.
func (r *Reader) Done() <-chan struct{} { return r.done }

// WaitEnd waits until the publisher leaves and the server ends the stream.
func (r *Reader) WaitEnd(ctx context.Context) error {
	select {
	case <-r.done:
		return r.Err()
	case <-ctx.Done():
		return fmt.Errorf("stream did not end: %w", ctx.Err())
	}
}

// WaitFrames waits until at least n access units arrived.
func (r *Reader) WaitFrames(ctx context.Context, n int) error {
	for {
		if len(r.AUs()) >= n {
			return nil
		}
		select {
		case <-r.got:
		case <-r.done:
			if got := len(r.AUs()); got < n {
				return fmt.Errorf("stream ended after %d frames, want %d", got, n)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("got %d frames, want %d: %w", len(r.AUs()), n, ctx.Err())
		}
	}
}

// Close disconnects.
func (r *Reader) Close() { r.c.Close() }

// Err is the first decoding error, if any.
func (r *Reader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// AUs returns the access units received so far.
func (r *Reader) AUs() []AU {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]AU(nil), r.aus...)
}

// WriteAnnexB writes what was received as an H.264 byte stream (the
// parameter sets first), for ffmpeg and ffprobe to decode.
func (r *Reader) WriteAnnexB(w io.Writer) error {
	r.mu.Lock()
	nalus := [][]byte{r.sps, r.pps}
	for _, au := range r.aus {
		nalus = append(nalus, au.NALUs...)
	}
	r.mu.Unlock()
	for _, n := range nalus {
		if len(n) == 0 {
			continue
		}
		if _, err := w.Write(append([]byte{0, 0, 0, 1}, n...)); err != nil {
			return err
		}
	}
	return nil
}

// Size is the picture size from the stream's SPS.
func (r *Reader) Size() (w, h int, err error) {
	r.mu.Lock()
	sps := r.sps
	r.mu.Unlock()
	if sps == nil {
		return 0, 0, errors.New("no SPS received")
	}
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return 0, 0, err
	}
	return s.Width(), s.Height(), nil
}

// FPS is the frame rate the stream's SPS states (0 when it states none).
func (r *Reader) FPS() (float64, error) {
	r.mu.Lock()
	sps := r.sps
	r.mu.Unlock()
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return 0, err
	}
	return s.FPS(), nil
}

// Keyframes returns the indexes of the access units holding an IDR slice.
func Keyframes(aus []AU) []int {
	var idx []int
	for i, au := range aus {
		if h264.IsRandomAccess(au.NALUs) {
			idx = append(idx, i)
		}
	}
	return idx
}

// SliceTypes returns, per access unit, the type of its first slice: 'I',
// 'P' or 'B' (from slice_type in the slice header).
func SliceTypes(aus []AU) []byte {
	out := make([]byte, len(aus))
	for i, au := range aus {
		out[i] = '?'
		for _, n := range au.NALUs {
			t := h264.NALUType(n[0] & 0x1f)
			if t != h264.NALUTypeIDR && t != h264.NALUTypeNonIDR {
				continue
			}
			br := bitReader{buf: h264.EmulationPreventionRemove(n[1:])}
			br.ue() // first_mb_in_slice
			switch br.ue() % 5 {
			case 0:
				out[i] = 'P'
			case 1:
				out[i] = 'B'
			case 2:
				out[i] = 'I'
			}
			break
		}
	}
	return out
}

type bitReader struct {
	buf []byte
	pos int
}

func (b *bitReader) bit() uint32 {
	if b.pos/8 >= len(b.buf) {
		return 0
	}
	v := (b.buf[b.pos/8] >> (7 - b.pos%8)) & 1
	b.pos++
	return uint32(v)
}

// ue reads an Exp-Golomb code.
func (b *bitReader) ue() uint32 {
	zeros := 0
	for b.bit() == 0 && zeros < 32 {
		zeros++
	}
	v := uint32(1)
	for i := 0; i < zeros; i++ {
		v = v<<1 | b.bit()
	}
	return v - 1
}
