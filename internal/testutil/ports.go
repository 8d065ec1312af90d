package testutil

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
)

// A test that needs a port nothing listens on (a refused address, or a
// server that goes away and must come back on the same port) cannot
// rely on a port the kernel chose and released: with tests running side
// by side, any listener on port 0 may be given it in the meantime. These
// ports come from below the kernel's ephemeral range, which listeners on
// port 0 never get, and each is held by a lock that every test process on
// this machine (packages run side by side) respects, until the test ends.

// reservedRange is where reserved ports come from: the 10000 ports below
// the kernel's ephemeral range.
func reservedRange() (lo, hi int) {
	hi = 32768 // Linux's default start of the ephemeral range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var a, z int
		if _, err := fmt.Sscan(string(b), &a, &z); err == nil && a > 11024 {
			hi = a
		}
	}
	return hi - 10000, hi
}

// reservation is a port held for one user.
type reservation struct {
	port int
	lock net.Listener
}

// reserve finds a loopback port free for both TCP and UDP and takes its
// lock. The lock is an abstract Unix socket: the kernel refuses a second
// one of the same name, in this process or another, and frees it when
// the process ends, however it ends.
func reserve() (*reservation, error) {
	lo, hi := reservedRange()
	start := rand.IntN(hi - lo)
	for i := 0; i < hi-lo; i++ {
		port := lo + (start+i)%(hi-lo)
		lock, err := net.Listen("unix", fmt.Sprintf("@mpegserver-test-port-%d", port))
		if err != nil {
			if strings.Contains(err.Error(), "address already in use") {
				continue
			}
			return nil, err // no abstract sockets: not Linux
		}
		if free(port) {
			return &reservation{port: port, lock: lock}, nil
		}
		lock.Close()
	}
	return nil, fmt.Errorf("no free port in %d-%d", lo, hi-1)
}

// free reports whether nothing on this machine listens on the loopback
// port, over TCP or UDP.
func free(port int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	pc.Close()
	return true
}

// FreePort returns a loopback port nothing listens on, TCP or UDP, kept
// for this test alone until it ends.
func FreePort(t testing.TB) int {
	t.Helper()
	r, err := reserve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.lock.Close() })
	return r.port
}

// FreeAddr returns a loopback address nothing listens on, kept for this
// test alone until it ends: for a refused address, or a server that must
// come back on the same port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}
