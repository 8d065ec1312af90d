package mpegserver

import "sync"

// flow is appsrc's need-data / enough-data state, the back-pressure. It is
// level-triggered: a waiter reads the state and the channel under one lock,
// so a need-data that fires between the read and the wait is never lost.
// (An edge-triggered version, waiting for a need-data that had already
// fired, is what hung start-up in an early prototype.)
//
// enough-data runs inside the push, on the pushing goroutine, and need-data
// on a streaming thread: set takes only f.mu, which no pusher holds while
// pushing.
type flow struct {
	mu     sync.Mutex
	enough bool
	wake   chan struct{} // closed when enough turns false
}

func newFlow() *flow { return &flow{wake: make(chan struct{})} }

func (f *flow) set(enough bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enough && !enough {
		close(f.wake)
		f.wake = make(chan struct{})
	}
	f.enough = enough
}

// state returns whether appsrc has enough, and a channel closed once it
// wants data again.
func (f *flow) state() (bool, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.enough, f.wake
}
