package gstpipe

/*
#include "gstpipe.h"
*/
import "C"

import (
	"fmt"
	"os"
	"syscall"
)

// busWait waits for a bus's messages in Go's network poller. A goroutine
// parked in a blocking C call holds one of the process's Ps until the
// runtime's monitor takes it back (after 10 ms), and each time that wakes
// the monitor into polling every 20 µs; with one watcher per stream that
// adds up (docs/design.md). The bus's file descriptor, readable while
// messages wait, goes into an epoll set of our own, so GStreamer's
// descriptor keeps its flags; the set's descriptor is what the poller
// watches.
type busWait struct {
	bus *C.GstBus
	f   *os.File
	rc  syscall.RawConn
}

func newBusWait(bus *C.GstBus) (*busWait, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cannot watch the bus: epoll: %v", err)
	}
	fd := int(C.ms_bus_fd(bus))
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		syscall.Close(ep)
		return nil, fmt.Errorf("cannot watch the bus: epoll_ctl: %v", err)
	}
	if err := syscall.SetNonblock(ep, true); err != nil {
		syscall.Close(ep)
		return nil, fmt.Errorf("cannot watch the bus: %v", err)
	}
	f := os.NewFile(uintptr(ep), "gstreamer bus")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot watch the bus: %v", err)
	}
	return &busWait{bus: bus, f: f, rc: rc}, nil
}

// next waits for the bus's next message; false once stop is closed or
// the wait is closed.
func (w *busWait) next(stop <-chan struct{}) (ev Event, ok bool) {
	err := w.rc.Read(func(uintptr) bool {
		select {
		case <-stop:
			return true
		default:
		}
		ev, ok = popBus(w.bus, 0)
		return ok
	})
	return ev, ok && err == nil
}

// close ends the wait, and a wait under way (stop must be closed first),
// and frees the descriptor.
func (w *busWait) close() { w.f.Close() }
