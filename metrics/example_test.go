package metrics_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/metrics"
)

// A program registers its Server on its own registry and serves the
// metrics and the probes; here one scrape, before Setup.
func ExampleNewCollector() {
	s := mpegserver.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector("cam1", s))
	srv := httptest.NewServer(metrics.Handler(reg, metrics.StreamChecks(s)))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "mpegserver_state") {
			fmt.Println(line)
		}
	}
	ready, _ := srv.Client().Get(srv.URL + "/readyz")
	fmt.Println("/readyz:", ready.StatusCode)
	ready.Body.Close()
	// Output:
	// mpegserver_state{state="closed",stream="cam1"} 1
	// mpegserver_state{state="down",stream="cam1"} 0
	// mpegserver_state{state="reconnecting",stream="cam1"} 0
	// mpegserver_state{state="up",stream="cam1"} 0
	// /readyz: 503
}
