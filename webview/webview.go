// Package webview shows the embedded RTSP server's streams in a browser,
// over WebRTC: /PATH is a page that plays PATH, /PATH/whep is a standard
// WHEP endpoint (so other WHEP players work too). The page and its script
// are embedded in the binary; nothing is fetched from elsewhere.
//
// Loopback by default, ICE included: on a loopback listen address the
// server offers 127.0.0.1 candidates only, ignores a player's other
// candidates, and never sends an mDNS query, so a player on the same
// machine connects without touching another interface. Public exposes it.
package webview

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// DefaultAddress is where the server listens when Address is empty.
const DefaultAddress = "127.0.0.1:8889"

// DefaultMaxSessions bounds the viewers at once when MaxSessions is 0.
const DefaultMaxSessions = 16

// Server serves the page and the WHEP endpoint for every path of Relay.
type Server struct {
	Relay   *rtspserver.Server
	Address string // host:port; DefaultAddress when empty
	// Public offers ICE candidates on every interface (for viewers on
	// other machines). Off, and on a loopback Address, only 127.0.0.1.
	Public bool
	// MaxSessions bounds the viewers at once (DefaultMaxSessions when 0);
	// more get 503.
	MaxSessions int
	// Logf, when set, receives a line per session event.
	Logf func(format string, args ...any)

	mu       sync.Mutex
	sessions map[string]*session
	nextID   uint64
	hs       *http.Server
	addr     net.Addr
	api      *webrtcAPI
	closed   bool
	done     chan struct{}
}

// ErrClosed is returned once the server is closed.
var ErrClosed = errors.New("webview: server closed")

// Start listens and serves in the background; Addr and URL are valid when
// it returns.
func (s *Server) Start() error {
	addr := s.Address
	if addr == "" {
		addr = DefaultAddress
	}
	if err := s.init(addr); err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webview: listen on %s: %w", addr, err)
	}
	s.addr = l.Addr()
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = s.hs.Serve(l) }()
	return nil
}

// init prepares what serving needs; Start calls it, and so does the first
// request when the Server is used as a plain http.Handler.
func (s *Server) init(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.api != nil {
		return nil
	}
	if s.Relay == nil {
		return errors.New("webview: no Relay")
	}
	loopbackOnly := !s.Public
	if host, _, err := net.SplitHostPort(addr); err == nil && s.Public {
		ip := net.ParseIP(host)
		loopbackOnly = ip != nil && ip.IsLoopback()
	}
	api, err := newWebRTCAPI(loopbackOnly)
	if err != nil {
		return err
	}
	s.api = api
	s.sessions = map[string]*session{}
	s.done = make(chan struct{})
	return nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.addr.String() }

// URL is the page that plays a path, http://host:port/PATH.
func (s *Server) URL(path string) string {
	return "http://" + s.Addr() + "/" + strings.Trim(path, "/")
}

// Sessions counts the viewers connected or connecting.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close ends every session and stops serving.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed || s.api == nil {
		s.closed = true
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	all := make([]*session, 0, len(s.sessions))
	for _, x := range s.sessions {
		all = append(all, x)
	}
	s.mu.Unlock()
	for _, x := range all {
		x.close("server closed")
	}
	if s.hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.hs.Shutdown(ctx)
	}
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

func (s *Server) maxSessions() int {
	if s.MaxSessions > 0 {
		return s.MaxSessions
	}
	return DefaultMaxSessions
}
