package webview

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/peer"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// webrtcAPI is pion's API set up once: the codecs a stream may be in, and
// where ICE may gather and send.
type webrtcAPI struct {
	api          *webrtc.API
	loopbackOnly bool
}

// codecs the viewer can play, by the relay's codec name.
var playable = map[string]webrtc.RTPCodecCapability{
	// packetization-mode=1 is what rtph264pay sends (FU-A); the profile in
	// the SDP only has to be one the browser offers: the stream carries
	// its own parameter sets, and browsers decode any profile they have.
	"H264": {MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
	"VP8":  {MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
	"VP9":  {MimeType: webrtc.MimeTypeVP9, ClockRate: 90000},
}

func newWebRTCAPI(loopbackOnly bool) (*webrtcAPI, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "goog-remb"}}
	reg := func(c webrtc.RTPCodecCapability, pt webrtc.PayloadType) error {
		c.RTCPFeedback = fb
		return m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: pt}, webrtc.RTPCodecTypeVideo)
	}
	pt := webrtc.PayloadType(102)
	for _, prof := range []string{"42e01f", "42001f", "4d001f", "640c1f", "64001f", "f4001f"} {
		c := playable["H264"]
		c.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + prof
		if err := reg(c, pt); err != nil {
			return nil, err
		}
		pt++
	}
	if err := reg(playable["VP8"], 96); err != nil {
		return nil, err
	}
	if err := reg(playable["VP9"], 98); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	// Never an mDNS query (multicast, on every interface), never a
	// remote .local candidate resolved.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if loopbackOnly {
		peer.LoopbackOnly(&se)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return &webrtcAPI{api: api, loopbackOnly: loopbackOnly}, nil
}

// session is one viewer: a peer connection fed from the relay's path.
type session struct {
	s      *Server
	id     string
	path   string
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	codec  string
	ch     chan genPacket
	unsub  func()
	once   sync.Once
	done   chan struct{}
	gateMu sync.Mutex
	gated  bool // waiting for a keyframe: nothing is sent until one starts
	// up is closed when the peer connection is; pion drops what is
	// written before, so the writer waits for it.
	up     chan struct{}
	upOnce sync.Once
	drops  atomic.Int64
	sent   atomic.Int64
}

// queuePackets is how many packets wait for a viewer (about a second of
// 2 Mb/s video); a viewer further behind loses packets and waits for the
// next keyframe.
const queuePackets = 512

// connectTimeout bounds how long a session may take to connect.
const connectTimeout = 15 * time.Second

// open answers a WHEP offer for a path.
func (s *Server) open(path, offer string) (answer, id string, err error) {
	tr, ok := s.Relay.VideoTrack(path)
	if !ok {
		return "", "", &httpError{http.StatusNotFound, fmt.Sprintf("nothing is published at /%s (yet)", path)}
	}
	capab, ok := playable[tr.Codec]
	if !ok {
		return "", "", &httpError{http.StatusUnprocessableEntity, fmt.Sprintf("the stream at /%s is %s, which WebRTC does not carry to browsers (H.264, VP8, VP9 do)", path, tr.Codec)}
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return "", "", &httpError{http.StatusServiceUnavailable, "server closing"}
	case len(s.sessions) >= s.maxSessions():
		s.mu.Unlock()
		return "", "", &httpError{http.StatusServiceUnavailable, fmt.Sprintf("%d viewers already (the most at once)", s.maxSessions())}
	}
	id = newID()
	x := &session{s: s, id: id, path: path, codec: tr.Codec, ch: make(chan genPacket, queuePackets), done: make(chan struct{}), gated: true,
		up: make(chan struct{})}
	s.sessions[id] = x // reserves the place while the answer is made
	s.mu.Unlock()
	answer, err = x.negotiate(offer, capab)
	if err != nil {
		x.close("negotiation failed")
		return "", "", err
	}
	x.unsub = s.Relay.Subscribe(path, x.onPacket)
	// Ask for the keyframe the viewer starts at now, not once it has
	// connected: it waits in the queue meanwhile (write), so the first
	// frame goes out the moment the connection is up.
	s.Relay.WantKeyframe(path)
	go x.write()
	s.logf("webview: session %s on /%s: %s to %s", id, path, tr.Codec, "viewer")
	return answer, id, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (x *session) negotiate(offer string, capab webrtc.RTPCodecCapability) (string, error) {
	api := x.s.api
	if api.loopbackOnly {
		offer = loopbackCandidates(offer)
	}
	pc, err := api.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	x.pc = pc
	x.track, err = webrtc.NewTrackLocalStaticRTP(capab, "video", "mpegserver")
	if err != nil {
		return "", err
	}
	sender, err := pc.AddTrack(x.track)
	if err != nil {
		return "", err
	}
	go peer.KeyframeRequests(sender, func() { x.s.Relay.WantKeyframe(x.path) })
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateDisconnected:
			go x.close("connection " + st.String())
		case webrtc.PeerConnectionStateConnected:
			x.s.logf("webview: session %s connected", x.id)
			x.upOnce.Do(func() { close(x.up) })
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", &httpError{http.StatusBadRequest, "bad offer: " + err.Error()}
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", &httpError{http.StatusBadRequest, "cannot answer the offer: " + err.Error()}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", &httpError{http.StatusNotAcceptable, fmt.Sprintf("the offer has no %s this stream can be sent as: %v", capab.MimeType, err)}
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		return "", errors.New("ICE gathering did not complete")
	}
	time.AfterFunc(connectTimeout, func() {
		if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			x.close("did not connect within " + connectTimeout.String())
		}
	})
	return pc.LocalDescription().SDP, nil
}

