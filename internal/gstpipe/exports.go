package gstpipe

// The appsrc callbacks are C functions (gstpipe.c) that call back here with
// a handle to the pipeline's flow function. go-gst's SetCallbacks wraps the
// appsrc in new Go objects on every call; need-data fires about once per
// frame, so that was several allocations per frame.

/*
#include <stdint.h>
*/
import "C"

import "runtime/cgo"

//export goMsFlow
func goMsFlow(h C.uintptr_t, enough C.int) {
	if f, ok := cgo.Handle(h).Value().(func(bool)); ok {
		f(enough != 0)
	}
}
