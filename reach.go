package mpegserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"strings"
)

// reach checks, within ctx, that the target can take a stream: for a
// stream, that an RTSP server answers, and where (the address it dialled);
// for a file, that it can be written (it is created empty).
func reach(ctx context.Context, t target) (netip.AddrPort, error) {
	switch t.Scheme {
	case "file", "hls":
		// hlssink2 writes the playlist next to its segments: the same
		// check proves the directory takes both.
		f, err := os.OpenFile(t.Location, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: cannot write %s: %v", ErrUnsupportedAddress, t.Location, err)
		}
		return netip.AddrPort{}, f.Close()
	case "udp":
		// Nobody answers on UDP: the host must resolve, that is all.
		if _, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, t.Location, err)
		}
		return netip.AddrPort{}, nil
	}
	return probeRTSP(ctx, t)
}

// probeRTSP asks the server for its OPTIONS within the deadline. It proves
// that an RTSP server answers at the address before the pipeline is built:
// rtspclientsink itself only connects once the first frame is encoded
// (it needs the codec parameters for ANNOUNCE), too late for Setup to
// report an unreachable server.
func probeRTSP(ctx context.Context, t target) (netip.AddrPort, error) {
	u := Redact(t.Location)
	d := net.Dialer{}
	var conn net.Conn
	var err error
	if t.Scheme == "rtsps" {
		host, _, _ := net.SplitHostPort(t.HostPort)
		td := tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: host}}
		conn, err = td.DialContext(ctx, "tcp", t.HostPort)
	} else {
		conn, err = d.DialContext(ctx, "tcp", t.HostPort)
	}
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, u, err)
	}
	defer conn.Close()
	peer := netip.AddrPort{}
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		peer = a.AddrPort()
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the connection if the context ends first, so a read never
	// outlives the bound.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req := fmt.Sprintf("OPTIONS %s RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: mpegserver\r\n\r\n", t.Location)
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
