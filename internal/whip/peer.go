package whip

import (
	"fmt"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/mpegcoder-go/mpegserver/internal/peer"
)

// Loss detection: ICE checks the link every keepalive and calls it
// disconnected after lossAfter without a packet from the server (a check's
// answer, RTCP). A server that stops is thus seen within a second; a
// link with bursts of loss longer than that is reconnected.
const (
	keepalive = 100 * time.Millisecond
	lossAfter = 800 * time.Millisecond
	failAfter = 2 * time.Second
)

// Codec families this package sends, as the library names them.
const (
	H264 = "h264"
	VP8  = "vp8"
	VP9  = "vp9"
)

// feedback is what a receiver may ask of the sender: retransmissions
// (NACK, answered by pion's responder, over RTX when the server takes
// it) and keyframes (PLI, FIR: answered through OnKeyframe).
var feedback = []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}

// codecs are what the offer proposes for a family, the first one the
// track's own; each with an RTX format after it.
func codecs(family string, level byte) ([]webrtc.RTPCodecParameters, error) {
	var caps []webrtc.RTPCodecCapability
	switch family {
	case H264:
		// The encoder makes constrained baseline (profile_idc 66,
		// constraint_set1): what every WebRTC receiver decodes. It is
		// valid baseline too, for servers that list only 42001f.
		for _, pl := range []string{"42e0", "4200"} {
			caps = append(caps, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine: fmt.Sprintf("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%s%02x", pl, level)})
		}
	case VP8:
		caps = []webrtc.RTPCodecCapability{{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	case VP9:
		caps = []webrtc.RTPCodecCapability{{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0"}}
	default:
		return nil, fmt.Errorf("%w: %s (WHIP here sends h264, vp8, vp9)", ErrCodec, family)
	}
	var out []webrtc.RTPCodecParameters
	pt := webrtc.PayloadType(96)
	for _, c := range caps {
		c.RTCPFeedback = feedback
		out = append(out, webrtc.RTPCodecParameters{RTPCodecCapability: c, PayloadType: pt},
			webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX,
				ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", pt)}, PayloadType: pt + 1})
		pt += 2
	}
	return out, nil
}

// H264Level is the H.264 level_idc a stream of that size and rate needs
// (Table A-1: frame size and macroblock rate), 3.1 at least.
func H264Level(w, h int, fps float64) byte {
	mbs := ((w + 15) / 16) * ((h + 15) / 16)
	rate := float64(mbs) * fps
	for _, l := range []struct {
		idc       byte
		frame     int
		perSecond float64
	}{{31, 3600, 108000}, {32, 5120, 216000}, {40, 8192, 245760}, {42, 8704, 522240},
		{50, 22080, 589824}, {51, 36864, 983040}, {52, 36864, 2073600}} {
		if mbs <= l.frame && rate <= l.perSecond {
			return l.idc
		}
	}
	return 62
}

// newAPI sets pion up for one publisher: the codecs of its family, the
// default interceptors (NACK responder, RTCP reports), and where ICE may
// gather and send: loopback only unless public, never mDNS.
func newAPI(family string, level byte, public bool) (*webrtc.API, webrtc.RTPCodecCapability, error) {
	m := &webrtc.MediaEngine{}
	cs, err := codecs(family, level)
	if err != nil {
		return nil, webrtc.RTPCodecCapability{}, err
	}
	for _, c := range cs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, webrtc.RTPCodecCapability{}, err
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, webrtc.RTPCodecCapability{}, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICETimeouts(lossAfter, failAfter, keepalive)
	if !public {
		peer.LoopbackOnly(&se)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return api, cs[0].RTPCodecCapability, nil
}

// answerFits checks that the answer takes what the encoder makes: for
// H.264 a profile that decodes constrained baseline (Baseline, Main,
// High: profile_idc 66, 77, 100); any VP8; VP9 profile 0.
func answerFits(family, answer string) error {
	var offered []string
	fits := false
	for _, f := range answerFormats(answer) {
		offered = append(offered, f.String())
		switch {
		case family == H264 && strings.EqualFold(f.name, "H264"):
			plid := f.param("profile-level-id")
			if plid == "" {
				plid = "420010" // RFC 6184's default: Baseline
			}
			if len(plid) == 6 && (strings.HasPrefix(plid, "42") || strings.HasPrefix(plid, "4d") || strings.HasPrefix(plid, "4D") || strings.HasPrefix(plid, "64")) {
				fits = true
			}
		case family == VP8 && strings.EqualFold(f.name, "VP8"):
			fits = true
		case family == VP9 && strings.EqualFold(f.name, "VP9"):
			if p := f.param("profile-id"); p == "" || p == "0" {
				fits = true
			}
		}
	}
	if fits {
		return nil
	}
	what := map[string]string{H264: "H.264 constrained baseline (profile-level-id 42e0xx)", VP8: "VP8", VP9: "VP9 profile 0"}[family]
	if len(offered) == 0 {
		return fmt.Errorf("%w: its answer refused %s and took no video (it may take another codec: h264, vp8, vp9)", ErrCodec, what)
	}
	return fmt.Errorf("%w: its answer takes %s, not %s", ErrCodec, strings.Join(offered, ", "), what)
}

// format is one rtpmap of the answer's video section, with its fmtp.
type format struct{ name, fmtp string }

func (f format) String() string {
	if f.fmtp == "" {
		return f.name
	}
	return f.name + " (" + f.fmtp + ")"
}

func (f format) param(k string) string {
	for _, p := range strings.Split(f.fmtp, ";") {
		if kk, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(kk, k) {
			return v
		}
	}
	return ""
}

// answerFormats lists the video formats an answer accepts (RTX, FEC and
// the like left out), from its first video section with a port.
func answerFormats(sdp string) []format {
	var out []format
	byPT := map[string]int{}
	inVideo := false
	for _, l := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "m="):
			if inVideo {
				return out
			}
			f := strings.Fields(l[2:])
			inVideo = len(f) > 1 && f[0] == "video" && f[1] != "0"
		case inVideo && strings.HasPrefix(l, "a=rtpmap:"):
			pt, enc, _ := strings.Cut(l[len("a=rtpmap:"):], " ")
			name, _, _ := strings.Cut(enc, "/")
			switch strings.ToLower(name) {
			case "rtx", "red", "ulpfec", "flexfec-03":
				continue
			}
			byPT[pt] = len(out)
			out = append(out, format{name: name})
		case inVideo && strings.HasPrefix(l, "a=fmtp:"):
			pt, params, _ := strings.Cut(l[len("a=fmtp:"):], " ")
			if i, ok := byPT[pt]; ok {
				out[i].fmtp = strings.TrimSpace(params)
			}
		}
	}
	return out
}
