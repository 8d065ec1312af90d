// Package gstpipe is the one door to GStreamer: every go-gst call and every
// line of cgo in the module is in this package, so moving to other bindings
// touches it alone. It builds a pipeline from a plain description (element
// factories and properties in their gst-launch string form), pushes frames
// into its appsrc (converted to I420 by libyuv on the way in, or copied
// when they are 4:2:0 already), and reports what the bus says.
package gstpipe

/*
#cgo pkg-config: gstreamer-1.0 gstreamer-base-1.0 gstreamer-app-1.0 gstreamer-video-1.0
#include <stdlib.h>
#include "gstpipe.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/go-gst/go-glib/glib"
	"github.com/go-gst/go-gst/gst"
)

// Prop is one property in its gst-launch string form. The pipeline sets it
// through GStreamer's own deserializer (as gst-launch-1.0 does), so enum and
// flag names such as tune=zerolatency mean the same in a built pipeline and
// in a printed line, and no enum ever meets a Go integer (go-gst #96, #141).
type Prop struct {
	Name  string
	Value string
	// User marks a value the user typed (an address, a name): a printed
	// line always quotes it.
	User bool
	// Secret marks a password: never printed, never in an error.
	Secret bool
	// Shown, when set, is what a printed line shows instead of Value: the
	// value with a secret inside it replaced.
	Shown string
}

// Element is one element of a pipeline: a factory and its properties, set
// in order.
type Element struct {
	Factory string
	Props   []Prop
}

// Spec is what Build needs: the chain and the facts about it that Build
// must not guess.
type Spec struct {
	// Elements are linked in order. Elements[0] must be an appsrc.
	Elements []Element
	// Live: sinks do not sync to the clock (frames leave as soon as they
	// are encoded; the caller is paced upstream).
	Live bool
	// SourceCaps are appsrc's caps: I420 at Width × Height.
	SourceCaps string
	// Width and Height are the size of appsrc's frames: Push scales
	// frames of another size to it (libyuv), as it converts them.
	Width, Height int
	// FullRange converts frames to full-range YUV, else limited range;
	// the colorimetry in SourceCaps must say the same. The matrix is
	// BT.601 either way: libyuv has no other for RGB to YUV.
	FullRange bool
	// CountAt is the index of the element whose output is counted (encoded
	// frames and bytes) and whose end-of-stream reports EventDrained.
	CountAt int
	// PoolBuffers bounds the buffer pool frames are converted into
	// (0: no pool, a fresh buffer a frame).
	PoolBuffers int
	// Branches, when not empty, splits the chain: Elements[Branches[0]-1]
	// is a tee, and branch k, Elements[Branches[k]:Branches[k+1]] (the
	// last one to the end), is linked from it. What leaves each branch's
	// first element is counted (BranchEncoded), and every sink's own EOS
	// is reported (EventSinkEOS).
	Branches []int
	// DrainAt, when not 0, is the element whose end-of-stream reports
	// EventDrained instead of CountAt's (a queue after the counted
	// parser: frames have left it only once the end has).
	DrainAt int

	// Audio, when not empty, is a second source chain for an audio
	// track, numbered after Elements (element len(Elements)+i is
	// Audio[i]): Audio[0] is an appsrc taking AudioCaps, the part before
	// AudioJoins[0].First is shared (ending in a tee when there are
	// several joins), and each join takes the track into one output.
	Audio      []Element
	AudioCaps  string
	AudioJoins []Join
	// AudioDrainAt is the audio element whose end-of-stream is needed,
	// with the video's, for EventDrained.
	AudioDrainAt int
	// OnAudioFlow receives the audio appsrc's enough-data (true) and
	// need-data (false), as Build's onFlow does the video's.
	OnAudioFlow func(enough bool)
}

// EventKind says what the bus reported.
type EventKind int

const (
	EventError EventKind = iota
	EventWarning
	// EventDrained: end-of-stream has passed the counted element, so every
	// frame has been handed on. (The pipeline's own EOS is not enough:
	// the RTSP sink's internal RTCP sink may finish EOS seconds later,
	// or never; docs/design.md.)
	EventDrained
	// EventEOS: the pipeline's sinks have all finished.
	EventEOS
	// EventSinkEOS: one sink (Source, Path) has finished; reported only
	// for a pipeline with branches.
	EventSinkEOS
)

// Event is one bus message of interest.
type Event struct {
	Kind    EventKind
	Source  string // the element that posted it
	Path    string // its path in the pipeline, "/GstPipeline:pipeline0/GstBin:name/..."
	Message string
	Debug   string
	// OpenFailed: an error saying a resource could not be opened (the
	// server refused or vanished before the stream started).
	OpenFailed bool
	// IOFailed: an error saying reading or writing an open resource failed
	// (a connection lost, a disk full).
	IOFailed bool
}

// ErrFlushing is Push's answer once the pipeline stops taking frames
// (flushing or past end-of-stream).
var ErrFlushing = errors.New("gstpipe: pipeline is flushing")

// PropertyError is a property value an element refused.
type PropertyError struct{ Text string }

func (e *PropertyError) Error() string { return e.Text }

var initOnce sync.Once

func gstInit() {
	initOnce.Do(func() {
		gst.Init(nil)
		C.ms_quiet_gio()
	})
}

// Installed reports whether a GStreamer element factory is available.
func Installed(factory string) bool {
	gstInit()
	return gst.Find(factory) != nil
}

// Pipeline is a built GStreamer pipeline. Its methods are safe to call
// from several goroutines, and after Release, which frees everything Build
// made at once rather than when Go's garbage collector gets to it: then
// Push reports ErrFlushing and the others report what they last knew, or
// nothing.
type Pipeline struct {
	mu         sync.RWMutex // Release takes it to write; every other method to read
	releasing  bool         // Release has begun
	released   bool         // Release has freed everything
	pipe       *gst.Pipeline
	elems      []*gst.Element // in Spec order
	bus        *C.GstBus
	srcPtr     *C.GstElement
	pipePtr    *C.GstElement
	counts     *C.MsCounts
	frames     int64 // Encoded's answer after Release
	bytes      int64
	latN       []uint64 // EncodeLatency's answer after Release
	latSum     time.Duration
	branches   []*C.MsCounts // per branch, while not released
	branchN    [][2]int64    // BranchEncoded's answers after Release
	branchBase [][2]int64    // what earlier incarnations of each branch took
	branchAt   []int         // Spec.Branches
	branchMu   sync.Mutex    // one ReplaceBranch at a time, and none during Release
	pool       *C.GstBufferPool
	full       C.int // Spec.FullRange
	w, h       int   // Spec.Width, Spec.Height
	scaleMu    sync.Mutex
	scratch    []byte // a frame converted before it is scaled; under scaleMu
	flowHandle cgo.Handle
	samples    map[int]cgo.Handle // appsink handlers by element index (OnSamples)
	handles    []cgo.Handle       // every sample handle made, deleted at Release
	stop       chan struct{}
	bw         *busWait // the watcher's wait, from Start
	busDone    chan struct{}
	watching   bool // the bus watcher runs (Start was called)

	aelems      []*gst.Element // Spec.Audio, in order
	asrcPtr     *C.GstElement
	audioHandle cgo.Handle
	joins       []Join
	// drainNames are the elements whose end-of-stream EventDrained waits
	// for, and whether it has passed; touched by the bus watcher only.
	drainNames map[string]bool
}

func elemPtr(e *gst.Element) *C.GstElement { return (*C.GstElement)(e.Unsafe()) }

// Build creates the elements, sets their properties, and links them in
// order. Nothing runs until Start. onFlow receives appsrc's enough-data
// (true) and need-data (false): enough-data runs inside Push on the
// pushing goroutine, need-data on a streaming thread. On error everything
// built so far is released.
func Build(s Spec, onFlow func(enough bool)) (*Pipeline, error) {
	gstInit()
	if len(s.Elements) == 0 || s.Elements[0].Factory != "appsrc" {
		return nil, errors.New("gstpipe: the first element must be appsrc")
	}
	if s.CountAt < 0 || s.CountAt >= len(s.Elements) {
		return nil, fmt.Errorf("gstpipe: CountAt %d out of range", s.CountAt)
	}
	pipe, err := gst.NewPipeline("")
	if err != nil {
		return nil, fmt.Errorf("creating pipeline: %v", err)
	}
	p := &Pipeline{pipe: pipe, pipePtr: elemPtr(pipe.Element), stop: make(chan struct{}), busDone: make(chan struct{}),
		drainNames: map[string]bool{}}
	p.bus = C.ms_pipeline_bus(p.pipePtr)
	if err := p.build(s, onFlow); err != nil {
		p.Release()
		return nil, err
	}
	return p, nil
}

func (p *Pipeline) build(s Spec, onFlow func(enough bool)) error {
	p.full = cbool(s.FullRange)
	p.w, p.h = s.Width, s.Height
	for _, ed := range s.Elements {
		e, err := newElement(ed)
		if e != nil {
			p.elems = append(p.elems, e)
		}
		if err != nil {
			return err
		}
	}
	if err := p.pipe.AddMany(p.elems...); err != nil {
		return fmt.Errorf("adding elements: %v", err)
	}
	if err := p.link(s.Branches); err != nil {
		return err
	}
	p.srcPtr = elemPtr(p.elems[0])
	cs := C.CString(s.SourceCaps)
	defer C.free(unsafe.Pointer(cs))
	// appsrc carries the caps itself, so its buffers are typed from the
	// first one.
	if C.ms_set_appsrc_caps(p.srcPtr, cs) == 0 {
		return fmt.Errorf("source caps %q do not parse", s.SourceCaps)
	}
	if s.PoolBuffers > 0 {
		p.pool = C.ms_new_pool(cs, C.guint(s.PoolBuffers))
	}
	// The handle refers to the callback only, never an element, so nothing
	// here keeps the pipeline alive (go-gst #49, #138); Release deletes it.
	p.flowHandle = cgo.NewHandle(onFlow)
	C.ms_flow_callbacks(p.srcPtr, C.uintptr_t(p.flowHandle))
	if s.Live {
		C.ms_nosync(p.pipePtr)
	}
	// The counts are freed with the pad, which lives as long as p.elems
	// holds the element: reading them is safe while p is.
	p.counts = C.ms_watch_output(elemPtr(p.elems[s.CountAt]), 1)
	drainAt := s.CountAt
	if s.DrainAt > 0 && s.DrainAt < len(p.elems) {
		drainAt = s.DrainAt
		watchDrain(p.elems[drainAt])
	}
	p.drainNames[p.elems[drainAt].GetName()] = false
	p.branchAt = s.Branches
	for _, b := range s.Branches {
		p.branches = append(p.branches, C.ms_watch_output(elemPtr(p.elems[b]), 0))
		p.branchBase = append(p.branchBase, [2]int64{})
	}
	if len(s.Branches) > 0 {
		C.ms_forward_messages(p.pipePtr)
	}
	if err := p.buildAudio(s); err != nil {
		return err
	}
	runtime.KeepAlive(p.elems)
	return nil
}

// link links the chain in order, or, with branches, the chain up to the
// tee and each branch from it.
func (p *Pipeline) link(branches []int) error {
	end := len(p.elems)
	if len(branches) > 0 {
		end = branches[0]
	}
	for i, b := range branches {
		if b < 2 || b >= len(p.elems) || (i > 0 && b <= branches[i-1]) {
			return fmt.Errorf("gstpipe: bad branch start %d", b)
		}
	}
	if err := linkChain(p.elems[:end]); err != nil {
		return err
	}
	for i, b := range branches {
		bend := len(p.elems)
		if i+1 < len(branches) {
			bend = branches[i+1]
		}
		if err := p.elems[end-1].Link(p.elems[b]); err != nil {
			return fmt.Errorf("linking branch %d to the tee: %v", i, err)
		}
		if err := linkChain(p.elems[b:bend]); err != nil {
			return err
		}
	}
	return nil
}

func linkChain(elems []*gst.Element) error {
	if len(elems) < 2 {
		return nil
	}
	if err := gst.ElementLinkMany(elems...); err != nil {
		return fmt.Errorf("linking elements: %v", err)
	}
	return nil
}

// addElements makes eds' elements and adds them to the pipeline, in order.
// What was made is returned even on error, for the caller to remove or
// release (an element the pipeline refused is released here).
func (p *Pipeline) addElements(eds []Element) ([]*gst.Element, error) {
	var made []*gst.Element
	for _, ed := range eds {
		e, err := newElement(ed)
		if e != nil {
			if aerr := p.pipe.Add(e); aerr != nil {
				dropRef(e.Object.InitiallyUnowned.Object)
				return made, fmt.Errorf("adding %s: %v", ed.Factory, aerr)
			}
			made = append(made, e)
		}
		if err != nil {
			return made, err
		}
	}
	return made, nil
}

// newElement makes an element and sets its properties; on a property
// error the element is returned too, for the caller to release.
func newElement(ed Element) (*gst.Element, error) {
	e, err := gst.NewElement(ed.Factory)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %v", ed.Factory, err)
	}
	for _, pr := range ed.Props {
		if err := setArg(e, pr); err != nil {
			return e, err
		}
	}
	return e, nil
}

func setArg(e *gst.Element, p Prop) error {
	cn, cv := C.CString(p.Name), C.CString(p.Value)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cv))
	msg := C.ms_set_arg(elemPtr(e), cn, cv)
	runtime.KeepAlive(e)
	if msg == nil {
		return nil
	}
	defer C.g_free(C.gpointer(msg))
	s := C.GoString(msg)
	switch {
	case p.Secret:
		s = strings.ReplaceAll(s, p.Value, "REDACTED")
	case p.Shown != "":
		s = strings.ReplaceAll(s, p.Value, p.Shown)
	}
	return &PropertyError{Text: s}
}

// Property reads element i's property back in string form ("" if it has
// none).
func (p *Pipeline) Property(i int, name string) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return ""
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	e := p.elem(i)
	return takeString(C.ms_get_arg(elemPtr(e), cn), e)
}

// OutputCaps are the caps element i negotiated on its src pad.
func (p *Pipeline) OutputCaps(i int) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return ""
	}
	e := p.elem(i)
	return takeString(C.ms_src_caps(elemPtr(e)), e)
}

// ElementName is the name GStreamer gave element i.
func (p *Pipeline) ElementName(i int) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return ""
	}
	return p.elem(i).GetName()
}

// takeString copies and frees a C string that an element's call returned.
func takeString(s *C.char, keep *gst.Element) string {
	runtime.KeepAlive(keep)
	return takeC(s)
}

// takeC copies and frees a C string ("" for NULL).
func takeC(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.g_free(C.gpointer(s))
	return C.GoString(s)
}

// eventOther is popBus's kind for a message nobody reports (a wake-up).
const eventOther EventKind = -1

// popBus waits up to timeout for a message ms_bus_pop reads and copies it
// out; false when none came. The pipeline's watcher and the reader share
// it.
func popBus(bus *C.GstBus, timeout time.Duration) (Event, bool) {
	var m C.MsBusMsg
	kind := C.ms_bus_pop(bus, C.GstClockTime(timeout), &m)
	if kind == C.MS_MSG_NONE {
		return Event{}, false
	}
	ev := Event{Kind: eventOther, Source: takeC(m.src), Path: takeC(m.path), Message: takeC(m.text), Debug: takeC(m.debug),
		OpenFailed: m.open_failed != 0, IOFailed: m.io_failed != 0}
	switch kind {
	case C.MS_MSG_ERROR:
		ev.Kind = EventError
	case C.MS_MSG_WARNING:
		ev.Kind = EventWarning
	case C.MS_MSG_DRAINED:
		ev.Kind = EventDrained
	case C.MS_MSG_EOS:
		ev.Kind = EventEOS
	case C.MS_MSG_SINK_EOS:
		ev.Kind = EventSinkEOS
	}
	return ev, true
}

// Start sets the pipeline playing and watches its bus on a goroutine,
// reporting to onEvent until Release. The watcher pops messages in C
// (no GLib main loop needed, and no Go wrapper keeps a message, or the
// element it names, alive after it is read).
func (p *Pipeline) Start(onEvent func(Event)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.released {
		return errors.New("pipeline already released")
	}
	w, err := newBusWait(p.bus)
	if err != nil {
		return err
	}
	p.watching, p.bw = true, w
	go p.watch(onEvent)
	if err := p.pipe.SetState(gst.StatePlaying); err != nil {
		return fmt.Errorf("cannot start pipeline: %v", err)
	}
	return nil
}

func (p *Pipeline) watch(onEvent func(Event)) {
	defer close(p.busDone)
	for {
		ev, ok := p.bw.next(p.stop)
		if !ok {
			return
		}
		if ev.Kind == eventOther || ev.Kind == EventDrained && !p.drainedAll(ev.Source) {
			continue
		}
		if ev.Kind == EventEOS {
			onEvent(Event{Kind: EventDrained})
		}
		onEvent(ev)
	}
}

// drainedAll notes that end-of-stream has left element name and says
// whether it has now left every element EventDrained waits for (each
// track's). Only the bus watcher calls it.
func (p *Pipeline) drainedAll(name string) bool {
	if _, ok := p.drainNames[name]; ok {
		p.drainNames[name] = true
	}
	for _, seen := range p.drainNames {
		if !seen {
			return false
		}
	}
	return true
}

// Release stops the pipeline and its bus watcher and frees what Build
// made, now: the pipeline, its elements, its bus (and the bus's file
// descriptors), the buffer pool, the callback handle. Safe to call more
// than once, and on a pipeline never started.
func (p *Pipeline) Release() {
	p.branchMu.Lock() // no branch is being swapped from here on
	defer p.branchMu.Unlock()
	p.mu.Lock()
	if p.releasing {
		p.mu.Unlock()
		return
	}
	p.releasing = true
	p.mu.Unlock()
	// Stopping can take a while (a sink finishing a send): it runs without
	// the lock, so Stats and the like stay answerable meanwhile.
	close(p.stop)
	if p.watching {
		// End the watcher's wait before stopping the pipeline: a bus in
		// NULL state drops posted messages, and a watcher woken by one
		// would sleep out its poll timeout (this cost every Close 200 ms).
		p.bw.close()
		<-p.busDone
	}
	_ = p.pipe.SetState(gst.StateNull)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.released = true
	p.frames, p.bytes = int64(C.ms_counts_frames(p.counts)), int64(C.ms_counts_bytes(p.counts))
	p.latN, p.latSum = p.readLatency()
	p.counts = nil // freed with its pad, below
	for k, c := range p.branches {
		p.branchN = append(p.branchN, [2]int64{p.branchBase[k][0] + int64(C.ms_counts_frames(c)), p.branchBase[k][1] + int64(C.ms_counts_bytes(c))})
	}
	p.branches = nil
	// Buffers still held downstream keep the pool alive until freed.
	C.ms_free_pool(p.pool)
	p.pool = nil
	if p.flowHandle != 0 {
		// In NULL state appsrc calls back no more.
		p.flowHandle.Delete()
		p.flowHandle = 0
	}
	for _, h := range p.handles {
		h.Delete() // nor do appsinks
	}
	p.handles, p.samples = nil, nil
	if p.audioHandle != 0 {
		p.audioHandle.Delete()
		p.audioHandle = 0
	}
	// Drop the Go wrappers' references now; otherwise each closed pipeline
	// keeps its bus's file descriptors and its memory until a garbage
	// collection. The finalizer is cleared first so the reference is never
	// dropped twice (go-gst #63).
	for _, e := range append(p.elems, p.aelems...) {
		dropRef(e.Object.InitiallyUnowned.Object)
	}
	dropRef(p.pipe.Element.Object.InitiallyUnowned.Object)
	C.gst_object_unref(C.gpointer(p.bus))
	p.elems, p.aelems, p.pipe, p.bus, p.srcPtr, p.asrcPtr, p.pipePtr = nil, nil, nil, nil, nil, nil, nil
	C.ms_trim_heap()
}

func dropRef(o *glib.Object) {
	runtime.SetFinalizer(o, nil)
	o.Unref()
}

// Push converts one frame and gives it to appsrc. It never blocks
// (appsrc has block=false): the caller handles back-pressure. It returns
// ErrFlushing once the pipeline takes no more frames. The frame is
// checked (Frame.Check) before C reads it.
func (p *Pipeline) Push(f Frame, pts, dur time.Duration, offset int64) error {
	if err := f.Check(); err != nil {
		return err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return ErrFlushing
	}
	ow, oh := p.w, p.h
	if ow == 0 || oh == 0 {
		ow, oh = f.W, f.H
	}
	var scratch *C.guint8
	if ow != f.W || oh != f.H {
		// One scratch frame for every scaled push: taken in turn.
		p.scaleMu.Lock()
		defer p.scaleMu.Unlock()
		if _, _, n := Layout(I420, f.W, f.H, 0); len(p.scratch) < n {
			p.scratch = make([]byte, n)
		}
		scratch = (*C.guint8)(unsafe.Pointer(unsafe.SliceData(p.scratch)))
	}
	cp, cs := f.cargs()
	ret := C.ms_push(p.srcPtr, p.pool, C.int(f.Format), p.full, cp[0], cs[0], cp[1], cs[1], cp[2], cs[2],
		C.int(f.W), C.int(f.H), C.int(ow), C.int(oh), scratch, C.GstClockTime(pts), C.GstClockTime(dur), C.guint64(offset))
	runtime.KeepAlive(f.Planes)
	runtime.KeepAlive(p.scratch)
	runtime.KeepAlive(p.elems)
	if gst.FlowReturn(ret) == gst.FlowNotSupported {
		return fmt.Errorf("libyuv cannot convert pixel format %d into this stream (full range %v)", f.Format, p.full != 0)
	}
	return pushResult(gst.FlowReturn(ret), "the frame")
}

// pushResult is what a push into appsrc returned, as an error: nil, or
// ErrFlushing once appsrc takes nothing more.
func pushResult(ret gst.FlowReturn, what string) error {
	switch ret {
	case gst.FlowOK:
		return nil
	case gst.FlowFlushing, gst.FlowEOS:
		return ErrFlushing
	default:
		return fmt.Errorf("appsrc refused %s: %s", what, ret)
	}
}

// EndOfStream tells appsrc no more frames come.
func (p *Pipeline) EndOfStream() {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return
	}
	C.ms_end_of_stream(p.srcPtr)
	runtime.KeepAlive(p.elems)
}

// Queued counts the frames appsrc holds that have not left it yet.
func (p *Pipeline) Queued() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return 0
	}
	n := C.ms_level_buffers(p.srcPtr)
	runtime.KeepAlive(p.elems)
	return int(n)
}

// RunningTime is the pipeline's running time, or -1 before it has a clock.
func (p *Pipeline) RunningTime() time.Duration {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return -1
	}
	t := C.ms_running_time(p.pipePtr)
	runtime.KeepAlive(p.pipe)
	return time.Duration(t)
}

// Encoded returns the frames and bytes the counted element has handed on.
func (p *Pipeline) Encoded() (frames, bytes int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return p.frames, p.bytes
	}
	f, b := int64(C.ms_counts_frames(p.counts)), int64(C.ms_counts_bytes(p.counts))
	runtime.KeepAlive(p.elems)
	return f, b
}

// BranchEncoded returns the frames and bytes that have entered branch k
// (0 and 0 for a pipeline without branches).
func (p *Pipeline) BranchEncoded(k int) (frames, bytes int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		if k < len(p.branchN) {
			return p.branchN[k][0], p.branchN[k][1]
		}
		return 0, 0
	}
	if k >= len(p.branches) {
		return 0, 0
	}
	f, b := int64(C.ms_counts_frames(p.branches[k])), int64(C.ms_counts_bytes(p.branches[k]))
	runtime.KeepAlive(p.elems)
	return p.branchBase[k][0] + f, p.branchBase[k][1] + b
}

// ReplaceBranch swaps branch k for new elements made from elems (its
// description, as at Build) while the rest of the pipeline runs: the tee's
// pad to the old branch is released, the old elements are stopped and
// removed, the new ones added, linked and started; the new branch drops
// frames until a keyframe, which the encoder is asked for at once, so it
// starts with a picture. What the old
// branch took stays counted in BranchEncoded. With an audio track, the
// branch's part of the audio chain is replaced too, from audio (its
// description, as at Build), and linked into the new branch.
func (p *Pipeline) ReplaceBranch(k int, elems, audio []Element) error {
	p.branchMu.Lock()
	defer p.branchMu.Unlock()
	p.mu.RLock()
	if p.releasing || p.released {
		p.mu.RUnlock()
		return errors.New("pipeline released")
	}
	if k < 0 || k >= len(p.branchAt) {
		p.mu.RUnlock()
		return fmt.Errorf("gstpipe: no branch %d", k)
	}
	start, end := p.branchAt[k], len(p.elems)
	if k+1 < len(p.branchAt) {
		end = p.branchAt[k+1]
	}
	if len(elems) != end-start {
		p.mu.RUnlock()
		return fmt.Errorf("gstpipe: branch %d has %d elements, not %d", k, end-start, len(elems))
	}
	tee := p.elems[start-1]
	old := append([]*gst.Element(nil), p.elems[start:end]...)
	// The audio chain ends in a tee too when there are branches.
	var atee *gst.Element
	var aold []*gst.Element
	if len(p.joins) > k {
		j := p.joins[k]
		if j.Into < start || j.Into >= end {
			p.mu.RUnlock()
			return fmt.Errorf("gstpipe: the audio of branch %d joins element %d, outside it", k, j.Into)
		}
		atee = p.aelems[p.joins[0].First-1]
		aold = append(aold, p.aelems[j.First:j.End]...)
	}
	p.mu.RUnlock()

	// Cut the old branch off and stop it. The rest of the pipeline never
	// waits on it: the tee stops pushing there once the pad is released.
	C.ms_branch_detach(elemPtr(tee), elemPtr(old[0]))
	if atee != nil {
		C.ms_branch_detach(elemPtr(atee), elemPtr(aold[0]))
	}
	// Sinks first, as a bin stops its children: a queue's thread may be
	// blocked pushing into the old sink (the RTSP sink waits on its lost
	// connection), and stopping the queue first waits on that thread for
	// ever; a stopped sink refuses the push, which frees it.
	for _, chain := range [][]*gst.Element{old, aold} {
		for i := len(chain) - 1; i >= 0; i-- {
			_ = chain[i].SetState(gst.StateNull)
			_ = p.pipe.Remove(chain[i])
		}
	}
	var fresh []*gst.Element
	var afresh []*gst.Element
	fail := func(err error) error {
		for _, e := range append(fresh, afresh...) {
			_ = e.SetState(gst.StateNull)
			_ = p.pipe.Remove(e)
			dropRef(e.Object.InitiallyUnowned.Object)
		}
		return err
	}
	var err error
	if fresh, err = p.addElements(elems); err != nil {
		return fail(err)
	}
	if err := linkChain(fresh); err != nil {
		return fail(err)
	}
	p.mu.RLock()
	for i, e := range fresh {
		if h, ok := p.samples[start+i]; ok {
			// The appsink's reader carries on with the new element.
			C.ms_sample_callbacks(elemPtr(e), C.uintptr_t(h))
		}
	}
	p.mu.RUnlock()
	if atee != nil {
		var err error
		afresh, err = p.replaceAudioJoin(k, audio, fresh[p.joins[k].Into-start])
		if err != nil {
			return fail(err)
		}
	}
	// Started before the tee feeds it, sinks first, so no frame meets an
	// element not yet running.
	for _, chain := range [][]*gst.Element{fresh, afresh} {
		for i := len(chain) - 1; i >= 0; i-- {
			if !chain[i].SyncStateWithParent() {
				return fail(fmt.Errorf("starting %s", chain[i].GetName()))
			}
		}
	}
	// Its first frame must be a keyframe.
	C.ms_drop_until_keyframe(elemPtr(fresh[0]))
	if err := linkTee(tee, fresh[0]); err != nil {
		return fail(fmt.Errorf("linking the new branch to the tee: %v", err))
	}
	if atee != nil {
		if err := linkTee(atee, afresh[0]); err != nil {
			return fail(fmt.Errorf("linking the new branch's audio to the tee: %v", err))
		}
	}
	counts := C.ms_watch_output(elemPtr(fresh[0]), 0)
	C.ms_request_keyframe(elemPtr(fresh[0]), 1)

	p.mu.Lock()
	old0 := p.branches[k]
	p.branchBase[k][0] += int64(C.ms_counts_frames(old0))
	p.branchBase[k][1] += int64(C.ms_counts_bytes(old0))
	p.branches[k] = counts
	copy(p.elems[start:end], fresh)
	if atee != nil {
		copy(p.aelems[p.joins[k].First:p.joins[k].End], afresh)
	}
	p.mu.Unlock()
	for _, e := range append(old, aold...) {
		dropRef(e.Object.InitiallyUnowned.Object)
	}
	runtime.KeepAlive(tee)
	runtime.KeepAlive(atee)
	return nil
}

// Dot returns the pipeline graph in Graphviz form.
func (p *Pipeline) Dot() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.dot()
}

func (p *Pipeline) dot() string {
	if p.released {
		return ""
	}
	return p.pipe.DebugBinToDotData(gst.DebugGraphShowAll)
}

// ReadyDot sets the pipeline to READY, which connects nothing, and returns
// its graph.
func (p *Pipeline) ReadyDot() (string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return "", errors.New("pipeline released")
	}
	if err := p.pipe.SetState(gst.StateReady); err != nil {
		return "", fmt.Errorf("pipeline does not reach READY: %v", err)
	}
	return p.dot(), nil
}

// LaunchProperty parses a gst-launch-1.0 argument list (the words after
// the command and its options) as gst-launch-1.0 does, and returns the
// property prop of the first element made by factory, in string form. It
// lets tests check that a printed line means what the pipeline was built
// with. Nothing is started.
func LaunchProperty(argv []string, factory, prop string) (string, error) {
	gstInit()
	cargs := make([]*C.char, len(argv)+1)
	for i, a := range argv {
		cargs[i] = C.CString(a)
		defer C.free(unsafe.Pointer(cargs[i]))
	}
	cf, cp := C.CString(factory), C.CString(prop)
	defer C.free(unsafe.Pointer(cf))
	defer C.free(unsafe.Pointer(cp))
	var cerr *C.char
	v := C.ms_launch_property(&cargs[0], cf, cp, &cerr)
	if v == nil {
		defer C.g_free(C.gpointer(cerr))
		return "", errors.New(C.GoString(cerr))
	}
	defer C.g_free(C.gpointer(v))
	return C.GoString(v), nil
}

// LatencyBounds are the upper bounds of EncodeLatency's buckets; one
// more bucket holds anything above the last.
var LatencyBounds = func() []time.Duration {
	b := make([]time.Duration, C.MS_LAT_BUCKETS)
	for i := range b {
		b[i] = time.Duration(C.ms_latency_bound_us(C.int(i))) * time.Microsecond
	}
	return b
}()

// WillPush notes that the frame stamped pts is about to be pushed, so
// that its encode latency is measured when it leaves the encoder. It is
// called before Push: a fast encoder may be done before Push returns.
func (p *Pipeline) WillPush(pts time.Duration) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if !p.released {
		C.ms_latency_pushed(C.ms_counts_latency(p.counts), C.GstClockTime(pts))
	}
}

// EncodeLatency is the histogram of encode latencies so far: per bucket
// (LatencyBounds, then one above), not cumulative, and their sum.
func (p *Pipeline) EncodeLatency() (counts []uint64, sum time.Duration) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.released {
		return append([]uint64(nil), p.latN...), p.latSum
	}
	return p.readLatency()
}

func (p *Pipeline) readLatency() ([]uint64, time.Duration) {
	var c [C.MS_LAT_BUCKETS + 1]C.guint64
	var sum C.gint64
	C.ms_latency_read(C.ms_counts_latency(p.counts), &c[0], &sum)
	out := make([]uint64, len(c))
	for i := range c {
		out[i] = uint64(c[i])
	}
	runtime.KeepAlive(p.elems)
	return out, time.Duration(sum) * time.Microsecond
}