// loopbackCandidates drops a viewer's candidates that are not on
// loopback, so nothing is ever sent to another interface.
func loopbackCandidates(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := lines[:0]
	for _, l := range lines {
		if c, ok := strings.CutPrefix(strings.TrimRight(l, "\r\n"), "a=candidate:"); ok {
			f := strings.Fields(c)
			if len(f) < 5 {
				continue
			}
			if ip := net.ParseIP(f[4]); ip == nil || !ip.IsLoopback() {
				continue
			}
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

// onPacket runs on the publisher's goroutine: it must not block.
func (x *session) onPacket(tr rtspserver.Track, pkt *rtp.Packet) {
	if tr.Codec != x.codec {
		return // a new publisher with another codec: this session cannot follow
	}
	x.gateMu.Lock()
	defer x.gateMu.Unlock()
	if x.gated {
		if !startsKeyframe(x.codec, pkt.Payload) {
			return
		}
		x.gated = false
	}
	c := pkt.Clone()
	c.Header.Extension, c.Header.Extensions = false, nil
	select {
	case x.ch <- genPacket{pkt: c, gen: tr.Generation}:
	default:
		// Behind: what follows would not decode; start again at the next
		// keyframe, asked for now, rather than show corrupt frames.
		x.drops.Add(1)
		x.gated = true
		go x.s.Relay.WantKeyframe(x.path)
	}
}

// genPacket is a packet and the publisher generation it came from.
type genPacket struct {
	pkt *rtp.Packet
	gen int
}

// write sends the queued packets to the viewer. Sequence numbers and time
// stamps run on across publishers (a reconnected stream starts its own
// over), so the browser sees one stream.
func (x *session) write() {
	var (
		seq       uint16
		lastGen   = -1
		lastIn    uint32 // the last input time stamp of this generation
		lastOut   uint32
		offset    uint32
		started   bool
		frameStep uint32 = 3000 // 90 kHz at 30 fps, until measured
	)
	select {
	case <-x.up:
	case <-x.done:
		return
	}
	for {
		var gp genPacket
		select {
		case gp = <-x.ch:
		case <-x.done:
			return
		}
		p := gp.pkt
		if gp.gen != lastGen {
			if started {
				// Continue one frame after where the last publisher ended.
				offset = lastOut + frameStep - p.Timestamp
			} else {
				offset = 0
			}
			lastGen, lastIn = gp.gen, p.Timestamp
		}
		if d := p.Timestamp - lastIn; d > 0 && d < 90000 {
			frameStep = d
		}
		lastIn = p.Timestamp
		p.Timestamp += offset
		p.SequenceNumber = seq
		seq++
		lastOut, started = p.Timestamp, true
		if err := x.track.WriteRTP(p); err != nil {
			if errors.Is(err, io.ErrClosedPipe) {
				x.close("track closed")
				return
			}
		}
		x.sent.Add(1)
	}
}

// close ends the session once: it leaves the relay, closes the peer
// connection and frees its place.
func (x *session) close(why string) {
	x.once.Do(func() {
		close(x.done)
		if x.unsub != nil {
			x.unsub()
		}
		if x.pc != nil {
			_ = x.pc.Close()
		}
		x.s.mu.Lock()
		delete(x.s.sessions, x.id)
		x.s.mu.Unlock()
		x.s.logf("webview: session %s on /%s closed: %s (%d packets sent, %d dropped)", x.id, x.path, why, x.sent.Load(), x.drops.Load())
	})
}

// startsKeyframe says whether an RTP payload begins a frame that decodes
// on its own: for H.264 a parameter set or the start of an IDR slice
// (single NAL, STAP-A or FU-A start); for VP8 and VP9 a key frame's first
// packet.
func startsKeyframe(codec string, b []byte) bool {
	switch codec {
	case "H264":
		if len(b) < 2 {
			return false
		}
		switch t := b[0] & 0x1f; {
		case t == 5 || t == 7:
			return true
		case t == 24: // STAP-A: the aggregated NAL units
			for i := 1; i+2 < len(b); {
				n := int(b[i])<<8 | int(b[i+1])
				if i+2 >= len(b) || n == 0 {
					return false
				}
				if nt := b[i+2] & 0x1f; nt == 5 || nt == 7 {
					return true
				}
				i += 2 + n
			}
		case t == 28: // FU-A: the start of a fragmented NAL unit
			return b[1]&0x80 != 0 && (b[1]&0x1f == 5 || b[1]&0x1f == 7)
		}
	case "VP8":
		// Payload descriptor (RFC 7741), then the VP8 frame header whose
		// first bit is 0 for a key frame; only the partition start counts.
		if len(b) < 1 || b[0]&0x10 == 0 {
			return false
		}
		i := 1
		if b[0]&0x80 != 0 {
			if len(b) < 2 {
				return false
			}
			x := b[1]
			i++
			if x&0x80 != 0 {
				if len(b) <= i {
					return false
				}
				if b[i]&0x80 != 0 {
					i++
				}
				i++
			}
			if x&0x40 != 0 {
				i++
			}
			if x&0x30 != 0 {
				i++
			}
		}
		return len(b) > i && b[i]&0x01 == 0
	case "VP9":
		// Payload descriptor (RFC 9628): B (start of frame) set and P
		// (inter-picture predicted) clear.
		return len(b) > 0 && b[0]&0x08 != 0 && b[0]&0x40 == 0
	}
	return false
}
