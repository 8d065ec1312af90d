package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/peer"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// WHIPReceiver is a WHIP endpoint of the test's own, on loopback, for
// what mediamtx cannot be made to do on cue: it takes one publisher at a
// time (pion, as webview does), records when each frame's first packet
// arrives and whether it starts a keyframe, and sends a PLI when asked.
// Codecs limits what its answer takes (default H.264).
type WHIPReceiver struct {
	URL string // http://127.0.0.1:PORT/cam/whip

	srv    *httptest.Server
	api    *webrtc.API
	mu     sync.Mutex
	pc     *webrtc.PeerConnection
	ssrc   webrtc.SSRC
	frames []ReceivedFrame
	got    chan struct{}
}

// ReceivedFrame is one frame as the receiver saw it.
type ReceivedFrame struct {
	TS  uint32    // RTP time stamp (90 kHz)
	At  time.Time // its first packet's arrival
	Key bool      // a packet of it started a keyframe (SPS or IDR)
}

// StartWHIPReceiver serves a WHIP endpoint until the test ends; codecs
// are the MIME types its answer may take (webrtc.MimeTypeH264, ...).
func StartWHIPReceiver(t testing.TB, codecs ...string) *WHIPReceiver {
	t.Helper()
	if len(codecs) == 0 {
		codecs = []string{webrtc.MimeTypeH264}
	}
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	for i, c := range codecs {
		fmtp := ""
		if c == webrtc.MimeTypeH264 {
			fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
		}
		if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: c,
			ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: fb}, PayloadType: webrtc.PayloadType(100 + i)}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	peer.LoopbackOnly(&se)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	r := &WHIPReceiver{api: webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)),
		got: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL + "/cam/whip"
	t.Cleanup(r.close)
	return r
}

func (r *WHIPReceiver) serve(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodPost && req.URL.Path == "/cam/whip":
		offer, _ := io.ReadAll(req.Body)
		answer, err := r.answer(string(offer))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/sdp")
		w.Header().Set("Location", "/cam/whip/session")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, answer)
	case req.Method == http.MethodDelete && req.URL.Path == "/cam/whip/session":
		r.mu.Lock()
		if r.pc != nil {
			_ = r.pc.Close()
			r.pc = nil
		}
		r.mu.Unlock()
	default:
		http.Error(w, "not here", http.StatusMethodNotAllowed)
	}
}

func (r *WHIPReceiver) answer(offer string) (string, error) {
	pc, err := r.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		r.mu.Lock()
		r.ssrc = tr.SSRC()
		r.mu.Unlock()
		last, started := uint32(0), false
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			key := startsKeyframe(pkt.Payload)
			r.mu.Lock()
			if !started || pkt.Timestamp != last {
				r.frames = append(r.frames, ReceivedFrame{TS: pkt.Timestamp, At: time.Now(), Key: key})
			} else if key {
				r.frames[len(r.frames)-1].Key = true
			}
			r.mu.Unlock()
			last, started = pkt.Timestamp, true
			select {
			case r.got <- struct{}{}:
			default:
			}
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		return "", err
	}
	<-gathered
	r.mu.Lock()
	if r.pc != nil {
		_ = r.pc.Close()
	}
	r.pc = pc
	r.mu.Unlock()
	return pc.LocalDescription().SDP, nil
}

// startsKeyframe: an H.264 payload that carries SPS or an IDR slice (a
// single NAL, STAP-A or FU-A start).
func startsKeyframe(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch t := b[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24:
		for i := 1; i+2 < len(b); {
			n := int(b[i])<<8 | int(b[i+1])
			if n == 0 {
				return false
			}
			if nt := b[i+2] & 0x1f; nt == 5 || nt == 7 {
				return true
			}
			i += 2 + n
		}
	case 28:
		return b[1]&0x80 != 0 && (b[1]&0x1f == 5 || b[1]&0x1f == 7)
	}
	return false
}

// Frames are the frames received so far.
func (r *WHIPReceiver) Frames() []ReceivedFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ReceivedFrame(nil), r.frames...)
}

// WaitFrames waits until n frames have arrived, or d has passed.
func (r *WHIPReceiver) WaitFrames(n int, d time.Duration) bool {
	deadline := time.After(d)
	for len(r.Frames()) < n {
		select {
		case <-r.got:
		case <-deadline:
			return false
		}
	}
	return true
}

// SendPLI asks the publisher for a keyframe and returns when it was sent.
func (r *WHIPReceiver) SendPLI() (time.Time, error) {
	r.mu.Lock()
	pc, ssrc := r.pc, r.ssrc
	r.mu.Unlock()
	if pc == nil {
		return time.Time{}, io.ErrClosedPipe
	}
	at := time.Now()
	return at, pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
}

func (r *WHIPReceiver) close() {
	r.srv.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pc != nil {
		_ = r.pc.Close()
	}
}
