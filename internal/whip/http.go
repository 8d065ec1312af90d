package whip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// maxRedirects bounds the 3xx answers followed for one request.
const maxRedirects = 5

// maxAnswer bounds an SDP answer; a server's error text is cut shorter.
const (
	maxAnswer    = 128 << 10
	maxErrorText = 200
)

// StatusError is an answer the WHIP server gave that was not the one
// expected: a 4xx or 5xx, or a 201 without an SDP answer.
type StatusError struct {
	Method string // OPTIONS, POST, PATCH or DELETE
	Status int    // the HTTP status code
	Text   string // the server's own words (its body, cut short, printable only)
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s answered %d %s", e.Method, e.Status, http.StatusText(e.Status))
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// Unauthorized says whether the server refused the token (or its absence).
func (e *StatusError) Unauthorized() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// Temporary says whether asking again later may succeed: the server is
// there but busy, starting or broken (5xx, 404 for a path not yet
// configured, 408, 429).
func (e *StatusError) Temporary() bool {
	switch e.Status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	}
	return e.Status >= 500
}

// ErrNoServer is an endpoint that gave no HTTP answer (refused, timed
// out, not HTTP).
var ErrNoServer = errors.New("no answer from the WHIP endpoint")

// request is one HTTP request of the WHIP protocol.
type request struct {
	method, ctype string
	body          []byte
	header        map[string]string
}

// client sends the WHIP requests with the bearer token, following
// redirects by hand so that a POST stays a POST with its body (Go's client
// turns it into a GET on 301, 302 and 303) and the token goes only where
// Go's own client would send it: the same host or one of its subdomains.
type client struct {
	hc    *http.Client
	token string
	home  *url.URL // the endpoint as given: where the token belongs
}

func newClient(hc *http.Client, endpoint *url.URL, token string) *client {
	if hc == nil {
		hc = &http.Client{}
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{hc: &c, token: token, home: endpoint}
}

// do sends r to u, following redirects, and returns the final response
// (its body to close) and the URL that answered it.
func (c *client) do(ctx context.Context, u *url.URL, r request) (*http.Response, *url.URL, error) {
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, r.method, u.String(), bytes.NewReader(r.body))
		if err != nil {
			return nil, u, err
		}
		if r.ctype != "" {
			req.Header.Set("Content-Type", r.ctype)
		}
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		if c.token != "" && c.trusted(u) {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := c.hc.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its URL is printed by the caller, without secrets
			}
			return nil, u, fmt.Errorf("%w: %s %s: %v", ErrNoServer, r.method, shown(u), err)
		}
		switch res.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return res, u, nil
		}
		loc := res.Header.Get("Location")
		drain(res)
		next, err := u.Parse(loc)
		switch {
		case loc == "" || err != nil:
			return nil, u, fmt.Errorf("%s %s: redirected (%d) to %q, not a URL", r.method, shown(u), res.StatusCode, loc)
		case hops >= maxRedirects:
			return nil, u, fmt.Errorf("%s %s: more than %d redirects", r.method, shown(u), maxRedirects)
		case u.Scheme == "https" && next.Scheme != "https":
			return nil, u, fmt.Errorf("%s %s: redirected from https to %s (%s); refused, the token would travel in clear", r.method, shown(u), next.Scheme, shown(next))
		case next.Scheme != "http" && next.Scheme != "https":
			return nil, u, fmt.Errorf("%s %s: redirected to %s, not HTTP", r.method, shown(u), shown(next))
		}
		u = next
	}
}

// trusted says whether the token may go to u: the endpoint's own host, or
// a subdomain of it, as net/http decides for its redirects.
func (c *client) trusted(u *url.URL) bool {
	h, home := strings.ToLower(u.Hostname()), strings.ToLower(c.home.Hostname())
	return h == home || strings.HasSuffix(h, "."+home)
}

// expect checks a response's status and reads its body (bounded); any
// other status is a *StatusError carrying the server's text.
func expect(res *http.Response, method string, ok ...int) ([]byte, error) {
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer+1))
	for _, s := range ok {
		if res.StatusCode == s {
			if err != nil {
				return nil, fmt.Errorf("%s: reading the answer: %v", method, err)
			}
			if len(body) > maxAnswer {
				return nil, fmt.Errorf("%s: the answer is over %d bytes", method, maxAnswer)
			}
			return body, nil
		}
	}
	return nil, &StatusError{Method: method, Status: res.StatusCode, Text: printable(body)}
}

// isSDP says whether a response carries SDP.
func isSDP(res *http.Response) bool {
	mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	return err == nil && mt == "application/sdp"
}

// printable keeps a server's text short and on one line, without control
// characters, for an error message.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.ToValidUTF8(string(b), "?"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorText {
		s = s[:maxErrorText] + "…"
	}
	return s
}

// drain reads a little of a response we do not use and closes it, so its
// connection can be reused.
func drain(res *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	res.Body.Close()
}

// shown is a URL for messages: scheme, host and path, never user
// information (the token is a header, but a URL could carry one anyway).
func shown(u *url.URL) string {
	v := *u
	v.User = nil
	v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = "", false, "", ""
	return v.String()
}
