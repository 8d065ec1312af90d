package mpegserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// An output is one place a stream goes, parsed from its address. It holds
// everything about its kind of place: the elements after the encoder, the
// codecs it carries, the bounded check that it can take a stream, what its
// errors mean and how to watch it. Each kind is one file (output_rtsp.go,
// output_rtmp.go, output_srt.go, output_udp.go, output_hls.go,
// output_file.go) and one line of outputKinds; the stream, the session and
// the command ask the output and never look at a scheme.
type output interface {
	// address is the address as given, secrets included: Redact it
	// before printing.
	address() string
	// facts are what the stream needs to know of the output.
	facts() facts
	// carries says why the output cannot take a codec family (nil if it
	// can); installed tells whether a GStreamer element exists here.
	carries(fam string, installed func(factory string) bool) error
	// elements follow the encoder's parser, ending with the sink.
	elements(enc *encoder, c Config) []gstpipe.Element
	// reach checks within ctx, changing nothing, that the output can take
	// a stream now: that its server answers and takes a publisher there
	// with these credentials. peer is the server's address as dialled, for
	// the watchdog; zero where there is none.
	reach(ctx context.Context, c Config) (peer netip.AddrPort, err error)
	// classify says what a GStreamer error from one of the output's
	// elements means: ErrUnreachable or ErrDisconnected for a loss that a
	// new connection may cure, ErrPipeline for anything else. sink: the
	// error is the output's last element's; connected: the stream had its
	// connection (the watchdog found it, or frames went through).
	classify(ev gstpipe.Event, sink, connected bool) error
	// describe tells people where the stream goes and how to watch it.
	describe(c Config) OutputInfo
	// audio says what an audio track becomes there (its codec, and the
	// pad of the output's first element it goes in on), or why the
	// output takes none; installed as for carries.
	audio(installed func(factory string) bool) (audioIn, error)
}

// A runner is an output with a part of its own outside GStreamer (WHIP:
// a WebRTC peer connection fed the RTP its appsink receives). reach sets
// that part up; the stream hands it its pipeline once built (start) and
// ends it when the output's elements stop: at Close, after a loss, or
// when a stream that was to use it does not start (stop).
type runner interface {
	// sink takes each buffer of the output's last element, an appsink,
	// on the streaming thread; b is valid only during the call.
	sink(b []byte)
	// start takes over what the last reach set up.
	start(r outputRun)
	// stop ends what reach set up or start took over (a WHIP session is
	// DELETEd), within a short bound of its own.
	stop()
}

// outputRun is what a runner gets from its stream.
type outputRun struct {
	keyframe func()      // asks the encoder for a keyframe (rate-limited: keyframe.go)
	lost     func(error) // the output's link is lost: a loss of the stream, or of its branch
}

// facts are an output's answers to what the stream, Close and the tee
// need to know.
type facts struct {
	location string // what the sink is pointed at, without credentials; a file's path
	format   string // the container or protocol, as FFmpeg names it (formatName)
	live     bool   // plays in real time; otherwise written as fast as frames come
	connects bool   // a server: checked at Setup, reconnected to after a loss
	watched  bool   // its link is one TCP connection the watchdog can find and watch
	finishes bool   // Close waits for its sink's end of stream (a muxer's index, a playlist)
	network  bool   // sent over a network: behind a tee, a queue that drops old frames rather than hold the others back
	// playout is how long a receiver may still need, after the sender's
	// last packet, to deliver it (SRT's latency): Close waits that long.
	playout time.Duration
	// file is the file the output writes, "" for none: two outputs
	// writing one file are refused.
	file string
}

// OutputInfo tells people where a stream goes and how to watch it, as
// the command prints it before the first frame. Passwords are redacted.
type OutputInfo struct {
	Address string // the address, password redacted
	Kind    string // "RTSP", "RTMP", "SRT", "MPEG-TS over UDP", "WHIP", "HLS" or "file"
	// Live is true for a stream played in real time; a file is written
	// as fast as frames come.
	Live bool
	// Reconnects is true for a server the stream connects to, which
	// Reconnect brings back after a loss.
	Reconnects bool
	// Watch says how to watch it: commands, or a sentence where no
	// command fits.
	Watch []string
	// Unreachable says what to check when Setup cannot reach it.
	Unreachable string
}

// outputKind is one line of the registry: the URL schemes, or for paths
// the file extensions, that select a kind of output, and its parser.
type outputKind struct {
	schemes []string // URL schemes, lower case
	exts    []string // for paths and file:// URLs: extensions, lower case; none: any path
	parse   func(a rawAddress) (output, error)
}

// outputKinds is the registry: adding an output is a file and a line
// here. Paths take the first kind whose extension matches, else the last
// kind without extensions.
var outputKinds = []outputKind{
	{schemes: []string{"rtsp", "rtsps"}, parse: parseRTSP},
	{schemes: []string{"rtmp", "rtmps"}, parse: parseRTMP},
	{schemes: []string{"srt"}, parse: parseSRT},
	{schemes: []string{"udp"}, parse: parseUDP},
	{schemes: []string{"whip+http", "whip+https"}, parse: parseWHIP},
	{exts: []string{".m3u8"}, parse: parseHLS},
	{parse: parseFile},
}

