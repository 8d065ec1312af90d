package mpegserver

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/bluenviron/gortmplib"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// rtmpOutput publishes FLV to an RTMP server with rtmp2sink:
// rtmp://[user:password@]host[:port]/app/stream[?query], or rtmps:// over
// TLS. Credentials in the user information are also put in the stream
// name's query as user= and pass=, where mediamtx, SRS and nginx-rtmp's
// on_publish hooks look for them; rtmp2sink answers an Adobe-style
// challenge with them too.
type rtmpOutput struct {
	addr, hostPort string
	scheme         string
	app, stream    string // the stream name with its query, credentials included
	user, password string
	secure         bool
}

func parseRTMP(a rawAddress) (output, error) {
	o := &rtmpOutput{addr: a.text, scheme: a.scheme, secure: a.scheme == "rtmps"}
	def := "1935"
	if o.secure {
		def = "443"
	}
	var err error
	if o.hostPort, err = a.hostPort(def); err != nil {
		return nil, err
	}
	// rtmp2sink needs the application and the stream name: the last
	// element of the path is the stream, what is before it the application.
	path := strings.Trim(a.url.EscapedPath(), "/")
	i := strings.LastIndex(path, "/")
	if i <= 0 || i == len(path)-1 {
		return nil, fmt.Errorf("%w: %q names no application and stream (rtmp://host[:port]/app/stream)", ErrUnsupportedAddress, Redact(a.text))
	}
	o.app, o.stream = path[:i], path[i+1:]
	if _, o.user, o.password, err = a.credentials(); err != nil {
		return nil, err
	}
	q := a.url.Query()
	if o.user != "" && !q.Has("user") && !q.Has("pass") {
		add := url.Values{"user": {o.user}}
		if o.password != "" {
			add.Set("pass", o.password)
		}
		if a.url.RawQuery != "" {
			a.url.RawQuery += "&"
		}
		a.url.RawQuery += add.Encode()
	}
	if a.url.RawQuery != "" {
		o.stream += "?" + a.url.RawQuery
	}
	return o, nil
}

// location is what rtmp2sink connects to, credentials in the query.
func (o *rtmpOutput) location() string {
	return o.scheme + "://" + o.hostPort + "/" + o.app + "/" + o.stream
}

func (o *rtmpOutput) address() string { return o.addr }

func (o *rtmpOutput) facts() facts {
	return facts{location: Redact(o.location()), format: "flv", live: true, connects: true, watched: true, network: true}
}

func (o *rtmpOutput) carries(fam string, _ func(string) bool) error {
	if fam != famH264 {
		return fmt.Errorf("RTMP (FLV) on GStreamer 1.22 carries H.264 only")
	}
	return nil
}

func (o *rtmpOutput) elements(_ *encoder, c Config) []gstpipe.Element {
	loc := o.location()
	p := []gstpipe.Prop{{Name: "location", Value: loc, User: true, Shown: Redact(loc)},
		// rtmp2sink's bound on connecting and on each write, in seconds.
		{Name: "timeout", Value: strconv.Itoa(max(int(math.Ceil(c.SetupTimeout.Seconds())), 1))}}
	if o.user != "" {
		p = append(p, gstpipe.Prop{Name: "username", Value: o.user, User: true})
	}
	if o.password != "" {
		p = append(p, gstpipe.Prop{Name: "password", Value: o.password, User: true, Secret: true})
	}
	if flags := sinkTLSFlags(c); o.secure && flags != "" {
		p = append(p, gstpipe.Prop{Name: "tls-validation-flags", Value: flags})
	}
	return []gstpipe.Element{
		// streamable: no index to seek back and write at the end.
		{Factory: "flvmux", Props: []gstpipe.Prop{{Name: "streamable", Value: "true"}}},
		{Factory: "rtmp2sink", Props: p},
	}
}

