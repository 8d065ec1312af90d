package mpegserver

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// target is a parsed address.
type target struct {
	Scheme   string // rtsp, rtsps, rtmp, rtmps, srt, udp, hls or file
	Location string // the address without user information; for files, the path
	HostPort string // for streams: host:port to dial, default port filled in
	Host     string // udp, srt: the host to send to
	Port     string // udp, srt: its port
	User     string
	Password string     // also SRT's passphrase
	SRT      srtOptions // srt: the query's options ("" where not given)
	Format   string     // formatName: the container or protocol, as FFmpeg names it
	Muxer    string     // for files: the muxer element, "" for a raw elementary stream
}

// Live reports whether the target plays in real time (a stream, an HLS
// playlist) rather than being written as fast as frames come (a file).
func (t target) Live() bool { return t.Scheme != "file" }

// connects reports whether the target is a server the stream connects to
// (RTSP, RTMP, SRT): one that is checked at Setup and reconnected to.
func (t target) connects() bool {
	switch t.Scheme {
	case "rtsp", "rtsps", "rtmp", "rtmps", "srt":
		return true
	}
	return false
}

// overTCP reports whether the sink's connection is one TCP socket the
// watchdog can find and watch.
func (t target) overTCP() bool { return t.connects() && t.Scheme != "srt" }

// finishes reports whether Close must wait for the sink's end of stream
// (a muxer's index, an HLS playlist's last segment).
func (t target) finishes() bool { return t.Scheme == "file" || t.Scheme == "hls" }

// sinkSchemes lists the schemes Setup can push to, with their default
// ports; a path without a scheme is a file, or an HLS playlist (.m3u8).
var sinkSchemes = []string{"rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp", "file"}

var defaultPorts = map[string]string{"rtsp": "554", "rtsps": "322", "rtmp": "1935", "rtmps": "443"}

// srtOptions are an srt:// address's options but the passphrase.
type srtOptions struct{ StreamID, Latency, PBKeyLen string }

// srtKeys are the query keys an srt:// address may have; each becomes one
// srtsink property.
var srtKeys = []string{"streamid", "latency", "passphrase", "pbkeylen", "mode"}

// fileMuxers maps file extensions to a muxer and FFmpeg's format name;
// other extensions get the raw elementary stream (Annex B).
var fileMuxers = map[string][2]string{
	".mp4": {"mp4mux", "mp4"}, ".mov": {"qtmux", "mov"},
	".mkv": {"matroskamux", "matroska"}, ".ts": {"mpegtsmux", "mpegts"},
	".webm": {"webmmux", "webm"},
}

// formatName is what the original guesses from the address: the muxer or
// protocol ("" for an address that does not parse).
func formatName(addr string) string {
	t, err := parseAddress(addr)
	if err != nil {
		return ""
	}
	return t.Format
}

func fileTarget(addr, path string) (target, error) {
	if path == "" || strings.HasSuffix(path, "/") {
		return target{}, fmt.Errorf("%w: %q names no file", ErrUnsupportedAddress, addr)
	}
	if strings.EqualFold(filepath.Ext(path), ".m3u8") {
		return target{Scheme: "hls", Location: path, Format: "hls"}, nil
	}
	t := target{Scheme: "file", Location: path, Format: "h264"}
	if m, ok := fileMuxers[strings.ToLower(filepath.Ext(path))]; ok {
		t.Muxer, t.Format = m[0], m[1]
	}
	return t, nil
}

// parseAddress splits an address into what the sink needs. Credentials are
// taken out of the location so they can be set as separate properties and
// never printed.
func parseAddress(addr string) (target, error) {
	if strings.TrimSpace(addr) == "" {
		return target{}, fmt.Errorf("%w: empty address", ErrUnsupportedAddress)
	}
	t, err := parseAddressBytes(addr)
	if err == nil && !(utf8.ValidString(t.Location) && utf8.ValidString(t.User) && utf8.ValidString(t.Password)) {
		// GStreamer's string properties, as gst-launch-1.0 reads them,
		// must be UTF-8.
		return target{}, fmt.Errorf("%w: %q is not UTF-8 (percent-encoded bytes included)", ErrUnsupportedAddress, Redact(addr))
	}
	return t, err
}

func parseAddressBytes(addr string) (target, error) {
	if !strings.Contains(addr, "://") {
		return fileTarget(addr, addr)
	}
	if strings.HasPrefix(strings.ToLower(addr), "file://") {
		u, err := url.Parse(addr)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return target{}, fmt.Errorf("%w: %q is not a file URL (file:///path)", ErrUnsupportedAddress, addr)
		}
		return fileTarget(addr, u.Path)
	}
	if strings.ContainsAny(addr, " \t\r\n\"'\\") {
		return target{}, fmt.Errorf("%w: %q contains spaces, quotes or backslashes (percent-encode them)",
			ErrUnsupportedAddress, Redact(addr))
	}
	u, err := url.Parse(addr)
	if err != nil {
		return target{}, fmt.Errorf("%w: %q is not a URL", ErrUnsupportedAddress, Redact(addr))
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(sinkSchemes, scheme) {
		return target{}, fmt.Errorf("%w: scheme %q in %q (supported: %s)",
			ErrUnsupportedAddress, u.Scheme, Redact(addr), strings.Join(sinkSchemes, ", "))
	}
	if u.Hostname() == "" {
		return target{}, fmt.Errorf("%w: %q has no host", ErrUnsupportedAddress, Redact(addr))
	}
	port := u.Port()
	if port == "" && (scheme == "udp" || scheme == "srt") {
		return target{}, fmt.Errorf("%w: %q has no port (%s://host:port)", ErrUnsupportedAddress, Redact(addr), scheme)
	}
	if port == "" {
		port = defaultPorts[scheme]
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return target{}, fmt.Errorf("%w: port %q in %q", ErrUnsupportedAddress, port, Redact(addr))
	}
	if scheme == "udp" {
		if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return target{}, fmt.Errorf("%w: %q: a UDP address is udp://host:port, nothing more", ErrUnsupportedAddress, Redact(addr))
		}
		return target{Scheme: scheme, Format: "mpegts", Location: addr, Host: u.Hostname(), Port: port,
			HostPort: net.JoinHostPort(u.Hostname(), port)}, nil
	}
	if scheme == "srt" {
		return srtTarget(addr, u, port)
	}
	t := target{Scheme: scheme, Format: "rtsp", HostPort: net.JoinHostPort(u.Hostname(), port)}
	if scheme == "rtmp" || scheme == "rtmps" {
		t.Format = "flv"
		// rtmp2sink needs the application and the stream name.
		if app, stream, _ := strings.Cut(strings.Trim(u.Path, "/"), "/"); app == "" || stream == "" {
			return target{}, fmt.Errorf("%w: %q names no application and stream (rtmp://host[:port]/app/stream)", ErrUnsupportedAddress, Redact(addr))
		}
	}
	prefix, _, rest := splitUserinfo(addr)
	t.Location = prefix + rest
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	return t, nil
}

