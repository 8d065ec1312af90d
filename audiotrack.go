package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// streamOrigin is the running time both tracks of a stream count from:
// that of the first frame or the first samples, whichever come first, so
// that a program serving them in step has them play in step. It is never
// before min, the audio encoder's delay, by which samples are stamped
// early.
type streamOrigin struct {
	min time.Duration
	mu  sync.Mutex
	set bool
	t   time.Duration
}

// at is the origin, set to now if nothing has been served yet.
func (o *streamOrigin) at(now time.Duration) time.Duration {
	if o == nil {
		return max(now, 0)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.set {
		o.set, o.t = true, max(now, o.min)
	}
	return o.t
}

func (o *streamOrigin) isSet() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.set
}

const (
	// fillTick is how often a live stream's audio is topped up with
	// silence where nothing else came.
	fillTick = 20 * time.Millisecond
	// silenceChunk bounds one buffer of silence.
	silenceChunk = 100 * time.Millisecond
	// minAudioSlack is the least a producer of samples may lag play time
	// before silence fills the gap (a capture card hands over 20–100 ms
	// at a time, late by as much).
	minAudioSlack = 200 * time.Millisecond
)

// samplesDuration is how long n samples at rate last, exactly (128-bit).
func samplesDuration(n int64, rate int) time.Duration {
	hi, lo := bits.Mul64(uint64(n), uint64(time.Second))
	q, _ := bits.Div64(hi%uint64(rate), lo, uint64(rate))
	return time.Duration(q)
}

// samplesIn is how many whole samples at rate fit in d (d ≥ 0).
func samplesIn(d time.Duration, rate int) int64 {
	hi, lo := bits.Mul64(uint64(d), uint64(rate))
	q, _ := bits.Div64(hi%uint64(time.Second), lo, uint64(time.Second))
	return int64(q)
}

// audioTrack is the push path of a stream's audio: samples served by the
// program, or silence, stamped on the stream's time line and pushed into
// the audio appsrc. The track is continuous: sample n plays at base +
// n/rate, and where no samples come in time (the producer stalled, or
// there is none: Silence) silence fills the gap, so neither track waits
// on the other beyond the frames-ahead bound.
type audioTrack struct {
	p       *gstpipe.Pipeline
	flow    *flow
	rate    int
	frame   int  // bytes a sample takes on every channel
	silent  bool // the library makes the whole track
	live    bool
	ahead   time.Duration // the frames-ahead bound as time
	slack   time.Duration // how far a producer may lag play time
	hard    time.Duration // ServeAudio refuses once appsrc holds this much
	delay   time.Duration // the encoder's: samples are stamped this much early
	origin  *streamOrigin
	done    <-chan struct{}
	failure func() error

	mu       sync.Mutex // serializes stamping and pushing; never held while waiting
	started  bool
	base     time.Duration // running time of sample 0
	next     int64         // samples pushed so far: the next one's index
	videoEnd time.Duration // where the frames pushed so far end
	moved    chan struct{} // closed and replaced when videoEnd moves
	served   int64         // samples the program served
	filled   int64         // samples of silence filled in
	// gap says silence was filled in since the program's last samples;
	// fresh that the program served samples since the last frame. lags
	// are how far the samples stood behind the frames' end at the last
	// frames pushed while both producers were serving: where a producer
	// that stalled rejoins the other.
	gap     bool
	fresh   bool
	lags    lagWindow
	refused int64
	closing bool
}

func newAudioTrack(st *stream, fl *flow, origin *streamOrigin) *audioTrack {
	a, c := st.cfg.Audio, st.cfg
	return &audioTrack{p: st.p, flow: fl, rate: a.rate(), frame: a.frameBytes(), silent: a.Source == SilentAudio,
		live: st.desc.live(), ahead: aheadTime(c), slack: audioSlack(c),
		hard: st.desc.audio.hard, delay: st.desc.audio.delay, origin: origin, done: st.done, failure: st.failure, moved: make(chan struct{})}
}

// nextTime is the running time the next sample plays at (it is stamped
// the encoder's delay earlier).
func (a *audioTrack) nextTime() time.Duration { return a.base + samplesDuration(a.next, a.rate) }

