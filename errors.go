package mpegserver

import (
	"errors"
	"fmt"
)

// Errors a caller can test with errors.Is. After any of them the Server is
// still usable: fix the cause and call Setup (or the failed call) again.
var (
	// ErrNotSetUp: a frame was served before Setup, or after Close.
	ErrNotSetUp = errors.New("mpegserver: stream not set up (call Setup first)")
	// ErrClosed: the call raced with Close, which won.
	ErrClosed = errors.New("mpegserver: stream closed")
	// ErrFrameSize: the frame or image is nil, its length is not what the
	// source size, SourceFormat and SourceStride make (Config.FrameSize),
	// its memory does not hold it (an image's Pix or Stride), or audio
	// samples do not fill whole sample frames of the track's channels or
	// span more than one call may serve.
	ErrFrameSize = errors.New("mpegserver: bad frame size")
	// ErrUnknownCodec: the codec name is unknown, or its encoder is not installed.
	ErrUnknownCodec = errors.New("mpegserver: unknown or unavailable codec")
	// ErrUnsupportedAddress: the address names no output (a scheme other
	// than rtsp, rtsps, rtmp, rtmps, srt, udp, whip+http, whip+https or
	// file; a path is a file, or HLS when it ends in .m3u8), is malformed
	// or has parts its output refuses, the record is the address itself,
	// or Setup found that a file or playlist cannot be written there.
	ErrUnsupportedAddress = errors.New("mpegserver: unsupported address")
	// ErrUnreachable: Setup's check that the output can take a stream
	// failed or got no answer within the setup timeout (RTSP: an OPTIONS
	// request; RTMP: the handshake; SRT: the induction handshake; UDP: the
	// host's name lookup; WHIP: the session, its WebRTC connection
	// included, or a 404, 408, 429 or 5xx from the server), or the sink
	// could not open its server when the first frame went out (a
	// *PipelineError that also matches ErrPipeline).
	ErrUnreachable = errors.New("mpegserver: server unreachable")
	// ErrDisconnected: the server closed or reset the connection, or it
	// broke, while streaming. With a *PipelineError when GStreamer saw it
	// first.
	ErrDisconnected = errors.New("mpegserver: disconnected from the server")
	// ErrStalled: the server acknowledged nothing for StallTimeout while
	// data waited to be sent (a dead link, a server that stopped reading),
	// or the stream's tail was still unacknowledged when Close gave up.
	ErrStalled = errors.New("mpegserver: link stalled")
	// ErrPipeline: GStreamer reported an error; the message carries its text.
	ErrPipeline = errors.New("mpegserver: pipeline error")
	// ErrBadParameter: a parameter is out of range, of the wrong type, or unknown.
	ErrBadParameter = errors.New("mpegserver: bad parameter")
	// ErrRefused: the server answered and refused the stream: the
	// credentials (then ErrUnauthorized too), the path or stream name, or
	// another publisher it will not replace. Setup fails with it, and a
	// stream refused later ends with it: Reconnect does not retry what the
	// server refuses.
	ErrRefused = errors.New("mpegserver: refused by the server")
	// ErrUnauthorized: the server refused the credentials (a user name,
	// a password, a passphrase, a token) or the right to publish there.
	// It matches ErrRefused too.
	ErrUnauthorized = errors.New("mpegserver: not authorized")
	// ErrNotInstalled: a GStreamer element the stream needs (an encoder, a
	// payloader, a muxer, a sink) is not installed on this machine: a
	// missing plugin, not a wrong setting. It comes with ErrUnknownCodec
	// or ErrPipeline, whichever the element is.
	ErrNotInstalled = errors.New("mpegserver: GStreamer element not installed")
	// ErrQueueFull: ServeFrame refused a frame because the pipeline already
	// holds its hard cap of frames; the frame was not queued. Wait WaitRef()
	// and serve again, or use ServeFrameBlock.
	ErrQueueFull = errors.New("mpegserver: queue full, frame refused")
)

// PipelineError carries what GStreamer said. It matches ErrPipeline with
// errors.Is, and also ErrUnreachable when the sink could not open its
// server (GStreamer's resource error "could not open"), or ErrDisconnected
// when a stream's connection failed to read or write.
type PipelineError struct {
	Element string // the element that posted the error
	Message string // GStreamer's message
	Debug   string // GStreamer's debug text (file, function, details)
	kind    error
}

func (e *PipelineError) Error() string {
	s := fmt.Sprintf("%v: %s: %s", e.kind, e.Element, e.Message)
	if e.Debug != "" {
		s += " (" + e.Debug + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrPipeline) true, and also the more specific
// kind (ErrUnreachable, ErrDisconnected) where there is one.
func (e *PipelineError) Is(target error) bool {
	return target == ErrPipeline || errors.Is(e.kind, target)
}

// missingError says which element is missing; it matches ErrNotInstalled.
type missingError struct{ text string }

func (e missingError) Error() string        { return e.text }
func (e missingError) Is(target error) bool { return target == ErrNotInstalled }

// refusal is a server's refusal: it matches ErrRefused, and
// ErrUnauthorized when the credentials were refused.
type refusal struct {
	auth bool
	text string // what was refused and what to do
}

func (e *refusal) Error() string {
	if e.auth {
		return ErrUnauthorized.Error() + ": " + e.text
	}
	return ErrRefused.Error() + ": " + e.text
}

func (e *refusal) Is(target error) bool {
	return target == ErrRefused || e.auth && target == ErrUnauthorized
}

// refused makes a refusal, formatted.
func refused(auth bool, format string, args ...any) error {
	return &refusal{auth: auth, text: fmt.Sprintf(format, args...)}
}
