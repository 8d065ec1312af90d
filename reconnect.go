package mpegserver

import (
	"context"
	"time"
)

// The reconnection policy, for the whole stream after a loss (session.go)
// and for one lost output while the others go on (branches.go) alike:
// the first attempt at once, then after a back-off doubling from
// reconnectFirst up to Config.ReconnectMaxWait, each attempt bounded by
// Config.SetupTimeout, until one succeeds or the stream closes.
const reconnectFirst = 250 * time.Millisecond

// backoff is the wait before each attempt.
type backoff struct {
	first, max time.Duration
	wait       time.Duration // before the next attempt
}

func newBackoff(maxWait time.Duration) *backoff {
	return &backoff{first: reconnectFirst, max: maxWait}
}

// next gives the wait before the next attempt and moves on.
func (b *backoff) next() time.Duration {
	w := b.wait
	b.wait = min(max(2*b.wait, b.first), b.max)
	return w
}

// retry calls try with attempt 1, 2, ... as the back-off allows, until try
// succeeds (true) or stop is closed (false).
func retry(clk clock, stop <-chan struct{}, b *backoff, try func(attempt int) bool) bool {
	for attempt := 1; ; attempt++ {
		if wait := b.next(); wait > 0 {
			c, cancel := clk.After(wait)
			select {
			case <-c:
			case <-stop:
				cancel()
				return false
			}
		}
		select {
		case <-stop:
			return false
		default:
		}
		if try(attempt) {
			return true
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