// reach publishes to the server as the sink will (handshake, connect,
// publish, with the same application, stream name and credentials) and
// hangs up: the server says then whether it takes the stream. rtmp2sink
// would otherwise connect in the background and fail only later.
func (o *rtmpOutput) reach(ctx context.Context, c Config) (netip.AddrPort, error) {
	shown := Redact(o.addr)
	var peer netip.AddrPort
	host, _, _ := net.SplitHostPort(o.hostPort)
	tc, err := tlsConfig(c, host)
	if err != nil {
		return peer, err
	}
	cl := &gortmplib.Client{
		// gortmplib's form: the application as the path, the stream name
		// as the fragment.
		URL:       &url.URL{Scheme: o.scheme, Host: o.hostPort, Path: "/" + o.app, Fragment: o.stream},
		Publish:   true,
		TLSConfig: tc,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if a, ok := conn.(*net.TCPConn); ok {
				peer = a.RemoteAddr().(*net.TCPAddr).AddrPort()
			}
			return conn, err
		},
	}
	err = cl.Initialize(ctx)
	if err == nil {
		cl.Close()
		return peer, nil
	}
	msg := err.Error()
	switch {
	case tlsRefused(err):
		return peer, tlsError(shown, err)
	case strings.Contains(msg, "Unauthorized") || strings.Contains(msg, "authentication") || strings.Contains(msg, "credentials"):
		if o.user == "" && !strings.Contains(o.stream, "?") {
			return peer, refused(true, "%s wants credentials to publish (%s): rtmp://USER:PASSWORD@host/app/stream, or the query the server documents", shown, rtmpStatus(msg))
		}
		return peer, refused(true, "%s refused the credentials (%s)", shown, rtmpStatus(msg))
	case strings.Contains(msg, "NetStream.Publish") || strings.Contains(msg, "NetConnection.Connect"):
		return peer, refused(false, "%s refused to take the stream (%s): check the application and stream name", shown, rtmpStatus(msg))
	case ctx.Err() != nil:
		return peer, fmt.Errorf("%w: %s: no RTMP answer within the setup timeout", ErrUnreachable, shown)
	}
	return peer, fmt.Errorf("%w: %s: %v", ErrUnreachable, shown, err)
}

// rtmpStatus picks the status code out of an RTMP client's error.
func rtmpStatus(msg string) string {
	for _, f := range strings.FieldsFunc(msg, func(r rune) bool { return r == '{' || r == '}' || r == '[' || r == ']' || r == ' ' }) {
		if strings.HasPrefix(f, "NetStream.") || strings.HasPrefix(f, "NetConnection.") {
			return f
		}
	}
	return msg
}

// classify: rtmp2sink fails on a lost server with errors of its own
// ("Failed to connect", "Connection error"): any error of the sink's is
// the link's, but for a refusal of the publish command.
func (o *rtmpOutput) classify(ev gstpipe.Event, sink, connected bool) error {
	text := ev.Message + " " + ev.Debug
	switch {
	case strings.Contains(text, "NetStream.Publish.Unauthorized") || strings.Contains(text, "NetConnection.Connect.Rejected"):
		return refused(true, "the RTMP server refused the credentials (%s)", rtmpStatus(text))
	case strings.Contains(text, "NetStream.Publish.BadName"):
		return refused(false, "the RTMP server refused the stream name (%s)", rtmpStatus(text))
	case sink:
		return ErrDisconnected
	}
	return linkLoss(ev, connected)
}

func (o *rtmpOutput) describe(Config) OutputInfo {
	shown := Redact(o.addr)
	return OutputInfo{Address: shown, Kind: "RTMP", Live: true, Reconnects: true,
		Watch:       []string{"ffplay " + shellWord(shown)},
		Unreachable: "Is an RTMP server (nginx-rtmp, mediamtx, SRS) listening there, and is the address rtmp://host[:port]/app/stream?"}
}

// audio: FLV carries AAC beside H.264 (what YouTube, Twitch and Facebook
// ingest want).
func (o *rtmpOutput) audio(func(string) bool) (audioIn, error) { return audioIn{codec: audioAAC}, nil }
