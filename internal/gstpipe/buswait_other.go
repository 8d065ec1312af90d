//go:build !linux

package gstpipe

/*
#include "gstpipe.h"
*/
import "C"

import "time"

// busWait waits for a bus's messages in a blocking C call. (On Linux the
// wait is in Go's poller: buswait_linux.go.)
type busWait struct{ bus *C.GstBus }

func newBusWait(bus *C.GstBus) (*busWait, error) { return &busWait{bus: bus}, nil }

// next waits for the bus's next message; false once stop is closed (and
// close has posted its wake-up).
func (w *busWait) next(stop <-chan struct{}) (Event, bool) {
	for {
		select {
		case <-stop:
			return Event{}, false
		default:
		}
		// The timeout bounds how long a stop can go unnoticed if the
		// wake-up message is lost.
		if ev, ok := popBus(w.bus, 200*time.Millisecond); ok {
			return ev, true
		}
	}
}

// close ends the wait (stop must be closed first): a message posted to the
// bus wakes the blocking pop.
func (w *busWait) close() { C.ms_bus_wake(w.bus) }
