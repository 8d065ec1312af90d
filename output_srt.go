package mpegserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// srtOutput sends MPEG-TS over SRT with srtsink, as a caller (the
// receiver listens): srt://host:port?streamid=...&latency=...&passphrase=...
type srtOutput struct {
	addr, loc, hostPort string
	streamID, latency   string // "" where not given
	passphrase, keyLen  string
}

// srtKeys are the query keys an srt:// address may have; each becomes one
// srtsink property.
var srtKeys = []string{"streamid", "latency", "passphrase", "pbkeylen", "mode"}

// srtDefaultLatency is srtsink's latency when the address gives none.
const srtDefaultLatency = 125 * time.Millisecond

// srtPlayoutMargin covers the round trip on top of the SRT latency.
const srtPlayoutMargin = 100 * time.Millisecond

func parseSRT(a rawAddress) (output, error) {
	shown := Redact(a.text)
	u := a.url
	if u.User != nil || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%w: %q: an SRT address is srt://host:port?streamid=...&latency=..., no user or path", ErrUnsupportedAddress, shown)
	}
	hp, err := a.hostPort("")
	if err != nil {
		return nil, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: query: %v", ErrUnsupportedAddress, shown, err)
	}
	opts := map[string]string{}
	for k, vs := range q {
		if !slices.Contains(srtKeys, k) {
			return nil, fmt.Errorf("%w: %q: SRT option %q (accepted: %s)", ErrUnsupportedAddress, shown, k, strings.Join(srtKeys, ", "))
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w: %q: SRT option %q given %d times", ErrUnsupportedAddress, shown, k, len(vs))
		}
		opts[k] = vs[0]
	}
	if m, ok := opts["mode"]; ok && m != "caller" {
		// A listener would make Setup wait for a receiver to call.
		return nil, fmt.Errorf("%w: %q: mode=%s; the stream calls the receiver (mode=caller)", ErrUnsupportedAddress, shown, m)
	}
	for _, k := range []string{"latency", "pbkeylen"} {
		if v, ok := opts[k]; ok {
			if n, err := strconv.Atoi(v); err != nil || n < 0 || (k == "latency" && n > 60000) || (k == "pbkeylen" && n != 0 && n != 16 && n != 24 && n != 32) {
				return nil, fmt.Errorf("%w: %q: bad SRT %s %q", ErrUnsupportedAddress, shown, k, v)
			}
		}
	}
	o := &srtOutput{addr: a.text, loc: "srt://" + hp, hostPort: hp, streamID: opts["streamid"], latency: opts["latency"],
		passphrase: opts["passphrase"], keyLen: opts["pbkeylen"]}
	if o.passphrase != "" && (len(o.passphrase) < 10 || len(o.passphrase) > 79) {
		return nil, fmt.Errorf("%w: %q: an SRT passphrase has 10 to 79 characters", ErrUnsupportedAddress, shown)
	}
	return o, checkUTF8(a.text, o.streamID, o.passphrase)
}

func (o *srtOutput) address() string { return o.addr }

func (o *srtOutput) facts() facts {
	return facts{location: o.loc, format: "mpegts", live: true, connects: true, network: true,
		playout: o.latencyIn() + srtPlayoutMargin}
}

// latencyIn is the SRT latency the stream uses.
func (o *srtOutput) latencyIn() time.Duration {
	if ms, err := strconv.Atoi(o.latency); err == nil {
		return time.Duration(ms) * time.Millisecond
	}
	return srtDefaultLatency
}

func (o *srtOutput) carries(fam string, _ func(string) bool) error { return tsCarries(fam) }

func (o *srtOutput) elements(*encoder, Config) []gstpipe.Element {
	p := []gstpipe.Prop{
		{Name: "uri", Value: o.loc, User: true},
		// 1.22's default of -1 waits forever and can deadlock shutdown.
		{Name: "poll-timeout", Value: "1000"},
		// Writes before the connection is up fail at once instead of
		// blocking; Setup has checked that the receiver answers.
		{Name: "wait-for-connection", Value: "false"},
		// srtsink's own reconnecting reports nothing but warnings; the
		// stream's Reconnect does it, and says so.
		{Name: "auto-reconnect", Value: "false"},
	}
	if o.latency != "" {
		p = append(p, gstpipe.Prop{Name: "latency", Value: o.latency})
	}
	if o.streamID != "" {
		p = append(p, gstpipe.Prop{Name: "streamid", Value: o.streamID, User: true})
	}
	if o.passphrase != "" {
		p = append(p, gstpipe.Prop{Name: "passphrase", Value: o.passphrase, User: true, Secret: true})
	}
	if o.keyLen != "" {
		p = append(p, gstpipe.Prop{Name: "pbkeylen", Value: o.keyLen})
	}
	return []gstpipe.Element{
		// SRT's live mode sends one 1316-byte message a packet; larger
		// buffers are cut and the stream is lost.
		{Factory: "mpegtsmux", Props: []gstpipe.Prop{{Name: "alignment", Value: "7"}}},
		{Factory: "srtsink", Props: p},
	}
}

