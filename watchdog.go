package mpegserver

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// watchdog watches the main output's TCP connection (an output whose
// facts say watched): it finds the sink's socket, then reports the link
// lost when the server closes it (ErrDisconnected) or when data waits and
// nothing is acknowledged for StallTimeout (ErrStalled). The sinks report
// neither in time: a closed server is only a warning until the next write
// fails, and a dead link blocks their writes once the kernel's buffers are
// full, which takes many seconds, with no error at all.
type watchdog struct {
	shown        string          // the address, redacted, for errors
	setup, stall time.Duration   // Config.SetupTimeout, Config.StallTimeout
	lost         func(error)     // reports the link lost
	failed       <-chan struct{} // closed when the stream fails
	failure      func() error    // why it failed

	mu     sync.Mutex
	sock   sinkSocket // the sink's connection, once found
	found  bool
	closed bool // stop has begun: no watcher starts any more
	quit   chan struct{}
	wg     sync.WaitGroup // the watchers running (one, or a new one after the output came back)
}

// watchEvery is how often the watchdog looks at the sink's connection;
// until it has found it, every findEvery, so that even a connection that
// lives a few milliseconds is seen (it tells a lost server from one never
// reached).
const (
	watchEvery = 100 * time.Millisecond
	findEvery  = 5 * time.Millisecond
)

func newWatchdog(shown string, c Config, lost func(error), failed <-chan struct{}, failure func() error) *watchdog {
	return &watchdog{shown: shown, setup: c.SetupTimeout, stall: c.StallTimeout, lost: lost,
		failed: failed, failure: failure, quit: make(chan struct{})}
}

// start watches a new connection to peer, one of the sockets that are not
// in before; unless the watchdog is stopping.
func (w *watchdog) start(peer netip.AddrPort, before map[uint64]int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.sock, w.found = sinkSocket{}, false
	w.wg.Add(1)
	go w.watch(peer, before, time.Now())
}

func (w *watchdog) watch(peer netip.AddrPort, before map[uint64]int, since time.Time) {
	defer w.wg.Done()
	tick := time.NewTicker(findEvery)
	defer tick.Stop()
	var acked uint64
	progress := time.Now()
	for {
		select {
		case <-w.quit:
			return
		case <-w.failed:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		if !w.found {
			w.sock, w.found = findSinkSocket(peer, before)
			w.mu.Unlock()
			if w.found || time.Since(since) > w.setup {
				tick.Reset(watchEvery)
			}
			progress = time.Now()
			continue
		}
		sock := w.sock
		w.mu.Unlock()
		state, ok := sock.state()
		now := time.Now()
		switch {
		case !ok:
			w.lost(fmt.Errorf("%w: %s: the connection closed", ErrDisconnected, w.shown))
		case !state.open:
			w.lost(fmt.Errorf("%w: %s closed the connection", ErrDisconnected, w.shown))
		case state.acked != acked || state.pending == 0:
			acked, progress = state.acked, now
			continue
		case now.Sub(progress) < w.stall:
			continue
		default:
			w.lost(fmt.Errorf("%w: %s acknowledged nothing for %v with data waiting",
				ErrStalled, w.shown, now.Sub(progress).Round(watchEvery)))
		}
		// A send blocked on the dead connection returns at once, so the
		// pipeline can stop.
		sock.shutdown()
		return
	}
}

// hasConnection says whether the watchdog found the sink's connection.
func (w *watchdog) hasConnection() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.found
}

// acknowledgedSome says whether the server has acknowledged at least
// what a sink writes before and with its first frame (sinkMinWritten).
func (w *watchdog) acknowledgedSome() bool {
	w.mu.Lock()
	sock, found := w.sock, w.found
	w.mu.Unlock()
	if !found {
		return false
	}
	state, ok := sock.state()
	return ok && state.acked >= sinkMinWritten
}

// stop ends every watcher and waits for them.
func (w *watchdog) stop() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.quit)
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// shutdown ends the connection, so the sink stops at once instead of
// finishing a blocked send.
func (w *watchdog) shutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.found {
		w.sock.shutdown()
	}
}

// acknowledged waits, until ctx ends, for the server to acknowledge every
// byte the sink wrote: frames in the kernel's buffers are not yet
// delivered, and a stalled link would lose them silently. late says what
// ran out.
func (w *watchdog) acknowledged(ctx context.Context, late func(error, string) error) error {
	w.mu.Lock()
	sock, found := w.sock, w.found
	w.mu.Unlock()
	if !found {
		return nil
	}
	for {
		state, ok := sock.state()
		if !ok || state.pending == 0 {
			return nil // closed after sending everything, or all acknowledged
		}
		select {
		case <-w.failed:
			return w.failure()
		case <-ctx.Done():
			return late(ErrStalled, w.shown+" had not acknowledged the stream's last frames (they were lost)")
		case <-time.After(10 * time.Millisecond):
		}
	}
}