// startLocked anchors the track on the stream's origin; a file's is
// where its frames start, with no clock to read.
func (a *audioTrack) startLocked(now time.Duration) {
	if a.started {
		return
	}
	a.started = true
	if !a.live {
		now = 0
	}
	a.base = a.origin.at(now)
}

// pushLocked pushes n samples (data, or silence when data is nil).
func (a *audioTrack) pushLocked(data []byte, n int64) error {
	pts := a.nextTime() - a.delay
	end := a.base + samplesDuration(a.next+n, a.rate) - a.delay
	if err := a.p.PushAudio(data, int(n)*a.frame, pts, end-pts, a.next, a.next+n); err != nil {
		return err
	}
	a.next += n
	if data == nil {
		a.filled += n
		a.gap = true
	}
	return nil
}

// fillLocked pushes silence up to target, if the track ends before it.
func (a *audioTrack) fillLocked(target time.Duration) error {
	if !a.started || target <= a.nextTime() {
		return nil
	}
	want := samplesIn(target-a.base, a.rate)
	chunk := samplesIn(silenceChunk, a.rate)
	for a.next < want {
		if err := a.pushLocked(nil, min(want-a.next, chunk)); err != nil {
			return err
		}
	}
	return nil
}

// follow is told where the frames pushed so far end. A silent track
// keeps up with them; a file's served track that lags them by more than
// the frames-ahead bound gets silence, so the muxer, which takes both
// tracks in time order, never holds the frames back on it.
func (a *audioTrack) follow(end time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return
	}
	a.videoEnd = end
	if !a.live { // only a file's samples wait for the frames to move
		close(a.moved)
		a.moved = make(chan struct{})
	}
	if !a.started { // the clock is read once, not on every frame
		a.startLocked(a.p.RunningTime())
	}
	if a.fresh && !a.gap {
		a.lags.add(min(max(end-a.nextTime(), -a.ahead), a.ahead))
	}
	a.fresh = false
	switch {
	case a.silent:
		_ = a.fillLocked(end)
	case !a.live:
		_ = a.fillLocked(end - a.ahead)
	}
}

// tick tops a live track up to play time: a silent one always, a served
// one once its producer lags by more than the slack.
func (a *audioTrack) tick() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing || !a.started && !a.origin.isSet() {
		return
	}
	now := a.p.RunningTime()
	if now < 0 {
		return
	}
	a.startLocked(now)
	if a.silent || a.nextTime() < now-a.slack {
		_ = a.fillLocked(now)
	}
}

// run ticks until stop closes.
func (a *audioTrack) run(stop <-chan struct{}) {
	t := time.NewTicker(fillTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			a.tick()
		}
	}
}

// usableLocked says why the track takes no samples now, if it does not.
func (a *audioTrack) usableLocked() error {
	if err := a.failure(); err != nil {
		return err
	}
	if a.closing {
		return ErrClosed
	}
	return nil
}

// waitLocked is how long the frames-ahead rule holds the next samples
// back: on a live stream until they are within the bound of play time,
// in a file until the frames are (a channel that closes when they move).
func (a *audioTrack) waitLocked(now time.Duration) (time.Duration, <-chan struct{}) {
	if a.live {
		return max(a.nextTime()-a.ahead-now, 0), nil
	}
	if a.nextTime() > a.videoEnd+a.ahead {
		return 0, a.moved
	}
	return 0, nil
}

// serve pushes samples served by the program. Blocking, it waits
// (cancellably) until the frames-ahead rule and appsrc allow them;
// non-blocking, it refuses them only at the queue's hard cap. Samples
// that come later than the slack after their place on the time line
// (the producer stalled, and silence filled in) go on from play time.
func (a *audioTrack) serve(ctx context.Context, pcm []byte, blocking bool) error {
	n := int64(len(pcm) / a.frame)
	for {
		a.mu.Lock()
		if err := a.usableLocked(); err != nil {
			a.mu.Unlock()
			return err
		}
		now := a.p.RunningTime()
		a.startLocked(now)
		if blocking {
			wait, moved := a.waitLocked(now)
			enough, wake := a.flow.state()
			if wait > 0 || moved != nil || enough {
				a.mu.Unlock()
				if err := a.waitFor(ctx, wait, moved, enough, wake); err != nil {
					return err
				}
				continue
			}
		} else if q := a.p.AudioQueued(); q >= a.hard {
			a.refused++
			a.mu.Unlock()
			return fmt.Errorf("%w: %v of audio queued (cap %v); wait AudioWaitRef()", ErrQueueFull, q.Round(time.Millisecond), a.hard)
		}
		err := a.rejoinLocked(now)
		if err == nil {
			if err = a.pushLocked(pcm, n); err == nil {
				a.served += n
				a.fresh = true
			}
		}
		a.mu.Unlock()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, gstpipe.ErrFlushing):
			return ErrClosed
		case a.failure() != nil:
			return a.failure()
		default:
			return fmt.Errorf("%w: %v", ErrPipeline, err)
		}
	}
}

