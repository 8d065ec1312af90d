package gstpipe

/*
#include <stdlib.h>
#include "gstpipe.h"
#include "audio.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"time"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// Join is where one output's part of the audio chain ends: Audio[First:End]
// (empty for a single output whose track goes straight in) is linked from
// the end of the shared part, and its last element into Elements[Into],
// on a request pad of template Pad ("" for any compatible pad).
type Join struct {
	First, End int
	Into       int
	Pad        string
}

// audioSpecError says what is wrong with a Spec's audio part, or nil.
func audioSpecError(s Spec) error {
	if len(s.Audio) == 0 {
		return nil
	}
	if s.Audio[0].Factory != "appsrc" || len(s.AudioJoins) == 0 {
		return errors.New("gstpipe: the audio chain must start with an appsrc and join an output")
	}
	shared := s.AudioJoins[0].First
	for i, j := range s.AudioJoins {
		if j.First < shared || j.End < j.First || j.End > len(s.Audio) || j.Into < 0 || j.Into >= len(s.Elements) ||
			(i > 0 && j.First < s.AudioJoins[i-1].End) || (len(s.AudioJoins) > 1 && j.First == j.End) {
			return fmt.Errorf("gstpipe: bad audio join %+v", j)
		}
	}
	if shared < 1 || s.AudioDrainAt < 0 || s.AudioDrainAt >= len(s.Audio) {
		return fmt.Errorf("gstpipe: bad audio chain (shared part %d, drain at %d)", shared, s.AudioDrainAt)
	}
	return nil
}

// buildAudio makes the audio chain, links it into the outputs, and sets
// its appsrc up as build does the video's.
func (p *Pipeline) buildAudio(s Spec) error {
	if len(s.Audio) == 0 {
		return nil
	}
	if err := audioSpecError(s); err != nil {
		return err
	}
	var err error
	if p.aelems, err = p.addElements(s.Audio); err != nil {
		return err // Release drops what was made
	}
	shared := s.AudioJoins[0].First
	if err := linkChain(p.aelems[:shared]); err != nil {
		return err
	}
	for k, j := range s.AudioJoins {
		if err := p.linkJoin(p.aelems[shared-1], p.aelems[j.First:j.End], p.elems[j.Into], j.Pad); err != nil {
			return fmt.Errorf("audio to output %d: %v", k, err)
		}
	}
	p.joins = s.AudioJoins
	p.asrcPtr = elemPtr(p.aelems[0])
	cs := C.CString(s.AudioCaps)
	defer C.free(unsafe.Pointer(cs))
	if C.ms_set_appsrc_caps(p.asrcPtr, cs) == 0 {
		return fmt.Errorf("audio caps %q do not parse", s.AudioCaps)
	}
	if s.OnAudioFlow != nil {
		p.audioHandle = cgo.NewHandle(s.OnAudioFlow)
		C.ms_flow_callbacks(p.asrcPtr, C.uintptr_t(p.audioHandle))
	}
	watchDrain(p.aelems[s.AudioDrainAt])
	p.drainNames[p.aelems[s.AudioDrainAt].GetName()] = false
	runtime.KeepAlive(p.aelems)
	return nil
}

// linkJoin links from through chain (may be empty) into the element into.
func (p *Pipeline) linkJoin(from *gst.Element, chain []*gst.Element, into *gst.Element, pad string) error {
	last := from
	if len(chain) > 0 {
		if err := from.Link(chain[0]); err != nil {
			return err
		}
		if err := linkChain(chain); err != nil {
			return err
		}
		last = chain[len(chain)-1]
	}
	cp := C.CString(pad)
	defer C.free(unsafe.Pointer(cp))
	if C.ms_link_into(elemPtr(last), elemPtr(into), cp) == 0 {
		return fmt.Errorf("cannot link %s into %s", last.GetName(), into.GetName())
	}
	return nil
}

// watchDrain makes end-of-stream leaving e post the message that
// reports EventDrained (once every track's has).
func watchDrain(e *gst.Element) { C.ms_watch_drain(elemPtr(e)) }

// linkTee links a new branch's first element to a running tee (see
// ms_link_tee).
func linkTee(tee, first *gst.Element) error {
	if C.ms_link_tee(elemPtr(tee), elemPtr(first)) == 0 {
		return fmt.Errorf("cannot link %s to %s", first.GetName(), tee.GetName())
	}
	return nil
}

// HasAudio says whether the pipeline has an audio chain.
func (p *Pipeline) HasAudio() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.asrcPtr != nil
}

// PushAudio gives appsrc interleaved samples (data), or, with data nil,
// size bytes of silence, stamped pts; offsets count samples. It never
// blocks, and returns ErrFlushing once the pipeline takes no more.
func (p *Pipeline) PushAudio(data []byte, size int, pts, dur time.Duration, offset, offsetEnd int64) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released || p.asrcPtr == nil {
		return ErrFlushing
	}
	var ptr *C.guint8
	if data != nil {
		size = len(data)
		ptr = (*C.guint8)(unsafe.Pointer(unsafe.SliceData(data)))
	}
	ret := C.ms_push_audio(p.asrcPtr, ptr, C.gsize(size), C.GstClockTime(pts), C.GstClockTime(dur),
		C.guint64(offset), C.guint64(offsetEnd))
	runtime.KeepAlive(data)
	runtime.KeepAlive(p.aelems)
	return pushResult(gst.FlowReturn(ret), "the samples")
}

// AudioQueued is how much audio appsrc holds that has not left it.
func (p *Pipeline) AudioQueued() time.Duration {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released || p.asrcPtr == nil {
		return 0
	}
	t := C.ms_level_time(p.asrcPtr)
	runtime.KeepAlive(p.aelems)
	return time.Duration(t)
}

// ClipAudio cuts the audio at end (a time stamp): encoded frames that
// start there or later are dropped before each output takes them, so
// samples served beyond the frames and not yet muxed are not written.
func (p *Pipeline) ClipAudio(end time.Duration) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return
	}
	for _, j := range p.joins {
		C.ms_clip_audio(elemPtr(p.aelems[j.End-1]), C.GstClockTime(end))
	}
	runtime.KeepAlive(p.aelems)
}

// AudioEndOfStream tells the audio appsrc no more samples come.
func (p *Pipeline) AudioEndOfStream() {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released || p.asrcPtr == nil {
		return
	}
	C.ms_end_of_stream(p.asrcPtr)
	runtime.KeepAlive(p.aelems)
}

// elem is element i of the pipeline: Elements first, then Audio.
// Callers hold mu.
func (p *Pipeline) elem(i int) *gst.Element {
	if i < len(p.elems) {
		return p.elems[i]
	}
	return p.aelems[i-len(p.elems)]
}

// replaceAudioJoin makes new elements for output k's part of the audio
// chain, linked in order and into into (the output's new element taking
// the track), once the old part is cut off. The elements made are
// returned even on error, for the caller to remove. Callers hold
// branchMu.
func (p *Pipeline) replaceAudioJoin(k int, elems []Element, into *gst.Element) ([]*gst.Element, error) {
	j := p.joins[k]
	if len(elems) != j.End-j.First || len(elems) == 0 {
		return nil, fmt.Errorf("gstpipe: the audio of branch %d has %d elements, not %d", k, j.End-j.First, len(elems))
	}
	fresh, err := p.addElements(elems)
	if err != nil {
		return fresh, err
	}
	return fresh, p.linkJoin(fresh[0], fresh[1:], into, j.Pad)
}
