// Package rtspserver is a small in-process RTSP relay built on gortsplib.
//
// A publisher sends a stream to a path with ANNOUNCE/RECORD; any number of
// readers receive it with DESCRIBE/SETUP/PLAY. Each path has at most one
// publisher: a new publisher on a busy path replaces the old one, as mediamtx
// does. When a publisher leaves, its readers are disconnected, so a reader
// sees the end of the stream instead of waiting forever.
//
// Only TCP (interleaved) transport is offered: it is what mpegserver
// publishes with, it loses nothing on loopback, and it needs no UDP ports.
//
// The Wait* methods block on events with a context, so tests and the command
// never have to sleep and hope.
package rtspserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"
)

// DefaultAddress is where Start listens when Address is empty: loopback only,
// on a free port chosen by the kernel.
const DefaultAddress = "127.0.0.1:0"

// readerDrain is how long a stream outlives its publisher so readers get
// what is still queued for them: gortsplib drops a reader's queue when its
// stream closes. On loopback the queue empties in well under a millisecond.
const readerDrain = 250 * time.Millisecond

// ErrClosed is returned by the Wait methods once the server is closed.
var ErrClosed = errors.New("rtspserver: server closed")

// PathInfo is a snapshot of one path.
type PathInfo struct {
	Publishing bool   // a publisher is recording on the path
	Readers    int    // sessions playing the path
	Packets    uint64 // RTP packets received from publishers since the path was created
	Frames     uint64 // video packets with the RTP marker bit: completed access units
	Bytes      uint64 // RTP payload bytes received from publishers
	Publishers int    // how many publishers have recorded on the path so far
	// AudioPackets counts the RTP packets of the publishers' other media
	// (an audio track), which Frames leaves out.
	AudioPackets uint64
}

// Server is an RTSP relay. Set Address (optional) then call Start; Close
// stops it and disconnects every client.
type Server struct {
	// Address to listen on, host:port. Empty means DefaultAddress.
	Address string
	// Logf, when set, receives one line per connection and session event.
	Logf func(format string, args ...any)
	// PublishUser and PublishPass, when PublishUser is set, are the
	// credentials a publisher's ANNOUNCE must carry; a wrong or missing
	// one is answered 401 at once. Empty, the default, lets anyone
	// publish. Readers are never asked.
	PublishUser, PublishPass string

	srv      *gortsplib.Server
	addr     net.Addr
	mu       sync.Mutex
	paths    map[string]*path
	changed  chan struct{} // closed and replaced on every state change
	draining map[*gortsplib.ServerStream]*time.Timer
	closed   bool
	closedCh chan struct{}
	nextSub  int
	gen      int               // counts publishers across paths, for Track.Generation
	keyWant  func(path string) // OnKeyframeWanted's function
}

// Track describes the video a path's publisher sends.
type Track struct {
	Codec     string // as gortsplib names it: "H264", "H265", "VP8", "VP9", "AV1", ...
	ClockRate int
	// Generation changes with every publisher: a subscriber that sees it
	// change knows time stamps and sequence numbers start over.
	Generation int
}

// Subscribe calls fn with every video RTP packet published on the path,
// from now until the returned function is called; packets from a
// publisher that replaces another follow on. fn runs on the publisher's
// goroutine and must not block; the packet is only valid during the call.
func (s *Server) Subscribe(name string, fn func(Track, *rtp.Packet)) (cancel func()) {
	name = cleanPath(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pathLocked(name)
	s.nextSub++
	id := s.nextSub
	p.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(p.subs, id)
	}
}

// pathLocked returns the named path, created if new.
func (s *Server) pathLocked(name string) *path {
	p := s.paths[name]
	if p == nil {
		p = &path{readers: map[*gortsplib.ServerSession]struct{}{}, subs: map[int]func(Track, *rtp.Packet){}}
		s.paths[name] = p
	}
	return p
}

// VideoTrack is the video the path's publisher sends; false while nothing
// is published there.
func (s *Server) VideoTrack(name string) (Track, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.paths[cleanPath(name)]
	if p == nil || p.publisher == nil || p.video.Codec == "" {
		return Track{}, false
	}
	return p.video, true
}

type path struct {
	video      Track // what the publisher sends (Codec "" when nothing)
	subs       map[int]func(Track, *rtp.Packet)
	stream     *gortsplib.ServerStream
	pending    *gortsplib.ServerSession // announced, not yet recording
	publisher  *gortsplib.ServerSession
	readers    map[*gortsplib.ServerSession]struct{}
	packets    uint64
	frames     uint64
	audio      uint64
	bytes      uint64
	publishers int
}

