package testutil

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards TCP connections from a loopback port to a target and
// injects faults on command: cut (both sides closed), reset (RST), stall
// (nothing forwarded in one or both directions while the sockets stay
// open), throttle, and refusing new connections.
type Proxy struct {
	l      net.Listener
	target string

	mu      sync.Mutex
	links   map[*link]struct{}
	refuse  bool
	stallUp bool // client → target
	stallDn bool // target → client
	rate    int  // bytes per second each way; 0: unlimited
	cond    *sync.Cond
	closed  bool
	opened  int // connections accepted and forwarded
}

type link struct {
	client, server *net.TCPConn
	ended          int // directions that have stopped; at 2 both sockets are closed
}

// StartProxy listens on a free loopback port and forwards to target until
// the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{l: l, target: target, links: map[*link]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Opened counts the connections the proxy has accepted and forwarded.
func (p *Proxy) Opened() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opened
}

func (p *Proxy) accept() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		lk := &link{client: c.(*net.TCPConn), server: s.(*net.TCPConn)}
		// Small receive buffers: when a direction stalls, the sender's
		// data stops being acknowledged after a few kilobytes, as on a
		// dead link, instead of after the megabytes loopback buffers hold.
		_ = lk.client.SetReadBuffer(32 << 10)
		_ = lk.server.SetReadBuffer(32 << 10)
		p.mu.Lock()
		p.links[lk] = struct{}{}
		p.opened++
		p.mu.Unlock()
		go p.pipe(lk, lk.client, lk.server, true)
		go p.pipe(lk, lk.server, lk.client, false)
	}
}

// pipe copies one direction, pausing while that direction is stalled and
// pacing to the throttle rate.
func (p *Proxy) pipe(lk *link, from, to *net.TCPConn, up bool) {
	buf := make([]byte, 16<<10)
	for {
		p.mu.Lock()
		for !p.closed && ((up && p.stallUp) || (!up && p.stallDn)) {
			p.cond.Wait()
		}
		rate, closed := p.rate, p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		n := len(buf)
		if rate > 0 {
			n = min(n, max(rate/20, 1))
		}
		k, err := from.Read(buf[:n])
		if k > 0 {
			if _, werr := to.Write(buf[:k]); werr != nil {
				err = werr
			}
			if rate > 0 {
				time.Sleep(time.Duration(k) * time.Second / time.Duration(rate))
			}
		}
		if err != nil {
			p.mu.Lock()
			lk.ended++
			if err == io.EOF && lk.ended < 2 {
				_ = to.CloseWrite() // pass the half-close on; the other direction may still flow
			} else {
				from.Close()
				to.Close()
				delete(p.links, lk)
			}
			p.mu.Unlock()
			return
		}
	}
}

func (p *Proxy) each(f func(*link)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for lk := range p.links {
		f(lk)
		delete(p.links, lk)
	}
}

// Cut closes every forwarded connection on both sides (FIN).
func (p *Proxy) Cut() {
	p.each(func(lk *link) { lk.client.Close(); lk.server.Close() })
}

// Reset aborts every forwarded connection on the client's side with a
// TCP reset, and closes the server's side.
func (p *Proxy) Reset() {
	p.each(func(lk *link) {
		_ = lk.client.SetLinger(0)
		lk.client.Close()
		lk.server.Close()
	})
}

// Stall stops forwarding: up is client → target, down the other way.
// Unread bytes fill the kernel's buffers, so the sender's writes block
// once they are full, as on a dead link.
func (p *Proxy) Stall(up, down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallUp, p.stallDn = up, down
	p.cond.Broadcast()
}

// Throttle limits each direction to rate bytes a second (0: no limit).
func (p *Proxy) Throttle(rate int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = rate
}

// Refuse makes the proxy close new connections at once (true), or
// forward them again (false).
func (p *Proxy) Refuse(refuse bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = refuse
}

// Heal ends stalls and throttling.
func (p *Proxy) Heal() {
	p.Stall(false, false)
	p.Throttle(0)
	p.Refuse(false)
}

// Close stops the proxy and drops every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.l.Close()
	p.Cut()
}

// Links counts the connections being forwarded.
func (p *Proxy) Links() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}
