//go:build !linux

package gstpipe

/*
#include "gstpipe.h"
*/
import "C"

import "time"

// busWait waits for a bus's messages in a blocking C call. (On Linux the
// wait is in Go's poller: buswait_linux.go.)
type busWait struct{}

func newBusWait(*C.GstBus) (*busWait, error) { return &busWait{}, nil }

// next waits for the bus's next message; false once stop is closed (a
// message posted to the bus, ms_bus_wake, makes it look).
func (w *busWait) next(bus *C.GstBus, stop <-chan struct{}) (Event, bool) {
	for {
		select {
		case <-stop:
			return Event{}, false
		default:
		}
		// The timeout bounds how long a stop can go unnoticed if the
		// wake-up message is lost.
		if ev, ok := popBus(bus, 200*time.Millisecond); ok {
			return ev, true
		}
	}
}

// close has nothing to free; stop and ms_bus_wake end the wait.
func (w *busWait) close() {}
