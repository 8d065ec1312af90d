package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
	"github.com/mpegcoder-go/mpegserver/internal/whip"
)

// whipOutput publishes over WebRTC to a WHIP endpoint (RFC 9725):
// whip+http://[TOKEN@]host[:port]/path, or whip+https://, the token sent
// as "Authorization: Bearer TOKEN" and never printed. The encoder's RTP
// payloader ends in an appsink whose packets go to a pion peer connection
// (internal/whip; docs/design.md says why not webrtcbin). ICE stays on
// loopback unless the address ends in #ice=public.
//
// Unlike the other outputs, reach does more than check: WHIP has no way
// to ask whether a stream would be taken short of offering one, so reach
// creates the session (the offer, the answer, ICE and DTLS up) and the
// stream then starts on it; stop DELETEs it.
type whipOutput struct {
	addr     string   // as given
	endpoint *url.URL // the HTTP(S) endpoint, without token or fragment
	token    string
	public   bool

	mu      sync.Mutex
	pending *whip.Session // reached, not yet started
	current atomic.Pointer[whip.Session]
}

// whipPlayout: Close waits this long after the last packet before the
// DELETE, so that a packet the server asks again for (NACK) can still be
// sent.
const whipPlayout = 100 * time.Millisecond

func parseWHIP(a rawAddress) (output, error) {
	shown := Redact(a.text)
	u := a.url
	ep := *u
	ep.Scheme = strings.TrimPrefix(a.scheme, "whip+")
	ep.User, ep.Fragment, ep.RawFragment = nil, "", ""
	def := map[string]string{"http": "80", "https": "443"}[ep.Scheme]
	if _, err := a.hostPort(def); err != nil {
		return nil, err
	}
	o := &whipOutput{addr: a.text, endpoint: &ep}
	if u.User != nil {
		// user:password@ is a token too ("Bearer user:password", which
		// mediamtx reads as its user and password).
		o.token = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			o.token += ":" + pw
		}
	}
	if err := checkUTF8(a.text, o.token); err != nil {
		return nil, err
	}
	if strings.ContainsFunc(o.token, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("%w: %q: the token has control characters", ErrUnsupportedAddress, shown)
	}
	if u.Fragment != "" {
		switch u.Fragment {
		case "ice=public":
			o.public = true
		case "ice=loopback":
		default:
			return nil, fmt.Errorf("%w: %q: #%s; the only option is #ice=public (ICE on every interface) or #ice=loopback (the default)",
				ErrUnsupportedAddress, shown, u.Fragment)
		}
	}
	if host := ep.Hostname(); !o.public && !isLoopbackHost(host) {
		return nil, fmt.Errorf("%w: %q: %s is not this machine, and WebRTC stays on loopback unless told: end the address with #ice=public to let it use every interface",
			ErrUnsupportedAddress, shown, host)
	}
	return o, nil
}

func isLoopbackHost(h string) bool {
	ip := net.ParseIP(h)
	return strings.EqualFold(h, "localhost") || (ip != nil && ip.IsLoopback())
}

func (o *whipOutput) address() string { return o.addr }

func (o *whipOutput) facts() facts {
	return facts{location: Redact(o.endpoint.String()), format: "whip", live: true, connects: true, network: true, playout: whipPlayout}
}

// carries: what browsers play over WebRTC and GStreamer 1.22 has an RTP
// payloader for.
func (o *whipOutput) carries(fam string, installed func(string) bool) error {
	switch fam {
	case famH264, famVP8, famVP9:
	default:
		return errors.New("WHIP carries h264, vp8, vp9 here (what browsers play over WebRTC; GStreamer 1.22 has no AV1 payloader)")
	}
	for _, e := range []string{"rtp" + fam + "pay", "appsink"} {
		if !installed(e) {
			return missingError{"WHIP needs " + e + ", which is not installed"}
		}
	}
	return nil
}

