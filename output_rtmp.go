package mpegserver

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// rtmpOutput publishes FLV to an RTMP server with rtmp2sink:
// rtmp://[user:password@]host[:port]/app/stream, or rtmps:// over TLS.
type rtmpOutput struct {
	addr, loc, hostPort string
	user, password      string
	secure              bool
}

func parseRTMP(a rawAddress) (output, error) {
	o := &rtmpOutput{addr: a.text, secure: a.scheme == "rtmps"}
	def := "1935"
	if o.secure {
		def = "443"
	}
	var err error
	if o.hostPort, err = a.hostPort(def); err != nil {
		return nil, err
	}
	// rtmp2sink needs the application and the stream name.
	if app, stream, _ := strings.Cut(strings.Trim(a.url.Path, "/"), "/"); app == "" || stream == "" {
		return nil, fmt.Errorf("%w: %q names no application and stream (rtmp://host[:port]/app/stream)", ErrUnsupportedAddress, Redact(a.text))
	}
	if o.loc, o.user, o.password, err = a.credentials(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *rtmpOutput) address() string { return o.addr }

func (o *rtmpOutput) facts() facts {
	return facts{location: o.loc, format: "flv", live: true, connects: true, watched: true, network: true}
}

func (o *rtmpOutput) carries(fam string, _ func(string) bool) error {
	if fam != famH264 {
		return fmt.Errorf("RTMP (FLV) on GStreamer 1.22 carries H.264 only")
	}
	return nil
}

func (o *rtmpOutput) elements(_ *encoder, c Config) []gstpipe.Element {
	p := []gstpipe.Prop{{Name: "location", Value: o.loc, User: true},
		// rtmp2sink's bound on connecting and on each write, in seconds.
		{Name: "timeout", Value: strconv.Itoa(max(int(math.Ceil(c.SetupTimeout.Seconds())), 1))}}
	if o.user != "" {
		p = append(p, gstpipe.Prop{Name: "username", Value: o.user, User: true})
	}
	if o.password != "" {
		p = append(p, gstpipe.Prop{Name: "password", Value: o.password, User: true, Secret: true})
	}
	return []gstpipe.Element{
		// streamable: no index to seek back and write at the end.
		{Factory: "flvmux", Props: []gstpipe.Prop{{Name: "streamable", Value: "true"}}},
		{Factory: "rtmp2sink", Props: p},
	}
}

// reach starts the RTMP handshake (C0+C1) and waits for the server's S0
// within ctx: a refused port fails at once, a silent one at the bound.
// rtmp2sink would otherwise connect in the background and fail only later.
func (o *rtmpOutput) reach(ctx context.Context) (netip.AddrPort, error) {
	u := Redact(o.loc)
	conn, peer, done, err := dialTCP(ctx, o.hostPort, u, o.secure)
	if err != nil {
		return peer, err
	}
	defer done()
	hello := make([]byte, 1+1536) // C0: version 3; C1: time, zero, random (zeros do)
	hello[0] = 3
	if _, err := conn.Write(hello); err != nil {
		return peer, fmt.Errorf("%w: %s: %v", ErrUnreachable, u, err)
	}
	s0 := make([]byte, 1)
	if _, err := io.ReadFull(conn, s0); err != nil {
		return peer, fmt.Errorf("%w: %s: no RTMP answer: %v", ErrUnreachable, u, err)
	}
	if s0[0] != 3 {
		return peer, fmt.Errorf("%w: %s does not speak RTMP (answered version %d)", ErrUnreachable, u, s0[0])
	}
	return peer, nil
}

// classify: rtmp2sink fails on a lost server with errors of its own
// ("Failed to connect", "Connection error"): any error of the sink's is
// the link's.
func (o *rtmpOutput) classify(ev gstpipe.Event, sink, connected bool) error {
	if sink {
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
