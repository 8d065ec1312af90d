package mpegserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"strings"
	"time"
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
	case "rtmp", "rtmps":
		return probeRTMP(ctx, t)
	case "srt":
		return netip.AddrPort{}, probeSRT(ctx, t)
	}
	return probeRTSP(ctx, t)
}

// reachAll reaches every output of a description; the address returned is
// the first output's.
func reachAll(ctx context.Context, d description) (netip.AddrPort, error) {
	var peer netip.AddrPort
	for k, o := range d.outputs {
		p, err := reach(ctx, o.target)
		if err != nil {
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

// dialStream dials a TCP (or, for the secure schemes, TLS) server within
// ctx; reads and writes are bounded by ctx too.
func dialStream(ctx context.Context, t target) (net.Conn, netip.AddrPort, func(), error) {
	d := net.Dialer{}
	var conn net.Conn
	var err error
	if t.Scheme == "rtsps" || t.Scheme == "rtmps" {
		host, _, _ := net.SplitHostPort(t.HostPort)
		td := tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: host}}
		conn, err = td.DialContext(ctx, "tcp", t.HostPort)
	} else {
		conn, err = d.DialContext(ctx, "tcp", t.HostPort)
	}
	if err != nil {
		return nil, netip.AddrPort{}, nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, Redact(t.Location), err)
	}
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
	return conn, peer, func() { stop(); conn.Close() }, nil
}

// probeRTMP starts the RTMP handshake (C0+C1) and waits for the server's
// S0 within the deadline: a refused port fails at once, a silent one at
// the bound. rtmp2sink would otherwise connect in the background and fail
// only later.
func probeRTMP(ctx context.Context, t target) (netip.AddrPort, error) {
	conn, peer, done, err := dialStream(ctx, t)
	if err != nil {
		return peer, err
	}
	defer done()
	u := Redact(t.Location)
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

// probeSRT sends an SRT induction handshake and waits for any answer
// within the deadline. UDP has no connection to refuse, but a closed port
// answers with ICMP, which the connected socket reports at once.
func probeSRT(ctx context.Context, t target) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", t.HostPort)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, t.Location, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// A control packet (handshake) with the induction request: version 4,
	// socket type DGRAM (2), MTU 1500, window 8192, type INDUCTION (1).
	pkt := make([]byte, 64)
	binary.BigEndian.PutUint32(pkt[0:], 0x80000000)
	binary.BigEndian.PutUint32(pkt[16:], 4)
	binary.BigEndian.PutUint32(pkt[20:], 2)
	binary.BigEndian.PutUint32(pkt[24:], uint32(time.Now().UnixNano())&0x7fffffff)
	binary.BigEndian.PutUint32(pkt[28:], 1500)
	binary.BigEndian.PutUint32(pkt[32:], 8192)
	binary.BigEndian.PutUint32(pkt[36:], 1)
	binary.BigEndian.PutUint32(pkt[40:], uint32(time.Now().UnixNano()>>8)&0x7fffffff|1)
	buf := make([]byte, 1500)
	// The request is repeated, as SRT callers do: a datagram may be lost.
	for {
		if _, err := conn.Write(pkt); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUnreachable, t.Location, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		n, err := conn.Read(buf)
		if err == nil && n >= 16 && buf[0]&0x80 != 0 {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %s: no SRT answer within the setup timeout", ErrUnreachable, t.Location)
		}
		if ne, ok := err.(net.Error); err != nil && !(ok && ne.Timeout()) {
			return fmt.Errorf("%w: %s: %v", ErrUnreachable, t.Location, err)
		}
	}
}

// probeRTSP asks the server for its OPTIONS within the deadline. It proves
// that an RTSP server answers at the address before the pipeline is built:
// rtspclientsink itself only connects once the first frame is encoded
// (it needs the codec parameters for ANNOUNCE), too late for Setup to
// report an unreachable server.
func probeRTSP(ctx context.Context, t target) (netip.AddrPort, error) {
	u := Redact(t.Location)
	conn, peer, done, err := dialStream(ctx, t)
	if err != nil {
		return peer, err
	}
	defer done()
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
