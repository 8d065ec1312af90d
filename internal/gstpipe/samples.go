package gstpipe

/*
#include <stdlib.h>
#include "gstpipe.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
)

// OnSamples hands every buffer that reaches element i, an appsink, to fn:
// on the streaming thread, synchronously (the sink never queues), until
// Release. b is valid only during the call. The handler stays with index
// i when ReplaceBranch swaps the element, and is installed on the new one
// before it receives anything. Call it before Start.
func (p *Pipeline) OnSamples(i int, fn func(b []byte)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.released {
		return fmt.Errorf("gstpipe: pipeline released")
	}
	if i < 0 || i >= len(p.elems) {
		return fmt.Errorf("gstpipe: no element %d", i)
	}
	h := cgo.NewHandle(fn)
	if C.ms_sample_callbacks(elemPtr(p.elems[i]), C.uintptr_t(h)) == 0 {
		h.Delete()
		return fmt.Errorf("gstpipe: element %d (%s) is not an appsink", i, p.elems[i].GetName())
	}
	runtime.KeepAlive(p.elems)
	if p.samples == nil {
		p.samples = map[int]cgo.Handle{}
	}
	// A handle replaced here may still be in a call: all are deleted at
	// Release, once nothing streams.
	p.samples[i] = h
	p.handles = append(p.handles, h)
	return nil
}

// RequestKeyframe asks the encoder upstream of element i for a keyframe
// as soon as it can (a force-key-unit event from i's sink pad; i is an
// element after the encoder). The parameter sets come with it from the
// parser (config-interval=-1), not asked of every element again.
func (p *Pipeline) RequestKeyframe(i int) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released || i < 0 || i >= len(p.elems) {
		return
	}
	C.ms_request_keyframe(elemPtr(p.elems[i]), 0)
	runtime.KeepAlive(p.elems)
}
