package whip

import (
	"net"
	"net/url"
	"strings"

	"github.com/pion/webrtc/v4"
)

// iceServers reads the ICE servers a WHIP server lists in its Link
// header fields (RFC 9725 §4.6: <URI>; rel="ice-server"; username="…";
// credential="…"; credential-type="password"), several to a field or one
// each. Links of other relations and URIs that are not stun:, stuns:,
// turn: or turns: are left out; so is anything that does not parse, since
// a server's optional hint must not stop the stream.
func iceServers(fields []string) []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, f := range fields {
		for _, link := range splitOutside(f, ',') {
			if s, ok := parseLink(link); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func parseLink(link string) (webrtc.ICEServer, bool) {
	link = strings.TrimSpace(link)
	if !strings.HasPrefix(link, "<") {
		return webrtc.ICEServer{}, false
	}
	end := strings.IndexByte(link, '>')
	if end < 0 {
		return webrtc.ICEServer{}, false
	}
	uri := strings.TrimSpace(link[1:end])
	params := map[string]string{}
	for _, p := range splitOutside(link[end+1:], ';') {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[strings.ToLower(strings.TrimSpace(k))] = unquote(strings.TrimSpace(v))
	}
	if !hasToken(params["rel"], "ice-server") {
		return webrtc.ICEServer{}, false
	}
	scheme, _, _ := strings.Cut(uri, ":")
	switch strings.ToLower(scheme) {
	case "stun", "stuns", "turn", "turns":
	default:
		return webrtc.ICEServer{}, false
	}
	s := webrtc.ICEServer{URLs: []string{uri}}
	if u := params["username"]; u != "" {
		s.Username, s.Credential, s.CredentialType = u, params["credential"], webrtc.ICECredentialTypePassword
	}
	return s, true
}

// splitOutside splits s at sep where sep is outside <…> and "…".
func splitOutside(s string, sep byte) []string {
	var out []string
	angle, quoted, escaped, from := false, false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"' && !angle:
			quoted = !quoted
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case c == sep && !angle && !quoted:
			out = append(out, s[from:i])
			from = i + 1
		}
	}
	return append(out, s[from:])
}

// unquote reads an HTTP quoted-string, or returns a token as it is.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		if v[i] == '\\' && i+1 < len(v)-1 {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// hasToken says whether a space-separated list (a rel value) holds t.
func hasToken(list, t string) bool {
	for _, f := range strings.Fields(list) {
		if strings.EqualFold(f, t) {
			return true
		}
	}
	return false
}

// onLoopback says whether every URL of an ICE server names a loopback
// host (an IP literal or localhost): the only servers ICE may use when it
// must not leave this machine.
func onLoopback(s webrtc.ICEServer) bool {
	for _, raw := range s.URLs {
		// stun:host:port and turn:host:port?transport=udp are opaque URIs.
		rest := raw[strings.IndexByte(raw, ':')+1:]
		rest, _, _ = strings.Cut(rest, "?")
		host := rest
		if h, _, err := net.SplitHostPort(rest); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if u, err := url.PathUnescape(host); err == nil {
			host = u
		}
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return len(s.URLs) > 0
}
