package metrics

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mpegcoder-go/mpegserver"
)

// Checks answer the health endpoints. A check that does not return within
// CheckTimeout counts as failed: the process is wedged.
type Checks struct {
	// Alive: the process still answers (nil: it does).
	Alive func() error
	// Ready: the service does its job now (nil: it does).
	Ready func() error
}

// CheckTimeout bounds each health check.
const CheckTimeout = time.Second

// Handler serves /metrics from g, /healthz (200 while Alive passes) and
// /readyz (200 while Ready passes, 503 with the reason otherwise).
func Handler(g prometheus.Gatherer, c Checks) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	mux.Handle("GET /healthz", check(c.Alive))
	mux.Handle("GET /readyz", check(c.Ready))
	return mux
}

func check(f func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := run(f)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(err.Error() + "\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

// run runs a check within CheckTimeout.
func run(f func() error) error {
	if f == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTimer(CheckTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return errors.New("no answer within " + CheckTimeout.String() + ": the process is wedged")
	}
}

// StreamChecks are the checks for a process serving one stream: alive
// while the Server answers, ready while its stream is up.
func StreamChecks(s *mpegserver.Server) Checks {
	return Checks{
		Alive: func() error { _ = s.Stats(); return nil },
		Ready: func() error {
			if st := s.State(); st != mpegserver.StateUp {
				return errors.New("stream " + st.String())
			}
			return nil
		},
	}
}
