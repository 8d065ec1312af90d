package mpegserver

import (
	"sync"
	"time"
)

// KeyframeInterval is the least time between two keyframes asked of the
// encoder on top of its GOP (RequestKeyframe, a viewer joining, a WHIP
// server's PLI): many requests at once cost one extra keyframe, and one
// that comes within the interval of the last is answered at the
// interval's end. A keyframe costs several frames' worth of bits, and the
// encoder's rate control takes them from the frames that follow: four a
// second at most keeps that visible only as a brief softening, while a
// viewer waits at most this long for a picture.
const KeyframeInterval = 250 * time.Millisecond

// keyframes rate-limits a stream's keyframe requests.
type keyframes struct {
	clk  clock
	stop <-chan struct{} // the stream's end: a request still waiting is dropped
	send func()

	mu      sync.Mutex
	last    time.Time // when the encoder was last asked
	waiting bool      // a request waits for the interval's end
}

func newKeyframes(clk clock, stop <-chan struct{}, send func()) *keyframes {
	return &keyframes{clk: clk, stop: stop, send: send}
}

// request asks for a keyframe now, or at the end of the interval since
// the last one; it never blocks.
func (k *keyframes) request() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.waiting {
		return // the one waiting answers this request too
	}
	now := k.clk.Now()
	if k.last.IsZero() || now.Sub(k.last) >= KeyframeInterval {
		k.last = now
		k.send()
		return
	}
	k.waiting = true
	c, cancel := k.clk.After(k.last.Add(KeyframeInterval).Sub(now))
	go func() {
		select {
		case <-c:
		case <-k.stop:
			cancel()
			return
		}
		select {
		case <-k.stop: // ended as the interval did: nothing to ask of
			return
		default:
		}
		k.mu.Lock()
		k.waiting, k.last = false, k.clk.Now()
		k.send()
		k.mu.Unlock()
	}()
}

// RequestKeyframe asks the encoder for a keyframe as soon as it can, for
// a viewer that has just joined (or lost pictures) to start at once
// instead of waiting up to a GOP for the next one. Requests are merged:
// at most one extra keyframe per KeyframeInterval, a request within the
// interval answered at its end. The embedded server's readers ask for one
// through rtspserver's OnKeyframeWanted (docs/browser.md), a WHIP
// server with PLI; a program relaying the stream itself can call this.
// It does nothing while no stream is up.
func (s *Server) RequestKeyframe() {
	if st, err := s.stream(); err == nil {
		st.keys.request()
	}
}
