package webview

import (
	_ "embed"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

//go:embed page.html
var page []byte

// maxOffer bounds an SDP offer's size; browsers send a few kB.
const maxOffer = 64 << 10

// ServeHTTP serves GET /PATH (the page), POST /PATH/whep (a WHEP offer)
// and DELETE /PATH/whep/ID (the end of a session). Anything else is a 4xx;
// there is no listing of paths.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := s.init(DefaultAddress); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	p := strings.Trim(r.URL.Path, "/")
	if p == "" || strings.Contains(p, "//") || strings.Contains(p, "..") {
		http.Error(w, "open /PATH to watch the stream at PATH", http.StatusNotFound)
		return
	}
	if base, id, ok := cutSession(p); ok {
		s.serveSession(w, r, base, id)
		return
	}
	if base, ok := strings.CutSuffix(p, "/whep"); ok {
		s.serveWHEP(w, r, base)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		// The page loads nothing from elsewhere, and nothing may frame it.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'")
		_, _ = w.Write(page)
	default:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// cutSession splits "PATH/whep/ID".
func cutSession(p string) (base, id string, ok bool) {
	i := strings.LastIndex(p, "/whep/")
	if i < 0 {
		return "", "", false
	}
	base, id = p[:i], p[i+len("/whep/"):]
	return base, id, base != "" && id != "" && !strings.Contains(id, "/")
}

func (s *Server) serveWHEP(w http.ResponseWriter, r *http.Request, path string) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		w.Header().Set("Allow", "OPTIONS, POST")
		w.Header().Set("Accept-Post", "application/sdp")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "OPTIONS, POST")
		http.Error(w, "method not allowed: POST an SDP offer", http.StatusMethodNotAllowed)
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/sdp" {
		http.Error(w, "the offer must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOffer))
	if err != nil {
		http.Error(w, "offer too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	answer, id, err := s.open(path, string(body))
	if err != nil {
		var he *httpError
		if asHTTP(err, &he) {
			if he.status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, he.msg, he.status)
			return
		}
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/"+path+"/whep/"+id)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, path, id string) {
	s.mu.Lock()
	x := s.sessions[id]
	s.mu.Unlock()
	if x == nil || x.path != path {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodDelete:
		x.close("viewer left (DELETE)")
		w.WriteHeader(http.StatusOK)
	case http.MethodPatch:
		// Candidates all come in the offer and the answer (gathering is
		// complete before either is sent): trickle ICE is not needed.
		http.Error(w, "trickle ICE is not supported; send every candidate in the offer", http.StatusMethodNotAllowed)
	default:
		w.Header().Set("Allow", "DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// httpError is an error with the status it answers.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d: %s", e.status, e.msg) }

func asHTTP(err error, target **httpError) bool {
	he, ok := err.(*httpError)
	if ok {
		*target = he
	}
	return ok
}
