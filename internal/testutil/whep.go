package testutil

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/mpegcoder-go/mpegserver/internal/peer"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// WHEPPlayer is a WHEP player in Go (pion), on loopback only, for the
// tests and the benchmark: it receives H.264 and hands on each whole
// access unit.
type WHEPPlayer struct {
	PC       *webrtc.PeerConnection // closed by the caller when done
	Location string                 // the session's URL, as the server gave it
	Answer   string                 // the server's SDP answer
	Answered time.Time              // when the answer came
}

// PlayWHEP offers to receive video from a WHEP endpoint; onAU gets each
// whole H.264 access unit with the time it was whole, on the track's
// goroutine. An offer the server refuses returns its response and no
// player.
func PlayWHEP(endpoint string, onAU func(au [][]byte, at time.Time)) (*WHEPPlayer, *http.Response, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	peer.LoopbackOnly(&se)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, err
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		_ = pc.Close()
		return nil, nil, err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		dec := &rtph264.Decoder{}
		if err := dec.Init(); err != nil {
			return
		}
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if au, err := dec.Decode(pkt); err == nil {
				onAU(au, time.Now())
			}
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(pc)
		if err = pc.SetLocalDescription(offer); err == nil {
			<-gathered
		}
	}
	if err != nil {
		_ = pc.Close()
		return nil, nil, err
	}
	res, err := http.Post(endpoint, "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		_ = pc.Close()
		return nil, nil, err
	}
	p := &WHEPPlayer{PC: pc, Answered: time.Now(), Location: res.Header.Get("Location")}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		_ = pc.Close()
		return nil, res, nil
	}
	p.Answer = string(body)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: p.Answer}); err != nil {
		_ = pc.Close()
		return nil, res, err
	}
	return p, res, nil
}
