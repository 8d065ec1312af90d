package gstpipe

/*
#include <stdlib.h>
#include "gstpipe.h"
#include "reader.h"
*/
import "C"

import (
	"errors"
	"sync"
	"time"
	"unsafe"
)

// Reader decodes a source (any URI uridecodebin takes) into frames that
// Sample.Copy hands out in the layout asked for. Its methods are safe to call from several goroutines; Close may
// be called while a Pull waits.
type Reader struct {
	mu     sync.Mutex // guards r and bus against Close
	r      *C.MsReader
	bus    *C.GstBus
	closed chan struct{}
	once   sync.Once
}

// Sample is one decoded frame held in GStreamer memory until Free.
type Sample struct {
	s             *C.GstSample
	Width, Height int
	FPSNum        int
	FPSDen        int
	PTS           time.Duration // -1 when the source gave none
}

// ErrReadTimeout is Pull's answer when no frame came within its wait.
var ErrReadTimeout = errors.New("gstpipe: no frame in time")

// ErrReaderClosed is Pull's answer once Close has begun.
var ErrReaderClosed = errors.New("gstpipe: reader closed")

// ErrPullCancelled is Pull's answer once its cancel channel is closed.
var ErrPullCancelled = errors.New("gstpipe: pull cancelled")

// OpenReader builds and starts a reader for uri. Width and height, when
// both set, fix the frames' size; rtspLatency bounds rtspsrc's jitter
// buffer.
func OpenReader(uri string, width, height int, rtspLatency time.Duration) (*Reader, error) {
	return openReader(uri, func(cu *C.char, cerr **C.char) *C.MsReader {
		return C.ms_reader_new(cu, C.int(width), C.int(height), C.guint64(rtspLatency/time.Millisecond), cerr)
	})
}

// OpenAudioReader builds and starts a reader of uri's first audio
// stream, as interleaved S16LE at rate with channels; its samples are
// read with Sample.Bytes.
func OpenAudioReader(uri string, rate, channels int, rtspLatency time.Duration) (*Reader, error) {
	return openReader(uri, func(cu *C.char, cerr **C.char) *C.MsReader {
		return C.ms_audio_reader_new(cu, C.int(rate), C.int(channels), C.guint64(rtspLatency/time.Millisecond), cerr)
	})
}

func openReader(uri string, build func(*C.char, **C.char) *C.MsReader) (*Reader, error) {
	gstInit()
	cu := C.CString(uri)
	defer C.free(unsafe.Pointer(cu))
	var cerr *C.char
	r := build(cu, &cerr)
	if r == nil {
		defer C.g_free(C.gpointer(cerr))
		return nil, errors.New(C.GoString(cerr))
	}
	rd := &Reader{r: r, bus: C.ms_reader_bus(r), closed: make(chan struct{})}
	if C.ms_reader_play(r) == 0 {
		// The reason is on the bus.
		if ev, ok := rd.busError(); ok {
			rd.Close()
			return nil, ev
		}
		rd.Close()
		return nil, errors.New("the source cannot be started")
	}
	return rd, nil
}

// ReadError is an error the pipeline reported while reading.
type ReadError struct{ Event }

func (e *ReadError) Error() string {
	if e.Source != "" {
		return e.Source + ": " + e.Message
	}
	return e.Message
}

// busError returns the first error waiting on the bus, if any. Callers
// hold mu or own the reader alone.
func (rd *Reader) busError() (*ReadError, bool) {
	for {
		ev, ok := popBus(rd.bus, 0)
		if !ok {
			return nil, false
		}
		if ev.Kind == EventError {
			return &ReadError{ev}, true
		}
	}
}