// elements: the RTP payloader, packets of at most 1200 bytes (WebRTC's
// usual bound: with SRTP and the UDP and IP headers they fit any path's
// MTU), into an appsink.
func (o *whipOutput) elements(enc *encoder, c Config) []gstpipe.Element {
	var els []gstpipe.Element
	pay := gstpipe.Element{Factory: "rtp" + enc.Family + "pay", Props: []gstpipe.Prop{{Name: "mtu", Value: "1200"}}}
	if enc.Family == famH264 {
		// Constrained baseline, which every WebRTC receiver decodes
		// (x264 would pick High); the caps reach the encoder through the
		// parser.
		els = append(els, gstpipe.Element{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps", Value: "video/x-h264,profile=constrained-baseline"}}})
		// The parser already puts SPS and PPS before every IDR; the
		// payloader's own would repeat them before each slice.
		pay.Props = append(pay.Props, gstpipe.Prop{Name: "aggregate-mode", Value: "zero-latency"})
	} else {
		pay.Props = append(pay.Props, gstpipe.Prop{Name: "picture-id-mode", Value: "15-bit"})
	}
	return append(els, pay, gstpipe.Element{Factory: "appsink", Props: []gstpipe.Prop{
		// Packets leave as soon as they are made, and none waits: the
		// stream hands each to the peer connection as it comes.
		{Name: "sync", Value: "false"}, {Name: "max-buffers", Value: "1"}, {Name: "drop", Value: "true"},
		{Name: "enable-last-sample", Value: "false"},
	}})
}

// reach creates the WHIP session the stream will start on, offering what
// the configuration encodes.
func (o *whipOutput) reach(ctx context.Context, c Config) (netip.AddrPort, error) {
	o.stop() // one reached before and never started
	s, err := whip.Publish(ctx, whip.Options{Endpoint: o.endpoint, Token: o.token, Family: codecFamily(c.Codec),
		Level: whip.H264Level(c.Width, c.Height, c.FrameRate.Float()), Public: o.public})
	if err != nil {
		return netip.AddrPort{}, o.refusal(err)
	}
	o.mu.Lock()
	o.pending = s
	o.mu.Unlock()
	return netip.AddrPort{}, nil
}

// refusal says what a failed Publish means for the stream: what the
// server refuses (the token, the stream, the codec) is a refusal, which
// Reconnect does not retry; a server absent, busy or not connecting is a
// loss it may cure.
func (o *whipOutput) refusal(err error) error {
	shown := Redact(o.addr)
	var se *whip.StatusError
	switch {
	case errors.As(err, &se) && se.Unauthorized() && o.token == "":
		return refused(true, "%s asks for a token (%v); give it in the address: whip+http://TOKEN@host/…", shown, err)
	case errors.As(err, &se) && se.Unauthorized():
		return refused(true, "%s refused the token (%v); check the token in the address (whip+http://TOKEN@host/…)", shown, err)
	case errors.As(err, &se) && !se.Temporary():
		return refused(false, "%s refused the stream: %v", shown, err)
	case errors.Is(err, whip.ErrCodec):
		return fmt.Errorf("%w: %w", ErrUnknownCodec, refused(false, "%s: %v", shown, err))
	}
	return fmt.Errorf("%w: %s: %v", ErrUnreachable, shown, err)
}

func (o *whipOutput) sink(b []byte) {
	if s := o.current.Load(); s != nil {
		s.WriteRTP(b)
	}
}

func (o *whipOutput) start(r outputRun) {
	o.mu.Lock()
	s := o.pending
	o.pending = nil
	o.mu.Unlock()
	if s == nil {
		r.lost(fmt.Errorf("%w: %s: no WHIP session to start on", ErrDisconnected, Redact(o.addr)))
		return
	}
	if old := o.current.Swap(s); old != nil {
		_ = old.Close(context.Background())
	}
	shown := Redact(o.addr)
	s.Handle(r.keyframe, func(err error) { r.lost(fmt.Errorf("%w: %s: %v", ErrDisconnected, shown, err)) })
	// A branch brought back after a loss starts with a keyframe.
	r.keyframe()
}

func (o *whipOutput) stop() {
	o.mu.Lock()
	s := o.pending
	o.pending = nil
	o.mu.Unlock()
	for _, x := range []*whip.Session{s, o.current.Swap(nil)} {
		if x != nil {
			_ = x.Close(context.Background())
		}
	}
}

// classify: the link's losses come from the peer connection (start's
// lost); an error from the payloader or the appsink is the pipeline's.
func (o *whipOutput) classify(gstpipe.Event, bool, bool) error { return ErrPipeline }

func (o *whipOutput) describe(Config) OutputInfo {
	info := OutputInfo{Address: Redact(o.addr), Kind: "WHIP", Live: true, Reconnects: true,
		Unreachable: "Is a WHIP server listening there (mediamtx: whip+http://HOST:8889/PATH/whip)? Its port, path and token are as it documents them"}
	if base, ok := strings.CutSuffix(o.endpoint.Path, "/whip"); ok && base != "" {
		// mediamtx's layout (and its followers'): the page at /PATH/,
		// WHEP at /PATH/whep.
		page, whep := *o.endpoint, *o.endpoint
		page.Path, page.RawPath, page.RawQuery = base+"/", "", ""
		whep.Path, whep.RawPath, whep.RawQuery = base+"/whep", "", ""
		info.Watch = []string{page.String() + "   (in a browser, where the server serves a page per path, as mediamtx does)",
			"WHEP: " + whep.String() + "   (any WHEP player, where the server serves WHEP beside WHIP)"}
	} else {
		info.Watch = []string{"wherever the WHIP server publishes what it takes (its player or WHEP endpoint)"}
	}
	return info
}

// audio: none yet. WebRTC would carry Opus, but on a second track of the
// peer connection fed by an appsink of its own, which this output does
// not make; a stream with audio is refused rather than sent without it.
func (o *whipOutput) audio(func(string) bool) (audioIn, error) {
	return audioIn{}, errors.New("WHIP carries video only here (an Opus track beside it is not made yet)")
}