// reach sends an SRT induction handshake and waits for any answer within
// ctx. UDP has no connection to refuse, but a closed port answers with
// ICMP, which the connected socket reports at once. It goes no further:
// the rest of the handshake (where a receiver checks the passphrase and
// the stream id) would open a connection, and closing it ends receivers
// that take one connection (ffplay, srt-live-transmit); a refusal is seen
// at the sink's first write instead (classify).
func (o *srtOutput) reach(ctx context.Context, _ Config) (netip.AddrPort, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", o.hostPort)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, o.loc, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// A control packet (handshake) with the induction request: version 4,
	// socket type DGRAM (2), MTU 1500, window 8192, type INDUCTION (1).
	pkt := make([]byte, 64)
	binary.BigEndian.PutUint32(pkt[0:], 0x80000000)
	binary.BigEndian.PutUint32(pkt[16:], 4)
	binary.BigEndian.PutUint32(pkt[20:], 2)
	binary.BigEndian.PutUint32(pkt[24:], uint32(time.Now().UnixNano())&0x7fffffff)
	binary.BigEndian.PutUint32(pkt[28:], 1500)
	binary.BigEndian.PutUint32(pkt[32:], 8192)
	binary.BigEndian.PutUint32(pkt[36:], 1)
	binary.BigEndian.PutUint32(pkt[40:], uint32(time.Now().UnixNano()>>8)&0x7fffffff|1)
	buf := make([]byte, 1500)
	// The request is repeated, as SRT callers do: a datagram may be lost.
	for {
		if _, err := conn.Write(pkt); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, o.loc, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		n, err := conn.Read(buf)
		if err == nil && n >= 16 && buf[0]&0x80 != 0 {
			return netip.AddrPort{}, nil
		}
		if ctx.Err() != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: %s: no SRT answer within the setup timeout", ErrUnreachable, o.loc)
		}
		if ne, ok := err.(net.Error); err != nil && !(ok && ne.Timeout()) {
			return netip.AddrPort{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, o.loc, err)
		}
	}
}

// classify: srtsink fails on a lost receiver with errors of its own
// ("Failed to write to SRT socket: Connection timeout"): any error of the
// sink's is the link's, but for a connection that never came to be, which
// the receiver rejected (a wrong passphrase, a stream id or credentials it
// refuses; SRT says no more to the sender).
func (o *srtOutput) classify(ev gstpipe.Event, sink, connected bool) error {
	switch {
	case sink && strings.Contains(ev.Message+" "+ev.Debug, "Connection does not exist"):
		return refused(true, "the SRT receiver rejected the connection: check the passphrase (passphrase=...), the stream id and the credentials in it")
	case sink:
		return ErrDisconnected
	}
	return linkLoss(ev, connected)
}

func (o *srtOutput) describe(Config) OutputInfo {
	_, port, _ := net.SplitHostPort(o.hostPort)
	return OutputInfo{Address: Redact(o.addr), Kind: "SRT", Live: true, Reconnects: true,
		Watch:       []string{"ffplay 'srt://:" + port + "?mode=listener'   (on the receiver's machine, in its place: the receiver listens, the stream calls it)"},
		Unreachable: "Does a receiver listen there (srt-live-transmit, mediamtx, ffplay 'srt://:PORT?mode=listener')?"}
}

// tsCarries is what MPEG-TS (SRT, UDP, HLS and .ts files) takes.
func tsCarries(fam string) error {
	if fam != famH264 && fam != famH265 {
		return fmt.Errorf("MPEG-TS takes h264, h265 only")
	}
	return nil
}

// audio: AAC (ADTS) in MPEG-TS, what SRT and UDP receivers expect.
func (o *srtOutput) audio(func(string) bool) (audioIn, error) { return audioIn{codec: audioAAC}, nil }
