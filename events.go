package mpegserver

import "time"

// EventKind says what happened to the connection.
type EventKind int

const (
	// Disconnected: the stream lost its server; Err says how.
	Disconnected EventKind = iota + 1
	// Reconnecting: attempt number Attempt to open the stream again.
	Reconnecting
	// Reconnected: a stream is up again; the first frame is a keyframe.
	Reconnected
	// OutputFailed: one of several outputs (Config.Record) failed and
	// was dropped; Output names it (password redacted), Err says how. The
	// other outputs go on; with Reconnect, Reconnecting and Reconnected
	// events with the same Output follow as it is brought back.
	OutputFailed
	// Flapping: the stream (or Output) was lost Attempt times in a row
	// soon after each reconnection: another publisher replacing it, or a
	// server that takes it and drops it again. Reconnection goes on, at
	// most once every ReconnectMaxWait.
	Flapping
)

func (k EventKind) String() string {
	switch k {
	case Disconnected:
		return "disconnected"
	case Reconnecting:
		return "reconnecting"
	case Reconnected:
		return "reconnected"
	case OutputFailed:
		return "output failed"
	case Flapping:
		return "flapping"
	}
	return "unknown"
}

// Event reports a change of the connection (with Reconnect on).
type Event struct {
	Kind    EventKind
	Err     error  // for Disconnected and OutputFailed
	Attempt int    // for Reconnecting and Reconnected
	Output  string // with several outputs: which one (OutputFailed, and Reconnecting/Reconnected for it)
	At      time.Time
}

// eventBuffer is how many events wait for a reader before new ones are
// dropped: a server that is not read never blocks the stream.
const eventBuffer = 64

// Events returns the channel the server reports connection changes on. It
// is the same channel for the Server's whole life; events that find it
// full are dropped.
func (s *Server) Events() <-chan Event { return s.events }

func (s *Server) emit(e Event) {
	logEvent(logger(s.Config()), e)
	select {
	case s.events <- e:
	default:
	}
}