// Start listens and serves in the background. It returns once the listener
// is bound, so Addr and URL are valid right after it.
func (s *Server) Start() error {
	addr := s.Address
	if addr == "" {
		addr = DefaultAddress
	}
	s.paths = make(map[string]*path)
	s.draining = make(map[*gortsplib.ServerStream]*time.Timer)
	s.changed = make(chan struct{})
	s.closedCh = make(chan struct{})
	h := &handler{s: s}
	s.srv = &gortsplib.Server{
		Handler:     h,
		RTSPAddress: addr,
		// Packets queued for each reader: a reader that stalls (a busy
		// machine, a browser tab in the background) loses nothing until it
		// is this far behind, some seconds of a 720p stream; gortsplib's
		// default, 256, is less than a 720p keyframe's worth at times.
		WriteQueueSize: 2048,
		// Capture the bound address: with port 0 only the listener knows it.
		Listen: func(network, address string) (net.Listener, error) {
			l, err := net.Listen(network, address)
			if err == nil {
				s.addr = l.Addr()
			}
			return l, err
		},
	}
	if err := s.srv.Start(); err != nil {
		return fmt.Errorf("rtspserver: listen on %s: %w", addr, err)
	}
	return nil
}

// Addr is the address the server listens on, host:port.
func (s *Server) Addr() string { return s.addr.String() }

// URL returns rtsp://host:port/<p> for a path name such as "video".
func (s *Server) URL(p string) string {
	return "rtsp://" + s.Addr() + "/" + strings.TrimPrefix(p, "/")
}

// Close stops the server and disconnects every publisher and reader. It is
// safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closedCh)
	s.mu.Unlock()
	s.srv.Close()
	s.mu.Lock()
	for name, p := range s.paths {
		if p.stream != nil {
			p.stream.Close()
		}
		delete(s.paths, name)
	}
	for st, t := range s.draining {
		t.Stop()
		st.Close()
		delete(s.draining, st)
	}
	s.notifyLocked()
	s.mu.Unlock()
}

// retireLocked ends a stream whose publisher left: new readers no longer
// find it at once, and its readers are disconnected once their queues had
// readerDrain to empty, so they see the end of the stream, not its loss.
func (s *Server) retireLocked(st *gortsplib.ServerStream) {
	s.draining[st] = time.AfterFunc(readerDrain, func() {
		s.mu.Lock()
		_, ok := s.draining[st]
		delete(s.draining, st)
		s.mu.Unlock()
		if ok {
			st.Close()
		}
	})
}

// Info returns a snapshot of a path ("video" or "/video").
func (s *Server) Info(name string) PathInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.infoLocked(cleanPath(name))
}

// Paths returns a snapshot of every path the server knows: published,
// read, or published once.
func (s *Server) Paths() map[string]PathInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]PathInfo, len(s.paths))
	for name := range s.paths {
		out[name] = s.infoLocked(name)
	}
	return out
}

func (s *Server) infoLocked(name string) PathInfo {
	p := s.paths[name]
	if p == nil {
		return PathInfo{}
	}
	return PathInfo{
		Publishing: p.publisher != nil,
		Readers:    len(p.readers),
		Packets:    p.packets,
		Frames:     p.frames,
		Bytes:      p.bytes,
		Publishers: p.publishers,

		AudioPackets: p.audio,
	}
}

// Wait blocks until cond holds for the path's info, the context ends, or
// the server closes.
func (s *Server) Wait(ctx context.Context, name string, cond func(PathInfo) bool) error {
	name = cleanPath(name)
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		ok := cond(s.infoLocked(name))
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("rtspserver: waiting on path %q: %w", name, ctx.Err())
		case <-s.closedCh:
			return ErrClosed
		}
	}
}

// WaitPublisher blocks until a publisher records on the path.
func (s *Server) WaitPublisher(ctx context.Context, name string) error {
	return s.Wait(ctx, name, func(i PathInfo) bool { return i.Publishing })
}

// WaitReaders blocks until at least n readers play the path.
func (s *Server) WaitReaders(ctx context.Context, name string, n int) error {
	return s.Wait(ctx, name, func(i PathInfo) bool { return i.Readers >= n })
}

// WaitUnpublished blocks until the path has no publisher (it left, or never came).
func (s *Server) WaitUnpublished(ctx context.Context, name string) error {
	return s.Wait(ctx, name, func(i PathInfo) bool { return !i.Publishing })
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

func cleanPath(p string) string { return strings.Trim(p, "/") }

// handler implements gortsplib's server callbacks.
type handler struct{ s *Server }

func (h *handler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	h.s.logf("conn %v opened", ctx.Conn.NetConn().RemoteAddr())
}

func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	h.s.logf("conn %v closed: %v", ctx.Conn.NetConn().RemoteAddr(), ctx.Error)
}

