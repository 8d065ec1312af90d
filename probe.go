package mpegserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"strings"
)

// probeRTSP asks the server for its OPTIONS within the deadline. It proves
// that an RTSP server answers at the address before the pipeline is built:
// rtspclientsink itself only connects once the first frame is encoded
// (it needs the codec parameters for ANNOUNCE), too late for Setup to
// report an unreachable server.
func probeRTSP(ctx context.Context, t target) error {
	u := t.Location
	host := hostPort(t)
	d := net.Dialer{}
	var conn net.Conn
	var err error
	if t.Scheme == "rtsps" {
		td := tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: hostOnly(host)}}
		conn, err = td.DialContext(ctx, "tcp", host)
	} else {
		conn, err = d.DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, Redact(u), err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the connection if the context ends first, so a read never
	// outlives the bound.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req := fmt.Sprintf("OPTIONS %s RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: mpegserver\r\n\r\n", u)
	if _, err := conn.Write([]byte(req)); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, Redact(u), err)
	}
	line, err := textproto.NewReader(bufio.NewReader(conn)).ReadLine()
	if err != nil {
		return fmt.Errorf("%w: %s: no RTSP answer: %v", ErrUnreachable, Redact(u), err)
	}
	if !strings.HasPrefix(line, "RTSP/1.0 ") {
		return fmt.Errorf("%w: %s does not speak RTSP (answered %.40q)", ErrUnreachable, Redact(u), line)
	}
	// Any status is an RTSP server answering; a 401 on OPTIONS still means
	// the credentials are checked at ANNOUNCE, where errors are reported.
	return nil
}

func hostPort(t target) string {
	rest := strings.TrimPrefix(t.Location, t.Scheme+"://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if _, _, err := net.SplitHostPort(rest); err == nil {
		return rest
	}
	port := "554"
	if t.Scheme == "rtsps" {
		port = "322"
	}
	return net.JoinHostPort(strings.Trim(rest, "[]"), port)
}

func hostOnly(hp string) string {
	h, _, err := net.SplitHostPort(hp)
	if err != nil {
		return hp
	}
	return h
}
