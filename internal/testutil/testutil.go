// Package testutil holds what the tests of every package share: a bounded
// context, an embedded RTSP relay per test, and skipping when an outside
// tool is missing.
package testutil

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// Context returns a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// StartRelay runs an embedded RTSP server on a free loopback port for one
// test. MPEGSERVER_TEST_LOG=1 logs its events to the test log.
func StartRelay(t testing.TB) *rtspserver.Server {
	t.Helper()
	s := &rtspserver.Server{}
	if os.Getenv("MPEGSERVER_TEST_LOG") != "" {
		s.Logf = t.Logf
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// NeedTool skips the test when a program it runs is not installed.
func NeedTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed (make deps)", name)
	}
}

// SilentServer listens on a free loopback port, accepts connections and
// never answers, until the test ends; it returns host:port.
func SilentServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return l.Addr().String()
}
