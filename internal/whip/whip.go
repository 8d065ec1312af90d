// Package whip publishes one video track to a WHIP endpoint (RFC 9725):
// an SDP offer POSTed with a bearer token, the answer and the session's
// Location kept, trickle ICE by PATCH where the server takes it, the
// session DELETEd at the end; the media go over a pion peer connection
// that the caller feeds RTP packets (GStreamer's payloader's, in the
// library). ICE gathers and sends on loopback only unless Public.
package whip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/mpegcoder-go/mpegserver/internal/peer"
)

// Errors of Publish and of a session, besides *StatusError.
var (
	// ErrCodec: the server's answer takes nothing the encoder makes.
	ErrCodec = errors.New("the WHIP server does not take this codec")
	// ErrNotConnected: ICE or DTLS did not connect within the bound.
	ErrNotConnected = errors.New("the WebRTC connection to the WHIP server did not come up")
	// ErrLost: the connection was up and went down (ICE disconnected or
	// failed, or the server closed it).
	ErrLost = errors.New("the WebRTC connection to the WHIP server was lost")
)

// Options say what to publish where.
type Options struct {
	Endpoint *url.URL // http or https, without user information
	Token    string   // sent as "Authorization: Bearer TOKEN"; "" for none
	Family   string   // H264, VP8 or VP9
	Level    byte     // H.264 level_idc (H264Level)
	// Public lets ICE gather on every interface and use the server's
	// STUN/TURN servers; otherwise loopback only.
	Public bool
	HTTP   *http.Client // nil: a client of its own
}

// Session is one published stream: its peer connection and its resource
// on the server.
type Session struct {
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticRTP
	c        *client
	location *url.URL // the session's URL, for PATCH and DELETE; nil if the server gave none
	etag     string

	mu        sync.Mutex
	onKey     func()
	onLost    func(error)
	lost      error // a loss seen before OnLost was set
	closed    bool
	connected chan struct{}
	connOnce  sync.Once
	failed    chan struct{}
	failOnce  sync.Once
}

// Publish creates the session, within ctx: OPTIONS for the server's ICE
// servers and whether it takes trickle ICE, the offer POSTed (redirects
// followed), the answer checked against what the encoder makes, and ICE
// and DTLS connected. On any failure nothing is left behind: the session
// is DELETEd if the server made one.
func Publish(ctx context.Context, o Options) (*Session, error) {
	c := newClient(o.HTTP, o.Endpoint, o.Token)
	servers, trickle, err := c.options(ctx)
	if err != nil {
		return nil, err
	}
	if !o.Public {
		servers = loopbackOnly(servers)
	}
	api, capab, err := newAPI(o.Family, o.Level, o.Public)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: servers, BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return nil, err
	}
	s := &Session{pc: pc, c: c, connected: make(chan struct{}), failed: make(chan struct{})}
	if err := s.publish(ctx, capab, trickle && len(servers) > 0); err != nil {
		// Publish has used its time: the server's session, if it made
		// one, is DELETEd in the background (within deleteWithin).
		go s.Close(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Session) publish(ctx context.Context, capab webrtc.RTPCodecCapability, trickle bool) error {
	var err error
	s.track, err = webrtc.NewTrackLocalStaticRTP(capab, "video", "mpegserver")
	if err != nil {
		return err
	}
	tr, err := s.pc.AddTransceiverFromTrack(s.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	go peer.KeyframeRequests(tr.Sender(), s.keyframe)
	s.pc.OnConnectionStateChange(s.onState)
	var later chan *webrtc.ICECandidate
	if trickle {
		later = make(chan *webrtc.ICECandidate, 16)
		s.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			select {
			case later <- c:
			default: // more than a server lists: the rest are not needed
			}
		})
	}
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	if !trickle {
		// Every candidate in the offer: on loopback, or without STUN and
		// TURN servers, gathering takes a few milliseconds.
		select {
		case <-gathered:
		case <-ctx.Done():
			return fmt.Errorf("%w: gathering ICE candidates: %v", ErrNotConnected, ctx.Err())
		}
	}
	local := s.pc.LocalDescription()
	answer, err := s.c.post(ctx, local.SDP, s)
	if err != nil {
		return err
	}
	if err := answerFits(familyOf(capab), answer); err != nil {
		return err
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("the server's answer does not fit the offer: %v", err)
	}
	return s.waitConnected(ctx, local.SDP, later)
}

// waitConnected waits for ICE and DTLS, sending candidates gathered late
// by PATCH when trickling.
func (s *Session) waitConnected(ctx context.Context, offer string, later chan *webrtc.ICECandidate) error {
	for {
		select {
		case <-s.connected:
			return nil
		case <-s.failed:
			return fmt.Errorf("%w: ICE failed (no candidate pair answered)", ErrNotConnected)
		case c := <-later:
			if err := s.c.patch(ctx, s, offer, c); err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("%w within the setup timeout: %v", ErrNotConnected, ctx.Err())
		}
	}
}

func familyOf(c webrtc.RTPCodecCapability) string {
	return strings.ToLower(strings.TrimPrefix(c.MimeType, "video/"))
}

func loopbackOnly(servers []webrtc.ICEServer) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, s := range servers {
		if onLoopback(s) {
			out = append(out, s)
		}
	}
	return out
}

func (s *Session) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.connOnce.Do(func() { close(s.connected) })
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		s.failOnce.Do(func() { close(s.failed) })
		s.mu.Lock()
		up, closed, lost := isClosed(s.connected), s.closed, s.onLost
		if up && !closed && s.lost == nil {
			s.lost = fmt.Errorf("%w (ICE %s)", ErrLost, st)
			if lost != nil {
				go lost(s.lost)
			}
		}
		s.mu.Unlock()
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// keyframe hands a keyframe request from the server (PLI, FIR) on.
func (s *Session) keyframe() {
	s.mu.Lock()
	f := s.onKey
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

// Handle sets what the session calls on a keyframe request from the
// server (PLI, FIR) and on the loss of the connection (once, with an
// error matching ErrLost). A loss already seen is reported at once.
func (s *Session) Handle(keyframe func(), lost func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onKey, s.onLost = keyframe, lost
	if s.lost != nil && lost != nil && !s.closed {
		go lost(s.lost)
	}
}

// WriteRTP sends one RTP packet, as the payloader made it (pion sets the
// negotiated payload type and SSRC). Packets before the connection is up,
// or after it is lost, are dropped.
func (s *Session) WriteRTP(b []byte) {
	_, _ = s.track.Write(b)
}

// Location is the session's URL on the server ("" if it gave none).
func (s *Session) Location() string {
	if s.location == nil {
		return ""
	}
	return shown(s.location)
}

// Close ends the session: a DELETE of its resource within ctx (and at
// most deleteWithin), then the peer connection. Safe to call more than
// once; only the first DELETE is sent.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var err error
	if s.location != nil {
		ctx, cancel := context.WithTimeout(ctx, deleteWithin)
		err = s.c.delete(ctx, s.location)
		cancel()
	}
	_ = s.pc.Close()
	return err
}

// deleteWithin bounds the DELETE at Close: after a loss the server is
// usually gone, and a new session must not wait on the old one's end.
const deleteWithin = time.Second