// Pull waits up to wait for the next frame, watching the bus meanwhile:
// an error the pipeline posts ends the wait at once, and so does closing
// cancel (nil: never). At the end of the source it returns (nil, nil).
func (rd *Reader) Pull(wait time.Duration, cancel <-chan struct{}) (*Sample, error) {
	deadline := time.Now().Add(wait)
	for {
		select {
		case <-rd.closed:
			return nil, ErrReaderClosed
		case <-cancel:
			return nil, ErrPullCancelled
		default:
		}
		slice := time.Until(deadline)
		if slice > 50*time.Millisecond {
			slice = 50 * time.Millisecond // how soon an error or Close is seen
		}
		if slice < 0 {
			slice = 0
		}
		s, kind, err := rd.pullOnce(slice)
		if err != nil || kind == C.MS_READ_FRAME || kind == C.MS_READ_EOS {
			return s, err
		}
		if !time.Now().Before(deadline) {
			return nil, ErrReadTimeout
		}
	}
}

func (rd *Reader) pullOnce(slice time.Duration) (*Sample, C.int, error) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.r == nil {
		return nil, C.MS_READ_TIMEOUT, ErrReaderClosed
	}
	if ev, ok := rd.busError(); ok {
		return nil, C.MS_READ_TIMEOUT, ev
	}
	var cs *C.GstSample
	var info C.MsSampleInfo
	kind := C.ms_reader_pull(rd.r, C.GstClockTime(slice), &cs, &info)
	switch kind {
	case C.MS_READ_FRAME:
		s := &Sample{s: cs, Width: int(info.width), Height: int(info.height), FPSNum: int(info.fps_n), FPSDen: int(info.fps_d), PTS: -1}
		if info.pts != C.GST_CLOCK_TIME_NONE {
			s.PTS = time.Duration(info.pts)
		}
		return s, kind, nil
	case C.MS_READ_EOS:
		// An error posted with the end (a lost server) wins over it.
		if ev, ok := rd.busError(); ok {
			return nil, kind, ev
		}
		return nil, kind, nil
	}
	return nil, kind, nil
}

// FixSize holds the output at this size from now on.
func (rd *Reader) FixSize(width, height int) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.r != nil {
		C.ms_reader_fix_size(rd.r, C.int(width), C.int(height))
	}
}

// Duration is the source's length, or -1 when unknown (live).
func (rd *Reader) Duration() time.Duration {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.r == nil {
		return -1
	}
	return time.Duration(C.ms_reader_duration(rd.r))
}

// ReadFormats are the layouts Copy writes: packed RGB in either order,
// with or without a fourth byte (255), and the decoder's own 4:2:0.
var ReadFormats = []Format{RGB24, BGR24, RGBA, BGRA, I420, NV12}

// Copy writes the frame into dst in format f, tightly packed (Layout with
// no stride); false if dst is short or f is not one of ReadFormats. RGB is
// converted by libyuv with the matrix and range the source declares.
func (s *Sample) Copy(f Format, dst []byte) bool {
	if s == nil || s.s == nil || len(dst) == 0 {
		return false
	}
	return C.ms_sample_copy(s.s, C.int(f), (*C.guint8)(unsafe.Pointer(unsafe.SliceData(dst))), C.gsize(len(dst))) != 0
}

// Bytes copies the sample's buffer out (an audio reader's samples).
func (s *Sample) Bytes() []byte {
	if s == nil || s.s == nil {
		return nil
	}
	b := make([]byte, int(C.ms_sample_size(s.s)))
	if len(b) > 0 {
		b = b[:int(C.ms_sample_extract(s.s, (*C.guint8)(unsafe.Pointer(&b[0])), C.gsize(len(b))))]
	}
	return b
}

// Free gives the frame's memory back. Safe to call twice.
func (s *Sample) Free() {
	if s != nil && s.s != nil {
		C.ms_sample_free(s.s)
		s.s = nil
	}
}

// Close stops and frees the pipeline. Safe to call more than once.
func (rd *Reader) Close() {
	rd.once.Do(func() {
		close(rd.closed)
		rd.mu.Lock()
		defer rd.mu.Unlock()
		C.ms_reader_free(rd.r)
		C.gst_object_unref(C.gpointer(rd.bus))
		rd.r, rd.bus = nil, nil
		C.ms_trim_heap()
	})
}
