package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	sdp "github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"

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
		// The stream reconnects by its own policy. The sink's own
		// reconnection reopens the socket mid-stream, with no session, and
		// sends its close down the path that can crash (docs/design.md).
		{Name: "udp-reconnect", Value: "false"},
	}
	if o.user != "" {
		p = append(p, gstpipe.Prop{Name: "user-id", Value: o.user, User: true})
	}
	if o.password != "" {
		p = append(p, gstpipe.Prop{Name: "user-pw", Value: o.password, User: true, Secret: true})
	}
	if flags := sinkTLSFlags(c); o.secure && flags != "" {
		p = append(p, gstpipe.Prop{Name: "tls-validation-flags", Value: flags})
	}
	return []gstpipe.Element{{Factory: "rtspclientsink", Props: p}}
}

// reach announces a stream to the server, with the address's
// credentials, and hangs up: the server says then whether it takes a
// publisher there (200), which credentials it wants (401, 403) or that it
// refuses the path (another 4xx). rtspclientsink itself only connects
// once the first frame is encoded (it needs the codec's parameters for
// ANNOUNCE), too late for Setup to report any of that.
func (o *rtspOutput) reach(ctx context.Context, c Config) (netip.AddrPort, error) {
	shown := Redact(o.addr)
	u, err := base.ParseURL(o.addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %s: %v", ErrUnsupportedAddress, shown, err)
	}
	var peer netip.AddrPort
	timeout := remaining(ctx)
	tcp := gortsplib.ProtocolTCP
	host, _, _ := net.SplitHostPort(o.hostPort)
	tc, err := tlsConfig(c, host)
	if err != nil {
		return peer, err
	}
	cl := &gortsplib.Client{Scheme: u.Scheme, Host: o.hostPort, Protocol: &tcp, UserAgent: "mpegserver",
		ReadTimeout: timeout, WriteTimeout: timeout, TLSConfig: tc,
		DialContext: func(_ context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if a, ok := conn.(*net.TCPConn); ok {
				peer = a.RemoteAddr().(*net.TCPAddr).AddrPort()
			}
			return conn, err
		}}
	if err := cl.Start(); err != nil {
		return peer, fmt.Errorf("%w: %s: %v", ErrUnreachable, shown, err)
	}
	stop := context.AfterFunc(ctx, cl.Close)
	defer stop()
	defer cl.Close()
	desc := &sdp.Session{Medias: []*sdp.Media{{Type: sdp.MediaTypeVideo,
		Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}}}}
	_, err = cl.Announce(u, desc)
	var bad liberrors.ErrClientBadStatusCode
	switch {
	case err == nil:
		return peer, nil
	case tlsRefused(err):
		return peer, tlsError(shown, err)
	case errors.As(err, &bad) && (bad.Code == base.StatusUnauthorized || bad.Code == base.StatusForbidden):
		if o.user == "" {
			return peer, refused(true, "%s wants a user name and password to publish (%d %s): rtsp://USER:PASSWORD@host/path",
				shown, bad.Code, bad.Message)
		}
		return peer, refused(true, "%s refused the user name or password (%d %s)", shown, bad.Code, bad.Message)
	case errors.As(err, &bad) && bad.Code >= 400 && bad.Code < 500:
		return peer, refused(false, "%s refused to take a stream there (%d %s): check the path", shown, bad.Code, bad.Message)
	case ctx.Err() != nil:
		return peer, fmt.Errorf("%w: %s: no RTSP answer within the setup timeout", ErrUnreachable, shown)
	}
	return peer, fmt.Errorf("%w: %s: no RTSP answer to ANNOUNCE: %v", ErrUnreachable, shown, err)
}

// classify: rtspclientsink reports a server that went away mid-stream as
// a failure to read, write, or open again. Its receive loop runs only once
// it has its session, so an open failure there is a lost server, however
// soon after the start.
func (o *rtspOutput) classify(ev gstpipe.Event, _, connected bool) error {
	text := ev.Message + " " + ev.Debug
	if strings.Contains(text, "Not authorized") || strings.Contains(text, "Unauthorized") ||
		strings.Contains(text, "authentication protocol") {
		return refused(true, "the RTSP server refused the credentials")
	}
	return linkLoss(ev, connected || strings.Contains(ev.Debug, "_loop_"))
}

func (o *rtspOutput) describe(c Config) OutputInfo {
	shown := Redact(o.addr)
	return OutputInfo{Address: shown, Kind: "RTSP", Live: true, Reconnects: true,
		Watch:       []string{"ffplay -rtsp_transport tcp " + shellWord(shown), "vlc " + shellWord(shown)},
		Unreachable: "Is an RTSP server listening there? Start one with `mpegserver serve`, or run mediamtx; or leave ADDRESS out to use the embedded server"}
}

// audio: AAC, which rtspclientsink payloads as MP4A-LATM (a second media
// in the ANNOUNCE) with a payloader it picks itself.
func (o *rtspOutput) audio(installed func(string) bool) (audioIn, error) {
	if !installed("rtpmp4apay") {
		return audioIn{}, missingError{"RTSP needs the RTP payloader rtpmp4apay for AAC, which is not installed"}
	}
	return audioIn{codec: audioAAC}, nil
}