// rejoinLocked places the program's next samples. On time, they follow
// the samples before. Late by more than the slack (live), silence fills
// up to now first. After silence, they rejoin the frames where they
// stood before it (lag): a stalled producer that resumes plays in step
// with its frames again, whether it serves ahead of play time or just
// in time.
func (a *audioTrack) rejoinLocked(now time.Duration) error {
	if a.live && a.nextTime() < now-a.slack {
		if err := a.fillLocked(now); err != nil {
			return err
		}
	}
	if !a.gap {
		return nil
	}
	a.gap = false
	if a.videoEnd == 0 { // no frame yet: nothing to rejoin
		return nil
	}
	return a.fillLocked(a.videoEnd - a.lags.median())
}

// videoRejoin is where the next frame goes after a stall of the frames
// (they are late: now at the earliest): in step with the samples served
// meanwhile, where the frames stood relative to them before the stall
// (the lag is measured at the end of a frame just pushed, so the frame
// starts a period earlier). When that is in the past, the frame goes at
// now and the samples, which trail play time by up to the slack while
// silence fills in, rejoin it with their next call.
func (a *audioTrack) videoRejoin(now, period time.Duration) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.started || a.served == 0 {
		return now
	}
	at := now
	if !a.gap {
		at = a.nextTime() + a.lags.median() - period
	}
	if at <= now {
		a.gap = true // the samples rejoin the frames
	}
	return max(at, now)
}

// lagWindow holds the last lags measured. Their median is the lag: one
// producer alone serves in step, frame then samples, and measures the
// same every time; two producers paced on their own stand a frame or a
// chunk apart from one moment to the next, more on a loaded machine,
// and a single measure put a stalled one back up to 66 ms off.
type lagWindow struct {
	v [15]time.Duration
	n int // measures so far
}

func (w *lagWindow) add(d time.Duration) {
	w.v[w.n%len(w.v)] = d
	w.n++
}

func (w *lagWindow) median() time.Duration {
	k := min(w.n, len(w.v))
	if k == 0 {
		return 0
	}
	s := slices.Clone(w.v[:k])
	slices.Sort(s)
	return s[k/2]
}

func (a *audioTrack) waitFor(ctx context.Context, wait time.Duration, moved <-chan struct{}, enough bool, wake <-chan struct{}) error {
	return waitPush(ctx, wait, moved, enough, wake, a.done, func() error {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.usableLocked()
	})
}

// waitRef is AudioWaitRef for this track: at least a tick while the
// queue is at its hard cap, so a loop that sleeps it never spins.
func (a *audioTrack) waitRef() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var w time.Duration
	if a.started {
		w, _ = a.waitLocked(a.p.RunningTime())
	}
	if a.p.AudioQueued() >= a.hard {
		w = max(w, fillTick)
	}
	return w
}

// finish takes no more samples and makes the track as long as the
// frames: silence up to their end, or the samples beyond it cut (a file
// has no clock to hold a producer back, and one serving samples
// beyond the frames' end ran up to the frames-ahead bound past it). It
// says whether the track has samples, which then need their
// end-of-stream too.
func (a *audioTrack) finish() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closing = true
	if a.videoEnd > 0 {
		if !a.started {
			a.startLocked(a.p.RunningTime())
		}
		_ = a.fillLocked(a.videoEnd)
		if a.nextTime() > a.videoEnd {
			a.p.ClipAudio(a.videoEnd - a.delay)
		}
	}
	return a.next > 0
}

// counts are the track's figures for Stats.
func (a *audioTrack) counts(s *Stats) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s.AudioServed = samplesDuration(a.served, a.rate)
	s.AudioFilled = samplesDuration(a.filled, a.rate)
	s.AudioRefused = a.refused
}
