package mpegserver

import (
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// sinkSocket is the TCP connection a network sink (RTSP, RTMP) opened to
// the server.
// GStreamer does not expose it, but it is a file descriptor of this
// process: found by its peer address among the sockets that appeared after
// the pipeline started, it lets the stream see what the kernel sees (bytes
// acknowledged, the server's FIN) and end a blocked send at once.
type sinkSocket struct {
	fd  int
	ino uint64 // the socket's inode, checked before each use: fds get reused
}

// socketInodes maps the inode of every socket this process holds to its
// file descriptor.
func socketInodes() map[uint64]int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	out := make(map[uint64]int, len(ents))
	for _, e := range ents {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		ino, err1 := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
		fd, err2 := strconv.Atoi(e.Name())
		if err1 == nil && err2 == nil {
			out[ino] = fd
		}
	}
	return out
}

// sinkMinWritten is how much a connection must have written to be taken
// for the sink's: more than a reader of the same server in this process
// writes while it asks for a stream (DESCRIBE, SETUP, PLAY), less than the
// sink's handshake and first frame.
const sinkMinWritten = 4 << 10

// findSinkSocket looks for the sink's connection: among the sockets
// connected to peer whose inode is not in before, the one that has written
// the most, if that is at least sinkMinWritten. (A program, or a test, may
// read the same server from this process: its connections write little.)
func findSinkSocket(peer netip.AddrPort, before map[uint64]int) (sinkSocket, bool) {
	var best sinkSocket
	var bestWritten uint64
	for ino, fd := range socketInodes() {
		if _, old := before[ino]; old {
			continue
		}
		sa, err := unix.Getpeername(fd)
		if err != nil {
			continue
		}
		var got netip.AddrPort
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			got = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
		case *unix.SockaddrInet6:
			got = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
		default:
			continue
		}
		if got.Addr().Unmap() != peer.Addr().Unmap() || got.Port() != peer.Port() {
			continue
		}
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			continue
		}
		if written := info.Bytes_sent + uint64(info.Notsent_bytes); written > bestWritten {
			best, bestWritten = sinkSocket{fd: fd, ino: ino}, written
		}
	}
	if bestWritten < sinkMinWritten || !best.same() {
		return sinkSocket{}, false
	}
	return best, true
}

// same reports whether fd still is the socket that was found.
func (s sinkSocket) same() bool {
	var st unix.Stat_t
	return unix.Fstat(s.fd, &st) == nil && st.Ino == s.ino
}

// socketState is what the kernel says of the connection.
type socketState struct {
	open    bool   // established: neither side has closed
	acked   uint64 // bytes the server has acknowledged, ever
	pending uint64 // bytes sent but not acknowledged, plus bytes not yet sent
}

// state reads the connection's TCP state; ok is false once the socket is
// gone (closed by the sink, or its fd reused).
func (s sinkSocket) state() (st socketState, ok bool) {
	if !s.same() {
		return st, false
	}
	info, err := unix.GetsockoptTCPInfo(s.fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return st, false
	}
	const established = 1 // TCP_ESTABLISHED
	// Unacked counts segments; any is enough to say data is in flight.
	pending := uint64(info.Notsent_bytes)
	if info.Unacked > 0 {
		pending++
	}
	return socketState{open: info.State == established, acked: info.Bytes_acked, pending: pending}, true
}

// shutdown ends the connection in both directions, so a send blocked on a
// dead link returns at once and the pipeline can stop.
func (s sinkSocket) shutdown() {
	if s.same() {
		_ = unix.Shutdown(s.fd, unix.SHUT_RDWR)
	}
}
