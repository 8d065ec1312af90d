package mpegserver

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// rawAddress is an address split as far as every kind of output needs,
// before its kind (outputKinds) parses the rest.
type rawAddress struct {
	text   string   // as given
	scheme string   // lower case; "file" for a path
	url    *url.URL // nil for a path
	path   string   // for a path or a file:// URL: the file's path
}

// parseOutput parses an address into the output it names. Credentials
// are taken out of the sink's location, to be set as properties of their
// own and never printed.
func parseOutput(addr string) (output, error) {
	if strings.TrimSpace(addr) == "" {
		return nil, fmt.Errorf("%w: empty address", ErrUnsupportedAddress)
	}
	a, err := splitAddress(addr)
	if err != nil {
		return nil, err
	}
	for _, k := range outputKinds {
		switch {
		case a.url != nil && slices.Contains(k.schemes, a.scheme):
			if a.url.Hostname() == "" {
				return nil, fmt.Errorf("%w: %q has no host", ErrUnsupportedAddress, Redact(addr))
			}
			return k.parse(a)
		case a.url == nil && len(k.schemes) == 0 && (len(k.exts) == 0 || slices.Contains(k.exts, strings.ToLower(filepath.Ext(a.path)))):
			return k.parse(a)
		}
	}
	return nil, fmt.Errorf("%w: scheme %q in %q (supported: %s)",
		ErrUnsupportedAddress, a.scheme, Redact(addr), strings.Join(schemes(), ", "))
}

func splitAddress(addr string) (rawAddress, error) {
	if !strings.Contains(addr, "://") {
		return filePath(addr, addr)
	}
	if strings.HasPrefix(strings.ToLower(addr), "file://") {
		u, err := url.Parse(addr)
		if err != nil || (u.Host != "" && u.Host != "localhost") {
			return rawAddress{}, fmt.Errorf("%w: %q is not a file URL (file:///path)", ErrUnsupportedAddress, addr)
		}
		return filePath(addr, u.Path)
	}
	if strings.ContainsAny(addr, " \t\r\n\"'\\") {
		return rawAddress{}, fmt.Errorf("%w: %q contains spaces, quotes or backslashes (percent-encode them)",
			ErrUnsupportedAddress, Redact(addr))
	}
	u, err := url.Parse(addr)
	if err != nil {
		return rawAddress{}, fmt.Errorf("%w: %q is not a URL", ErrUnsupportedAddress, Redact(addr))
	}
	return rawAddress{text: addr, scheme: strings.ToLower(u.Scheme), url: u}, nil
}

func filePath(addr, path string) (rawAddress, error) {
	if path == "" || strings.HasSuffix(path, "/") {
		return rawAddress{}, fmt.Errorf("%w: %q names no file", ErrUnsupportedAddress, addr)
	}
	if err := checkUTF8(addr, path); err != nil {
		return rawAddress{}, err
	}
	return rawAddress{text: addr, scheme: "file", path: path}, nil
}

// hostPort is host:port to dial, with the default port when the address
// has none (or an empty one); def "" means the address must give it.
func (a rawAddress) hostPort(def string) (string, error) {
	port := a.url.Port()
	switch {
	case port == "" && def == "":
		return "", fmt.Errorf("%w: %q has no port (%s://host:port)", ErrUnsupportedAddress, Redact(a.text), a.scheme)
	case port == "":
		port = def
	default:
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%w: port %q in %q", ErrUnsupportedAddress, port, Redact(a.text))
		}
	}
	return net.JoinHostPort(a.url.Hostname(), port), nil
}

// credentials takes user information out of a server address: the
// location keeps every other byte as typed (re-encoding the URL could
// change the path a server sees).
func (a rawAddress) credentials() (location, user, password string, err error) {
	prefix, _, rest := splitUserinfo(a.text)
	if a.url.User != nil {
		user = a.url.User.Username()
		password, _ = a.url.User.Password()
	}
	return prefix + rest, user, password, checkUTF8(a.text, user, password)
}

// checkUTF8 refuses values that are not UTF-8 once percent-decoded:
// GStreamer's string properties, as gst-launch-1.0 reads them, must be.
func checkUTF8(addr string, values ...string) error {
	for _, v := range values {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: %q is not UTF-8 (percent-encoded bytes included)", ErrUnsupportedAddress, Redact(addr))
		}
	}
	return nil
}

// splitUserinfo cuts "scheme://user:password@host/..." into
// "scheme://", "user:password" and "host/...", keeping every byte as typed.
// userinfo is "" when there is none.
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

// secretKeys are the query keys whose values are secrets: SRT's
// passphrase, and the credentials, tokens and keys servers take in a
// query (mediamtx's pass=, SRS's secret=, signed URLs).
var secretKeys = []string{"passphrase", "pass", "password", "pwd", "secret", "token", "access_token", "key", "auth", "sign", "signature"}

// streamKeyLen is the length from which an RTMP stream name is taken for
// a platform's stream key (YouTube's, Twitch's, Facebook's are longer),
// which is as secret as a password.
const streamKeyLen = 16

// Redact returns the address with any password, an SRT passphrase, a
// WHIP address's bearer token, a secret in the query (pass=, token=,
// secret=, ...) and an RTMP stream key (a stream name of 16 characters or
// more) replaced by REDACTED, for printing; everything else stays as
// typed.
func Redact(addr string) string {
	prefix, userinfo, rest := splitUserinfo(addr)
	user, _, hasPassword := strings.Cut(userinfo, ":")
	switch {
	case userinfo != "" && strings.HasPrefix(strings.ToLower(prefix), "whip+"):
		// All of it is the bearer token.
		addr = prefix + redacted + "@" + rest
	case hasPassword:
		addr = prefix + user + ":" + redacted + "@" + rest
	}
	if p := strings.ToLower(prefix); p == "rtmp://" || p == "rtmps://" {
		addr = redactStreamKey(addr)
	}
	return redactQuery(addr, secretKeys)
}

// redactStreamKey replaces a long last path element of an RTMP address.
func redactStreamKey(addr string) string {
	end := len(addr)
	if i := strings.IndexAny(addr, "?#"); i >= 0 {
		end = i
	}
	slash := strings.LastIndexByte(addr[:end], '/')
	if slash < len("rtmp://") || end-slash-1 < streamKeyLen {
		return addr
	}
	return addr[:slash+1] + redacted + addr[end:]
}

// redactQuery replaces the value of every key=value pair in the
// address's query whose key is one of keys.
func redactQuery(addr string, keys []string) string {
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
		if k, _, ok := strings.Cut(p, "="); ok && slices.ContainsFunc(keys, func(s string) bool { return strings.EqualFold(k, s) }) {
			pairs[i] = k + "=" + redacted
		}
	}
	return addr[:q+1] + strings.Join(pairs, "&") + addr[end:]
}
