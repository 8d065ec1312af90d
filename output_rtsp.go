package mpegserver

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// rtspOutput publishes to an RTSP server (ANNOUNCE, RECORD) with
// rtspclientsink, over TCP: rtsp://[user:password@]host[:port]/path, or
// rtsps:// over TLS.
type rtspOutput struct {
	addr, loc, hostPort string
	user, password      string
	secure              bool
}

func parseRTSP(a rawAddress) (output, error) {
	o := &rtspOutput{addr: a.text, secure: a.scheme == "rtsps"}
	def := "554"
	if o.secure {
		def = "322"
	}
	var err error
	if o.hostPort, err = a.hostPort(def); err != nil {
		return nil, err
	}
	if o.loc, o.user, o.password, err = a.credentials(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *rtspOutput) address() string { return o.addr }

func (o *rtspOutput) facts() facts {
	return facts{location: o.loc, format: "rtsp", live: true, connects: true, watched: true, network: true}
}

// carries: RTSP takes what there is an RTP payloader for.
func (o *rtspOutput) carries(fam string, installed func(string) bool) error {
	if pay := "rtp" + fam + "pay"; !installed(pay) {
		return missingError{"RTSP needs the RTP payloader " + pay + ", which is not installed"}
	}
	return nil
}

func (o *rtspOutput) elements(_ *encoder, c Config) []gstpipe.Element {
	p := []gstpipe.Prop{
		{Name: "location", Value: o.loc, User: true},
		// TCP interleaved: no UDP ports to open, no loss on a busy
		// network, and it passes NAT and firewalls.
		{Name: "protocols", Value: "tcp"},
		// The sink's bound on its own requests (default 20 s).
		{Name: "tcp-timeout", Value: strconv.FormatInt(c.SetupTimeout.Microseconds(), 10)},
		// gortsplib servers (mediamtx, the embedded one) answer SETUP a
		// second late to clients whose user agent starts with "GStreamer",
		// working around an old rtspclientsink bug (docs/design.md).
		{Name: "user-agent", Value: "mpegserver"},
	}
	if o.user != "" {
		p = append(p, gstpipe.Prop{Name: "user-id", Value: o.user, User: true})
	}
	if o.password != "" {
		p = append(p, gstpipe.Prop{Name: "user-pw", Value: o.password, User: true, Secret: true})
	}
	return []gstpipe.Element{{Factory: "rtspclientsink", Props: p}}
}

// reach asks the server for its OPTIONS within ctx. rtspclientsink only
// connects once the first frame is encoded (it needs the codec's
// parameters for ANNOUNCE), too late for Setup to report an unreachable
// server.
func (o *rtspOutput) reach(ctx context.Context) (netip.AddrPort, error) {
	u := Redact(o.loc)
	conn, peer, done, err := dialTCP(ctx, o.hostPort, u, o.secure)
	if err != nil {
		return peer, err
	}
	defer done()
	req := fmt.Sprintf("OPTIONS %s RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: mpegserver\r\n\r\n", o.loc)
	if _, err := conn.Write([]byte(req)); err != nil {
		return peer, fmt.Errorf("%w: %s: %v", ErrUnreachable, u, err)
	}
	line, err := textproto.NewReader(bufio.NewReader(conn)).ReadLine()
	if err != nil {
		return peer, fmt.Errorf("%w: %s: no RTSP answer: %v", ErrUnreachable, u, err)
	}
	if !strings.HasPrefix(line, "RTSP/1.0 ") {
		return peer, fmt.Errorf("%w: %s does not speak RTSP (answered %.40q)", ErrUnreachable, u, line)
	}
	// Any status is an RTSP server answering; a 401 on OPTIONS still means
	// the credentials are checked at ANNOUNCE, where errors are reported.
	return peer, nil
}

// classify: rtspclientsink reports a server that went away mid-stream as
// a failure to read, write, or open again. Its receive loop runs only once
// it has its session, so an open failure there is a lost server, however
// soon after the start.
func (o *rtspOutput) classify(ev gstpipe.Event, _, connected bool) error {
	return linkLoss(ev, connected || strings.Contains(ev.Debug, "_loop_"))
}

func (o *rtspOutput) describe(c Config) OutputInfo {
	shown := Redact(o.addr)
	return OutputInfo{Address: shown, Kind: "RTSP", Live: true, Reconnects: true,
		Watch:       []string{"ffplay -rtsp_transport tcp " + shellWord(shown), "vlc " + shellWord(shown)},
		Unreachable: "Is an RTSP server listening there? Start one with `mpegserver serve`, or run mediamtx; or leave ADDRESS out to use the embedded server"}
}