func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, p := range s.paths {
		if p.publisher == ctx.Session || p.pending == ctx.Session {
			s.logf("path %q: publisher left (%v)", name, ctx.Error)
			p.publisher, p.pending = nil, nil
			s.retireLocked(p.stream)
			p.stream = nil
			p.readers = map[*gortsplib.ServerSession]struct{}{}
			s.notifyLocked()
		}
		if _, ok := p.readers[ctx.Session]; ok {
			delete(p.readers, ctx.Session)
			s.notifyLocked()
		}
	}
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	return h.s.streamOf(ctx.Path)
}

// streamOf answers a reader's DESCRIBE or SETUP: the path's stream once
// its publisher records, or 404 (as mediamtx does). A stream only
// announced may never record: a publisher's reachability check announces
// and leaves, and a reader given its stream saw it end at once.
func (s *Server) streamOf(path string) (*base.Response, *gortsplib.ServerStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.paths[cleanPath(path)]
	if p == nil || p.stream == nil || p.publisher == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, p.stream, nil
}

// OnStreamWriteError: a reader too far behind loses packets.
func (h *handler) OnStreamWriteError(ctx *gortsplib.ServerHandlerOnStreamWriteErrorCtx) {
	h.s.logf("a reader fell behind and lost packets: %v", ctx.Error)
}

func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	s := h.s
	name := cleanPath(ctx.Path)
	if name == "" {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("empty path")
	}
	if s.PublishUser != "" && !ctx.Conn.VerifyCredentials(ctx.Request, s.PublishUser, s.PublishPass) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pathLocked(name)
	// The newest publisher wins, as in mediamtx: a restarted publisher must
	// not be locked out by its own stale session.
	for _, old := range []*gortsplib.ServerSession{p.publisher, p.pending} {
		if old != nil && old != ctx.Session {
			s.logf("path %q: replacing publisher", name)
			old.Close()
		}
	}
	if p.stream != nil {
		p.stream.Close()
	}
	p.readers = map[*gortsplib.ServerSession]struct{}{}
	st := &gortsplib.ServerStream{Server: s.srv, Desc: ctx.Description}
	if err := st.Initialize(); err != nil {
		p.stream, p.publisher, p.pending = nil, nil, nil
		return &base.Response{StatusCode: base.StatusBadRequest}, err
	}
	p.stream = st
	p.publisher = nil
	// Publishing only starts at RECORD; until then the session is pending.
	p.pending = ctx.Session
	s.notifyLocked()
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	return h.s.streamOf(ctx.Path)
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.paths[cleanPath(ctx.Path)]
	if p == nil || p.stream == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}
	p.readers[ctx.Session] = struct{}{}
	s.notifyLocked()
	if fn := s.keyWant; fn != nil {
		// A keyframe now lets the reader start at once instead of at the
		// publisher's next one. Asked on a goroutine of its own: the
		// publisher's packets wait for this lock until PLAY is answered,
		// as they did before, and fn may call the relay.
		go fn(cleanPath(ctx.Path))
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	s := h.s
	name := cleanPath(ctx.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.paths[name]
	if p == nil || p.pending != ctx.Session {
		return &base.Response{StatusCode: base.StatusBadRequest}, errors.New("RECORD without ANNOUNCE")
	}
	p.pending = nil
	p.publisher = ctx.Session
	p.publishers++
	s.gen++
	p.video = Track{Generation: s.gen}
	var videoMedia *description.Media
	for _, m := range p.stream.Desc.Medias {
		if m.Type == description.MediaTypeVideo && len(m.Formats) > 0 {
			videoMedia = m
			p.video.Codec, p.video.ClockRate = m.Formats[0].Codec(), m.Formats[0].ClockRate()
			break
		}
	}
	st := p.stream
	var subs []func(Track, *rtp.Packet)
	ctx.Session.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		s.mu.Lock()
		subs, track := subs[:0], p.video
		if medi == videoMedia && p.publisher == ctx.Session {
			for _, fn := range p.subs {
				subs = append(subs, fn)
			}
		}
		s.mu.Unlock()
		for _, fn := range subs {
			fn(track, pkt)
		}
		// Errors here mean a slow reader's queue is full; gortsplib already
		// reports that on the reader's session, so the publisher goes on.
		_ = st.WritePacketRTP(medi, pkt)
		// Counted once forwarded: a reader that starts after Wait saw frame
		// n gets none of frame n's packets. (Counted first, a reader could
		// join between the count and the write and get frame n's last
		// packet: TestReconnectAfterServerRestart read 21 frames of 20.)
		s.mu.Lock()
		p.packets++
		switch {
		case medi != videoMedia:
			p.audio++
		case pkt.Marker:
			p.frames++
		}
		p.bytes += uint64(len(pkt.Payload))
		s.notifyLocked() // Wait conditions may look at the counters
		s.mu.Unlock()
	})
	s.logf("path %q: publisher recording", name)
	s.notifyLocked()
	return &base.Response{StatusCode: base.StatusOK}, nil
}
