package gstpipe

// The appsrc and appsink callbacks are C functions (gstpipe.c, samples.c)
// that call back here with a handle to a Go function. go-gst's
// SetCallbacks wraps the element in new Go objects on every call;
// need-data fires about once per frame, so that was several allocations
// per frame.

/*
#cgo pkg-config: gstreamer-1.0
#include <stdint.h>
#include <glib.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

//export goMsFlow
func goMsFlow(h C.uintptr_t, enough C.int) {
	if f, ok := cgo.Handle(h).Value().(func(bool)); ok {
		f(enough != 0)
	}
}

// goMsSample hands one appsink buffer to the Go function behind h; the
// bytes are valid only during the call (samples.c).
//
//export goMsSample
func goMsSample(h C.uintptr_t, data *C.guint8, size C.gsize) {
	if f, ok := cgo.Handle(h).Value().(func([]byte)); ok {
		f(unsafe.Slice((*byte)(unsafe.Pointer(data)), int(size)))
	}
}
