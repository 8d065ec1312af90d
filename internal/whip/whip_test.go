package whip

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestICEServers: Link header fields as RFC 9725 and RFC 8288 write them:
// several links in one field or one each, quoted credentials with escapes,
// rel among other relations; other links and other schemes left out.
func TestICEServers(t *testing.T) {
	got := iceServers([]string{
		`<stun:stun.example.net:3478>; rel="ice-server", <https://example.net/x>; rel="help"`,
		`<turn:turn.example.net?transport=udp>; rel="ice-server"; username="u\"1"; credential="p,w;d"; credential-type="password"`,
		`<turns:t.example.net:5349>; rel="preload ice-server"`,
		`<ftp://x>; rel="ice-server"`, `garbage`, `<stun:unterminated; rel="ice-server"`,
	})
	want := []webrtc.ICEServer{
		{URLs: []string{"stun:stun.example.net:3478"}},
		{URLs: []string{"turn:turn.example.net?transport=udp"}, Username: `u"1`, Credential: "p,w;d", CredentialType: webrtc.ICECredentialTypePassword},
		{URLs: []string{"turns:t.example.net:5349"}},
	}
	if len(got) != len(want) {
		t.Fatalf("%d servers: %+v", len(got), got)
	}
	for i := range want {
		if got[i].URLs[0] != want[i].URLs[0] || got[i].Username != want[i].Username || got[i].Credential != want[i].Credential {
			t.Errorf("server %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for uri, loop := range map[string]bool{"stun:127.0.0.1:3478": true, "turn:[::1]:3478?transport=udp": true, "stun:localhost": true,
		"stun:stun.example.net": false, "turn:10.0.0.1:3478": false} {
		if onLoopback(webrtc.ICEServer{URLs: []string{uri}}) != loop {
			t.Errorf("%s: on loopback %v", uri, !loop)
		}
	}
}

// TestAnswerFits: what the encoder makes against what an answer takes.
func TestAnswerFits(t *testing.T) {
	answer := func(lines ...string) string {
		return "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n" + strings.Join(lines, "\r\n") + "\r\n"
	}
	for _, c := range []struct {
		family, sdp string
		ok          bool
	}{
		{H264, answer("a=rtpmap:96 H264/90000", "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"), true},
		{H264, answer("a=rtpmap:96 H264/90000", "a=fmtp:96 packetization-mode=1;profile-level-id=640c1f"), true},
		{H264, answer("a=rtpmap:96 H264/90000"), true}, // no profile: Baseline by default
		{H264, answer("a=rtpmap:96 H264/90000", "a=fmtp:96 profile-level-id=f4001f"), false},
		{H264, answer("a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000"), false},
		{H264, "v=0\r\nm=video 0 UDP/TLS/RTP/SAVPF 0\r\n", false},
		{VP8, answer("a=rtpmap:96 VP8/90000"), true},
		{VP9, answer("a=rtpmap:96 VP9/90000", "a=fmtp:96 profile-id=2"), false},
		{VP9, answer("a=rtpmap:96 VP9/90000", "a=fmtp:96 profile-id=0"), true},
	} {
		err := answerFits(c.family, c.sdp)
		if (err == nil) != c.ok {
			t.Errorf("%s to %q: %v", c.family, c.sdp, err)
		}
	}
}

func TestH264Level(t *testing.T) {
	for _, c := range []struct {
		w, h int
		fps  float64
		want byte
	}{{320, 240, 30, 31}, {1280, 720, 30, 31}, {1280, 720, 60, 32}, {1920, 1080, 30, 40}, {3840, 2160, 30, 51}, {7680, 4320, 60, 62}} {
		if got := H264Level(c.w, c.h, c.fps); got != c.want {
			t.Errorf("%dx%d@%v: level %d, want %d", c.w, c.h, c.fps, got, c.want)
		}
	}
}

// TestRedirects: a POST stays a POST with its body through any 3xx, the
// token goes only to the endpoint's host and its subdomains, and never
// from https to http.
func TestRedirects(t *testing.T) {
	var seen []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, "other "+r.Method+" auth="+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer other.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 3)
		n, _ := r.Body.Read(body)
		seen = append(seen, r.Method+" "+r.URL.Path+" "+string(body[:n])+" auth="+r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case "/b":
			http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/c", http.StatusSeeOther)
		}
	}))
	defer home.Close()
	u, _ := url.Parse(home.URL + "/a")
	c := newClient(nil, u, "tok")
	res, _, err := c.do(context.Background(), u, request{method: http.MethodPost, body: []byte("sdp")})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	want := "POST /a sdp auth=Bearer tok|POST /b sdp auth=Bearer tok|other POST auth="
	if strings.Join(seen, "|") != want {
		t.Errorf("requests %q\nwant %q", seen, want)
	}
	tls := httptest.NewTLSServer(http.RedirectHandler(home.URL+"/x", http.StatusTemporaryRedirect))
	defer tls.Close()
	u, _ = url.Parse(tls.URL)
	c = newClient(tls.Client(), u, "tok")
	if _, _, err := c.do(context.Background(), u, request{method: http.MethodPost}); err == nil || !strings.Contains(err.Error(), "from https to http") {
		t.Errorf("https → http: %v", err)
	}
}
