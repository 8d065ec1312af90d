package mpegserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// udpOutput sends MPEG-TS in UDP datagrams with udpsink: udp://host:port.
// Nobody answers, so nothing is checked but the host, and nothing is
// reconnected.
type udpOutput struct {
	addr, host, port string
}

func parseUDP(a rawAddress) (output, error) {
	u := a.url
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("%w: %q: a UDP address is udp://host:port, nothing more", ErrUnsupportedAddress, Redact(a.text))
	}
	hp, err := a.hostPort("")
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(hp)
	return &udpOutput{addr: a.text, host: host, port: port}, nil
}

func (o *udpOutput) address() string { return o.addr }

func (o *udpOutput) facts() facts {
	return facts{location: o.addr, format: "mpegts", live: true, network: true}
}

func (o *udpOutput) carries(fam string, _ func(string) bool) error { return tsCarries(fam) }

func (o *udpOutput) elements(*encoder, Config) []gstpipe.Element {
	return []gstpipe.Element{
		// alignment=7: seven 188-byte packets a datagram (1316 bytes),
		// as every MPEG-TS over UDP receiver expects, under any MTU.
		{Factory: "mpegtsmux", Props: []gstpipe.Prop{{Name: "alignment", Value: "7"}}},
		{Factory: "udpsink", Props: []gstpipe.Prop{{Name: "host", Value: o.host, User: true}, {Name: "port", Value: o.port}}},
	}
}

// reach: the host must resolve, that is all.
func (o *udpOutput) reach(ctx context.Context, _ Config) (netip.AddrPort, error) {
	if _, err := net.DefaultResolver.LookupNetIP(ctx, "ip", o.host); err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, o.addr, err)
	}
	return netip.AddrPort{}, nil
}

func (o *udpOutput) classify(gstpipe.Event, bool, bool) error { return ErrPipeline }

func (o *udpOutput) describe(Config) OutputInfo {
	shown := Redact(o.addr)
	return OutputInfo{Address: shown, Kind: "MPEG-TS over UDP", Live: true,
		Watch:       []string{"ffplay " + shellWord(shown) + "   (on the receiving machine)"},
		Unreachable: "Does the host name resolve?"}
}

// audio: AAC (ADTS) in MPEG-TS, as for SRT.
func (o *udpOutput) audio(func(string) bool) (audioIn, error) { return audioIn{codec: audioAAC}, nil }