// srtTarget parses srt://host:port?streamid=...&latency=...: a caller
// (the server listens). The passphrase is taken out like a password.
func srtTarget(addr string, u *url.URL, port string) (target, error) {
	if u.User != nil || (u.Path != "" && u.Path != "/") {
		return target{}, fmt.Errorf("%w: %q: an SRT address is srt://host:port?streamid=...&latency=..., no user or path", ErrUnsupportedAddress, Redact(addr))
	}
	t := target{Scheme: "srt", Format: "mpegts", Host: u.Hostname(), Port: port,
		HostPort: net.JoinHostPort(u.Hostname(), port)}
	opts := map[string]string{}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return target{}, fmt.Errorf("%w: %q: query: %v", ErrUnsupportedAddress, Redact(addr), err)
	}
	for k, vs := range q {
		if !slices.Contains(srtKeys, k) {
			return target{}, fmt.Errorf("%w: %q: SRT option %q (accepted: %s)", ErrUnsupportedAddress, Redact(addr), k, strings.Join(srtKeys, ", "))
		}
		if len(vs) != 1 {
			return target{}, fmt.Errorf("%w: %q: SRT option %q given %d times", ErrUnsupportedAddress, Redact(addr), k, len(vs))
		}
		opts[k] = vs[0]
	}
	if m, ok := opts["mode"]; ok && m != "caller" {
		// A listener would make Setup wait for a receiver to call.
		return target{}, fmt.Errorf("%w: %q: mode=%s; the stream calls the receiver (mode=caller)", ErrUnsupportedAddress, Redact(addr), m)
	}
	for _, k := range []string{"latency", "pbkeylen"} {
		if v, ok := opts[k]; ok {
			if n, err := strconv.Atoi(v); err != nil || n < 0 || (k == "latency" && n > 60000) || (k == "pbkeylen" && n != 0 && n != 16 && n != 24 && n != 32) {
				return target{}, fmt.Errorf("%w: %q: bad SRT %s %q", ErrUnsupportedAddress, Redact(addr), k, v)
			}
		}
	}
	t.SRT = srtOptions{StreamID: opts["streamid"], Latency: opts["latency"], PBKeyLen: opts["pbkeylen"]}
	t.Password = opts["passphrase"]
	if t.Password != "" && (len(t.Password) < 10 || len(t.Password) > 79) {
		return target{}, fmt.Errorf("%w: %q: an SRT passphrase has 10 to 79 characters", ErrUnsupportedAddress, Redact(addr))
	}
	t.Location = "srt://" + t.HostPort
	return t, nil
}

// srtLatency is the SRT latency the stream uses: the address's, else
// srtsink's default.
func (t target) srtLatency() time.Duration {
	ms, err := strconv.Atoi(t.SRT.Latency)
	if err != nil {
		ms = 125
	}
	return time.Duration(ms) * time.Millisecond
}

// splitUserinfo cuts "scheme://user:password@host/..." into
// "scheme://", "user:password" and "host/...", keeping every byte as typed:
// re-encoding the URL could change the path a server sees. userinfo is ""
// when there is none.
func splitUserinfo(addr string) (prefix, userinfo, rest string) {
	i := strings.Index(addr, "://")
	if i < 0 {
		return "", "", addr
	}
	prefix, rest = addr[:i+3], addr[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		return prefix, rest[:at], rest[at+1:]
	}
	return prefix, "", rest
}

// redacted stands for a password wherever one would be printed.
const redacted = "REDACTED"

// Redact returns the address with any password (and an SRT passphrase)
// replaced by REDACTED, for printing; everything else stays as typed.
func Redact(addr string) string {
	prefix, userinfo, rest := splitUserinfo(addr)
	if user, _, hasPassword := strings.Cut(userinfo, ":"); hasPassword {
		addr = prefix + user + ":" + redacted + "@" + rest
	}
	return redactQuery(addr, "passphrase")
}

// redactQuery replaces the value of every key=value pair named key in the
// address's query.
func redactQuery(addr, key string) string {
	q := strings.IndexByte(addr, '?')
	if q < 0 {
		return addr
	}
	end := len(addr)
	if h := strings.IndexByte(addr[q:], '#'); h >= 0 {
		end = q + h
	}
	pairs := strings.Split(addr[q+1:end], "&")
	for i, p := range pairs {
		if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, key) {
			pairs[i] = k + "=" + redacted
		}
	}
	return addr[:q+1] + strings.Join(pairs, "&") + addr[end:]
}
