package whip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/pion/webrtc/v4"
)

// options asks the endpoint, before the offer, for its ICE servers (Link
// header fields) and whether it takes trickle ICE (PATCH among its
// methods, or Accept-Patch). Servers need not answer OPTIONS: anything
// but a refusal of the token is no information, and the POST decides.
func (c *client) options(ctx context.Context) ([]webrtc.ICEServer, bool, error) {
	res, _, err := c.do(ctx, c.home, request{method: http.MethodOptions})
	if err != nil {
		if errors.Is(err, ErrNoServer) {
			return nil, false, err
		}
		return nil, false, nil
	}
	defer drain(res)
	switch {
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		_, err := expect(res, http.MethodOptions)
		return nil, false, err
	case res.StatusCode/100 != 2:
		return nil, false, nil
	}
	trickle := res.Header.Get("Accept-Patch") != ""
	for _, h := range []string{"Allow", "Access-Control-Allow-Methods"} {
		for _, m := range strings.Split(res.Header.Get(h), ",") {
			trickle = trickle || strings.EqualFold(strings.TrimSpace(m), http.MethodPatch)
		}
	}
	return iceServers(res.Header.Values("Link")), trickle, nil
}

// post sends the offer and returns the answer; the session's URL (its
// Location, relative to the URL that answered after any redirect) and
// ETag go into s.
func (c *client) post(ctx context.Context, offer string, s *Session) (string, error) {
	res, at, err := c.do(ctx, c.home, request{method: http.MethodPost, ctype: "application/sdp", body: []byte(offer)})
	if err != nil {
		return "", err
	}
	if loc := res.Header.Get("Location"); loc != "" && res.StatusCode == http.StatusCreated {
		if s.location, err = at.Parse(loc); err != nil {
			s.location = nil
		}
	}
	s.etag = res.Header.Get("ETag")
	ok := isSDP(res)
	body, err := expect(res, http.MethodPost, http.StatusCreated)
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "", &StatusError{Method: http.MethodPost, Status: http.StatusCreated, Text: "the answer is not application/sdp"}
	}
	return string(body), nil
}

// patch sends one candidate gathered after the offer (RFC 8840's SDP
// fragment: the ICE credentials, the media section, the candidate), or
// end-of-candidates for nil.
func (c *client) patch(ctx context.Context, s *Session, offer string, cand *webrtc.ICECandidate) error {
	if s.location == nil {
		return nil // nowhere to send it: the server gave no session URL
	}
	ufrag, pwd, mline, mid := iceSection(offer)
	var b strings.Builder
	fmt.Fprintf(&b, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\nm=%s\r\na=mid:%s\r\n", ufrag, pwd, mline, mid)
	if cand == nil {
		b.WriteString("a=end-of-candidates\r\n")
	} else {
		b.WriteString("a=" + cand.ToJSON().Candidate + "\r\n")
	}
	etag := s.etag
	if etag == "" {
		etag = "*"
	}
	res, _, err := c.do(ctx, s.location, request{method: http.MethodPatch, ctype: "application/trickle-ice-sdpfrag",
		body: []byte(b.String()), header: map[string]string{"If-Match": etag}})
	if err != nil {
		return err
	}
	_, err = expect(res, http.MethodPatch, http.StatusNoContent, http.StatusOK)
	return err
}

// iceSection reads from the offer what a trickle fragment repeats.
func iceSection(offer string) (ufrag, pwd, mline, mid string) {
	for _, l := range strings.Split(strings.ReplaceAll(offer, "\r\n", "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:") && ufrag == "":
			ufrag = l[len("a=ice-ufrag:"):]
		case strings.HasPrefix(l, "a=ice-pwd:") && pwd == "":
			pwd = l[len("a=ice-pwd:"):]
		case strings.HasPrefix(l, "m=") && mline == "":
			mline = l[2:]
		case strings.HasPrefix(l, "a=mid:") && mid == "":
			mid = l[len("a=mid:"):]
		}
	}
	return ufrag, pwd, mline, mid
}

// delete ends the session on the server.
func (c *client) delete(ctx context.Context, u *url.URL) error {
	res, _, err := c.do(ctx, u, request{method: http.MethodDelete})
	if err != nil {
		return err
	}
	_, err = expect(res, http.MethodDelete, http.StatusOK, http.StatusNoContent, http.StatusAccepted)
	return err
}