// schemes lists every URL scheme an output takes, for errors.
func schemes() []string {
	out := []string{}
	for _, k := range outputKinds {
		out = append(out, k.schemes...)
	}
	return append(out, "file")
}

// formatName is what the original guesses from the address: the muxer or
// protocol ("" for an address that does not parse).
func formatName(addr string) string {
	o, err := parseOutput(addr)
	if err != nil {
		return ""
	}
	return o.facts().format
}

// Outputs describes where the configured stream goes, the address and
// then the record, and how to watch each. It connects nowhere; an address
// that does not parse is ErrUnsupportedAddress.
func (s *Server) Outputs() ([]OutputInfo, error) {
	c := s.Config()
	var out []OutputInfo
	for i, addr := range []string{c.Address, c.Record} {
		if i == 1 && addr == "" {
			break
		}
		o, err := parseOutput(addr)
		if err != nil {
			return nil, err
		}
		out = append(out, o.describe(c))
	}
	return out, nil
}

// reachAll reaches every output of a description in order; the address
// returned is the first output's. When one fails, what the others set up
// is ended.
func reachAll(ctx context.Context, d description, c Config) (netip.AddrPort, error) {
	var peer netip.AddrPort
	for k, o := range d.outputs {
		p, err := o.out.reach(ctx, c)
		if err != nil {
			stopRunners(d)
			if k > 0 {
				return peer, fmt.Errorf("record: %w", err)
			}
			return peer, err
		}
		if k == 0 {
			peer = p
		}
	}
	return peer, nil
}

// stopRunners stops the part outside GStreamer of every output that has
// one.
func stopRunners(d description) {
	for _, o := range d.outputs {
		if r, ok := o.out.(runner); ok {
			r.stop()
		}
	}
}

// linkLoss is how the network sinks' errors read: one that could not
// open its server before the stream had its connection is unreachable,
// any other failure to open, read or write is a loss.
func linkLoss(ev gstpipe.Event, connected bool) error {
	switch {
	case ev.OpenFailed && !connected:
		return ErrUnreachable
	case ev.OpenFailed, ev.IOFailed:
		return ErrDisconnected
	}
	return ErrPipeline
}

// dialTCP dials a server over TCP, or TLS when secure, within ctx; reads
// and writes are bounded by ctx too. done closes the connection.
func dialTCP(ctx context.Context, hostPort, shown string, secure bool) (conn net.Conn, peer netip.AddrPort, done func(), err error) {
	d := net.Dialer{}
	if secure {
		host, _, _ := net.SplitHostPort(hostPort)
		td := tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: host}}
		conn, err = td.DialContext(ctx, "tcp", hostPort)
	} else {
		conn, err = d.DialContext(ctx, "tcp", hostPort)
	}
	if err != nil {
		return nil, peer, nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, shown, err)
	}
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		peer = a.AddrPort()
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the connection if the context ends first, so a read never
	// outlives the bound.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return conn, peer, func() { stop(); conn.Close() }, nil
}

// streamingTo is the first line of describe for a live output.
func streamingTo(c Config, what string) string {
	return fmt.Sprintf("Streaming %dx%d at %s fps %s", c.Width, c.Height, c.FrameRate, what)
}

// kindNames joins the names of a list for an error.
func kindNames(names []string) string { return strings.Join(names, ", ") }

// tlsConfig is how a secure output's check trusts its server: the
// system's CAs, those of Config.TLSCAFile too, or anything with
// Config.TLSInsecure.
func tlsConfig(c Config, host string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, InsecureSkipVerify: c.TLSInsecure}
	if c.TLSCAFile == "" {
		return tc, nil
	}
	b, err := os.ReadFile(c.TLSCAFile)
	if err != nil {
		return nil, fmt.Errorf("%w: TLS CA file: %v", ErrBadParameter, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%w: TLS CA file %s holds no PEM certificate", ErrBadParameter, c.TLSCAFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// tlsRefused says whether a check failed on the server's certificate.
func tlsRefused(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// tlsError says which certificate was refused and what to do.
func tlsError(shown string, err error) error {
	return fmt.Errorf("%w: %s: the server's certificate is not trusted (%v): give its CA with TLSCAFile (push --tls-ca FILE), "+
		"or, for a test server only, TLSInsecure (push --tls-insecure)", ErrUnreachable, shown, err)
}

// sinkTLSFlags is the sinks' tls-validation-flags: GStreamer 1.22's sinks
// take no CA file, so with one (which Setup's check verifies the server
// against) they accept an unknown CA, still checking the name and the
// dates; with TLSInsecure nothing; "" for their default, everything.
func sinkTLSFlags(c Config) string {
	switch {
	case c.TLSInsecure:
		return "no-flags"
	case c.TLSCAFile != "":
		return "bad-identity+not-activated+expired+revoked+insecure+generic-error"
	}
	return ""
}

// remaining is how long ctx has left, for clients that take a timeout
// rather than a context.
func remaining(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return DefaultSetupTimeout
}
