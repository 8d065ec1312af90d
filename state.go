package mpegserver

import (
	"sync"
	"time"
)

// State is where a Server's stream stands, for health checks and
// metrics.
type State int

const (
	// StateClosed: not set up, or closed.
	StateClosed State = iota
	// StateUp: the stream takes frames.
	StateUp
	// StateReconnecting: the stream lost its server and Reconnect is
	// bringing it back; frames are dropped and counted meanwhile.
	StateReconnecting
	// StateDown: the stream failed and nothing brings it back by itself
	// (Reconnect off, or a failure a new connection would not cure):
	// Close and Setup again.
	StateDown
)

// States lists every State, for exporting one gauge per state.
var States = []State{StateClosed, StateUp, StateReconnecting, StateDown}

func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateUp:
		return "up"
	case StateReconnecting:
		return "reconnecting"
	case StateDown:
		return "down"
	}
	return "unknown"
}

// State says where the stream stands now.
func (s *Server) State() State {
	sess, err := s.current()
	if err != nil {
		return StateClosed
	}
	return sess.state()
}

func (s *session) state() State {
	s.mu.Lock()
	st, trial := s.st, s.trial
	s.mu.Unlock()
	if st != nil && st.failure() == nil && !trial {
		return StateUp
	}
	select {
	case <-s.superDone:
		return StateDown // no supervisor, or it gave up: nothing brings it back
	default:
	}
	if st != nil && !isLoss(st.failure()) {
		return StateDown // the supervisor is about to give up
	}
	return StateReconnecting
}

// Latency is a histogram of durations, as Stats.EncodeLatency gives it.
type Latency struct {
	Bounds []time.Duration // upper bound of each bucket but the last, which holds the rest
	Counts []uint64        // per bucket, len(Bounds)+1, not cumulative
	Sum    time.Duration
}

// Count is how many durations the histogram holds.
func (l Latency) Count() uint64 {
	var n uint64
	for _, c := range l.Counts {
		n += c
	}
	return n
}

// add sums two histograms of the same buckets.
func (l Latency) add(o Latency) Latency {
	if len(l.Counts) == 0 {
		return o
	}
	out := Latency{Bounds: l.Bounds, Counts: append([]uint64(nil), l.Counts...), Sum: l.Sum + o.Sum}
	for i := range o.Counts {
		if i < len(out.Counts) {
			out.Counts[i] += o.Counts[i]
		}
	}
	return out
}

// rateMeter gives current rates from samples of running totals, taken at
// least a second apart, over the last few seconds.
type rateMeter struct {
	mu      sync.Mutex
	samples [8]rateSample
	n, next int
}

type rateSample struct {
	at            time.Time
	frames, bytes int64
}

const (
	rateEvery  = time.Second     // how often a sample is kept
	rateWindow = 6 * time.Second // what "current" spans
)

// due says whether a sample taken now would be kept.
func (m *rateMeter) due(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n == 0 || now.Sub(m.samples[(m.next+len(m.samples)-1)%len(m.samples)].at) >= rateEvery
}

func (m *rateMeter) add(now time.Time, frames, bytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples[m.next] = rateSample{now, frames, bytes}
	m.next = (m.next + 1) % len(m.samples)
	m.n = min(m.n+1, len(m.samples))
}

// rates are frames and bits per second from the oldest sample within the
// window (else the newest one) to the totals now.
func (m *rateMeter) rates(now time.Time, frames, bytes int64) (fps, bps float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var from *rateSample
	for k := m.n; k >= 1; k-- {
		s := &m.samples[(m.next+len(m.samples)-k)%len(m.samples)]
		if now.Sub(s.at) <= rateWindow || k == 1 {
			from = s
			break
		}
	}
	if from == nil {
		return 0, 0
	}
	dt := now.Sub(from.at).Seconds()
	if dt < 0.2 {
		return 0, 0
	}
	return float64(frames-from.frames) / dt, float64(bytes-from.bytes) * 8 / dt
}
