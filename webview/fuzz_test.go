package webview_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mpegcoder-go/mpegserver/internal/testutil"
	"github.com/mpegcoder-go/mpegserver/webview"
	"github.com/pion/webrtc/v4"
)

// validOffer is an offer as a WHEP player makes it (pion's, like a
// browser's: recvonly video, H.264 among others).
func validOffer(f *testing.F) string {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		f.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		f.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		f.Fatal(err)
	}
	return offer.SDP
}

// FuzzWHEP: whatever a client sends, the handler answers 201 or a 4xx,
// never panics, and keeps no session it did not answer.
func FuzzWHEP(f *testing.F) {
	relay := testutil.StartRelay(f)
	publish(f, relay, "cam", 320, 240)
	v := &webview.Server{Relay: relay, MaxSessions: 4}
	f.Cleanup(v.Close)
	offer := validOffer(f)
	f.Add("POST", "/cam/whep", "application/sdp", offer)
	f.Add("POST", "/cam/whep", "application/sdp", strings.ReplaceAll(offer, "H264", "H999"))
	f.Add("POST", "/cam/whep", "application/sdp", offer[:len(offer)/2])
	f.Add("POST", "/cam/whep", "application/sdp", strings.Replace(offer, "a=setup:actpass", "a=setup:bogus", 1))
	f.Add("POST", "/cam/whep", "application/sdp", offer+"a=candidate:1 1 udp 1 10.1.2.3 9 typ host\r\n")
	f.Add("POST", "/cam/whep", "application/sdp; charset=utf-8", "v=0\r\n")
	f.Add("POST", "/cam/whep", "application/sdp", "\x00\xff\r\n=")
	f.Add("DELETE", "/cam/whep/x", "", "")
	f.Add("PATCH", "/cam/whep/x", "application/trickle-ice-sdpfrag", "a=candidate:1")
	f.Add("GET", "/cam/whep/../../x", "", "")
	f.Add("OPTIONS", "/a/b/c/whep", "", "")
	f.Fuzz(func(t *testing.T, method, path, ctype, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n#?") || len(method) == 0 || strings.ContainsAny(method, " \t\r\n/()<>@,;:\\\"[]?={}") {
			return // not a request line an HTTP server would accept
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		v.ServeHTTP(rec, req)
		switch code := rec.Code; {
		case code == http.StatusCreated:
			loc := rec.Header().Get("Location")
			del := httptest.NewRecorder()
			v.ServeHTTP(del, httptest.NewRequest(http.MethodDelete, "http://127.0.0.1"+loc, nil))
			if del.Code != http.StatusOK {
				t.Errorf("DELETE %s: %d", loc, del.Code)
			}
		case code == http.StatusOK || code == http.StatusNoContent:
			if method == http.MethodPost {
				t.Errorf("POST %s answered %d", path, code)
			}
		case code >= 400 && code < 500, code == http.StatusServiceUnavailable:
		default:
			t.Errorf("%s %s: status %d: %s", method, path, code, rec.Body.String())
		}
		if n := v.Sessions(); n != 0 {
			t.Errorf("%d sessions left after %s %s", n, method, path)
		}
	})
}
