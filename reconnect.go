package mpegserver

import (
	"context"
	"errors"
	"sync"
	"time"
)

// The reconnection policy, for the whole stream after a loss (session.go)
// and for one lost output while the others go on (branches.go) alike:
//
//   - the first attempt at once, then after a back-off doubling from
//     reconnectFirst up to Config.ReconnectMaxWait, each attempt bounded
//     by Config.SetupTimeout, until one delivers or the stream closes;
//   - a stream counts as back only once its first frames reached the
//     server, and the back-off starts over only after it stayed up for
//     reconnectHealthy: a link that flaps, or another publisher that
//     keeps replacing this one, costs one attempt per ReconnectMaxWait
//     after the first few, not a storm;
//   - a refusal (ErrRefused: credentials, a path, a stream name) is not
//     retried: the same request would be refused again.
const (
	reconnectFirst   = 250 * time.Millisecond
	reconnectHealthy = 10 * time.Second
	// flappingAfter is how many losses in a row of streams that did not
	// stay up make a Flapping event.
	flappingAfter = 3
)

// backoff is the wait before each attempt, kept across losses while the
// stream does not stay up.
type backoff struct {
	clk        clock
	first, max time.Duration
	wait       time.Duration // before the next attempt
	upSince    time.Time     // when the last attempt delivered; zero before any
	flaps      int           // losses in a row of streams that did not stay up
}

func newBackoff(clk clock, maxWait time.Duration) *backoff {
	return &backoff{clk: clk, first: reconnectFirst, max: maxWait}
}

// next gives the wait before the next attempt and moves on.
func (b *backoff) next() time.Duration {
	w := b.wait
	b.wait = min(max(2*b.wait, b.first), b.max)
	return w
}

// lost records a loss: after a stream that stayed up the back-off starts
// over; otherwise it goes on from where it was. It returns how many
// losses in a row came soon after a reconnection.
func (b *backoff) lost() int {
	if !b.upSince.IsZero() && b.clk.Now().Sub(b.upSince) >= reconnectHealthy {
		b.wait, b.flaps = 0, 0
		return 0
	}
	if !b.upSince.IsZero() {
		b.flaps++
	}
	return b.flaps
}

// retry calls try with attempt 1, 2, ... as the back-off allows, until try
// succeeds (nil), try refuses for good (an error matching ErrRefused,
// returned), or stop is closed (ErrClosed).
func retry(stop <-chan struct{}, b *backoff, try func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		if wait := b.next(); wait > 0 {
			c, cancel := b.clk.After(wait)
			select {
			case <-c:
			case <-stop:
				cancel()
				return ErrClosed
			}
		}
		select {
		case <-stop:
			return ErrClosed
		default:
		}
		err := try(attempt)
		switch {
		case err == nil:
			b.upSince = b.clk.Now()
			return nil
		case errors.Is(err, ErrRefused):
			return err
		}
	}
}

// setupContext bounds one attempt by the setup timeout and ends it when
// stop is closed, so Close does not wait out an attempt.
func setupContext(stop <-chan struct{}, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// pacer paces and counts the frames dropped while no stream is up, one a
// frame period from when the stream was lost, so a producer's loop keeps
// its pace.
type pacer struct {
	clk     clock
	period  time.Duration
	mu      sync.Mutex
	slot    time.Time // when the next frame is due
	dropped int64
	total   time.Duration // how long what was dropped lasts
}

// start begins an outage at now.
func (p *pacer) start(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.slot = now
}

// drop counts a frame; blocking, it first waits for the frame's slot, or
// until ctx ends or stop is closed.
func (p *pacer) drop(ctx context.Context, blocking bool, stop <-chan struct{}) error {
	return p.dropFor(ctx, blocking, stop, p.period)
}

// dropFor is drop for something that lasts d (audio samples).
func (p *pacer) dropFor(ctx context.Context, blocking bool, stop <-chan struct{}, d time.Duration) error {
	p.mu.Lock()
	now := p.clk.Now()
	at := p.slot
	if at.Before(now) {
		at = now
	}
	p.slot = at.Add(d)
	p.dropped++
	p.total += d
	p.mu.Unlock()
	if !blocking {
		return nil
	}
	c, cancel := p.clk.After(at.Sub(now))
	defer cancel()
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return ErrClosed
	}
}

// wait is how long until the next frame's slot.
func (p *pacer) wait() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.slot.Sub(p.clk.Now()), 0)
}

// lasted is how long what was dropped lasts.
func (p *pacer) lasted() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// count is how many frames were dropped.
func (p *pacer) count() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}
