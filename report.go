package mpegserver

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// Stats describes a stream's life so far.
type Stats struct {
	Pushed   int64         // frames accepted
	Refused  int64         // frames ServeFrame refused at the hard cap
	Queued   int           // frames in appsrc not yet taken by the encoder
	Ahead    int64         // frames whose play time is still to come
	MaxAhead int64         // the most frames ever ahead right after a push
	Slips    int64         // times the time line moved forward after a stall
	Encoded  int64         // frames the encoder has handed to the sink
	Bytes    int64         // encoded bytes handed to the sink (bit rate = Bytes×8/Elapsed)
	Warnings int64         // GStreamer warnings seen
	Elapsed  time.Duration // since Setup (until Close once closed)

	// With Reconnect: frames dropped while no stream was up, streams
	// opened again after a loss, and the time spent down. The figures
	// above add up every stream since Setup.
	Dropped    int64
	Reconnects int64
	Down       time.Duration

	// Outputs has one entry per output when there are several (a
	// Record): what each took, and why it failed if it did.
	Outputs []OutputStats

	// Address is the address carrying the stream, password redacted: with
	// backups (Config.Backup), which one.
	Address string
	// Served counts the frames handed to the Serve calls since Setup,
	// whatever became of them: pushed, refused or dropped.
	Served int64
	// FPS and BitRate are the current rates: frames pushed and encoded
	// bits a second over the last few seconds.
	FPS, BitRate float64
	// EncodeLatency is how long frames took from the push to leaving the
	// encoder.
	EncodeLatency Latency
	// State is where the stream stands.
	State State

	// With an audio track: the samples the program served (ServeAudio),
	// the silence the library filled in (the whole track with Silence;
	// with served audio, where none came in time), calls refused at the
	// hard cap, and samples dropped while no stream was up.
	AudioServed, AudioFilled time.Duration
	AudioRefused             int64
	AudioDropped             time.Duration
}

// OutputStats is one output's share of a stream with several.
type OutputStats struct {
	Address string // as given, password redacted
	Frames  int64  // encoded frames it took (until it failed)
	Bytes   int64
	Err     error // why it failed and was dropped; nil while it works
}

// addStats sums the counts of two streams; the levels (Queued, Ahead) are
// b's, the later one's.
func addStats(a, b Stats) Stats {
	return Stats{Outputs: b.Outputs, Pushed: a.Pushed + b.Pushed, Refused: a.Refused + b.Refused, Queued: b.Queued, Ahead: b.Ahead,
		MaxAhead: max(a.MaxAhead, b.MaxAhead), Slips: a.Slips + b.Slips, Encoded: a.Encoded + b.Encoded,
		Bytes: a.Bytes + b.Bytes, Warnings: a.Warnings + b.Warnings, Elapsed: a.Elapsed + b.Elapsed,
		EncodeLatency: a.EncodeLatency.add(b.EncodeLatency),
		AudioServed:   a.AudioServed + b.AudioServed, AudioFilled: a.AudioFilled + b.AudioFilled, AudioRefused: a.AudioRefused + b.AudioRefused}
}

// Stats returns the open session's figures (from Setup on, every stream
// of it), or the last closed one's.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	sess, last := s.sess, s.last
	s.mu.Unlock()
	if sess == nil {
		last.State, last.FPS, last.BitRate = StateClosed, 0, 0
		return last
	}
	st := sess.stats()
	st.State = sess.state()
	return st
}

// String is the status report: the state, every parameter by its original
// name, and the frames pushed, with any password in the address redacted.
func (s *Server) String() string {
	v := s.view()
	s.mu.Lock()
	var enc *encoder
	if s.sess != nil {
		enc = s.sess.desc.enc
	}
	s.mu.Unlock()
	return statusReport(v, enc, s.Stats())
}

// statusReport is String's text; enc is nil when no stream is open.
func statusReport(v view, enc *encoder, st Stats) string {
	state := "closed"
	if enc != nil {
		state = "streaming"
	}
	var b strings.Builder
	b.WriteString("----------- MpegServer -----------\n")
	line := func(k, v string) { fmt.Fprintf(&b, "%-15s %s\n", k+":", v) }
	line("state", state)
	for _, p := range params {
		line(p.key, p.show(v))
	}
	if v.Record != "" {
		line("record", Redact(v.Record))
	}
	if v.Audio.on() {
		line("audio", v.Audio.String())
	}
	if enc != nil {
		kind := "software"
		if enc.Hardware {
			kind = "hardware"
		}
		line("encoder", enc.Element+" ("+kind+")")
	}
	line("frames pushed", fmt.Sprintf("%d (refused %d)", st.Pushed, st.Refused))
	b.WriteString("----------------------------------")
	return b.String()
}

// DumpFile writes a readable description of the running stream: each
// element with its settings as they are now, and the caps it negotiated.
func (s *Server) DumpFile(w io.Writer) error {
	st, err := s.stream()
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, st.dump())
	return err
}

// dump is DumpFile's text.
func (st *stream) dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Stream to %s (%s)\n", Redact(st.cfg.Address), st.desc.main().format)
	// The audio chain's elements are numbered after the video's.
	for i, e := range append(append([]gstpipe.Element(nil), st.desc.elements...), st.desc.audio.elements...) {
		fmt.Fprintf(&b, "%d. %s (%s)\n", i+1, e.Factory, st.p.ElementName(i))
		for _, p := range e.Props {
			v := st.p.Property(i, p.Name)
			switch {
			case p.Secret:
				v = redacted
			case p.Shown != "":
				v = strings.ReplaceAll(v, p.Value, p.Shown)
			}
			fmt.Fprintf(&b, "     %s = %s\n", p.Name, v)
		}
		if caps := st.p.OutputCaps(i); caps != "" {
			fmt.Fprintf(&b, "     output caps: %s\n", caps)
		}
	}
	stats := st.stats()
	fmt.Fprintf(&b, "Frames: %d pushed, %d queued, %d ahead of play time, %d refused\n",
		stats.Pushed, stats.Queued, stats.Ahead, stats.Refused)
	return b.String()
}

// Dot returns the running pipeline as a Graphviz graph.
func (s *Server) Dot() (string, error) {
	st, err := s.stream()
	if err != nil {
		return "", err
	}
	return st.p.Dot(), nil
}

// DotGraph builds the pipeline for c, sets it to READY (which connects to
// nothing) and returns its Graphviz graph.
func DotGraph(c Config) (string, error) {
	d, err := compile(c, gstpipe.Installed)
	if err != nil {
		return "", err
	}
	if err := checkInstalled(d); err != nil {
		return "", err
	}
	spec := d.spec()
	spec.PoolBuffers = 0
	p, err := buildPipeline(spec, newFlow())
	if err != nil {
		return "", err
	}
	defer p.Release()
	dot, err := p.ReadyDot()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrPipeline, err)
	}
	return dot, nil
}
