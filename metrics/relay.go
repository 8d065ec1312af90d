package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mpegcoder-go/mpegserver/rtspserver"
	"github.com/mpegcoder-go/mpegserver/webview"
)

// relayCollector exports the embedded RTSP relay's paths and the browser
// view's viewers.
type relayCollector struct {
	relay                                           *rtspserver.Server
	view                                            *webview.Server
	paths, publishing, readers, frames, bytes, seen *prometheus.Desc
	viewers                                         *prometheus.Desc
}

// NewRelayCollector exports the embedded RTSP relay (paths, whether each
// is published, its RTSP readers, what its publishers sent) and, when
// view is not nil, the browser view's viewers. Paths are labels: a relay
// path is a name, not a secret.
func NewRelayCollector(relay *rtspserver.Server, view *webview.Server) prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(ns+"_relay_"+name, help, labels, nil)
	}
	return &relayCollector{relay: relay, view: view,
		paths:      d("paths", "Paths the relay knows."),
		publishing: d("publishing", "1 while a publisher records on the path.", "path"),
		readers:    d("readers", "RTSP sessions playing the path.", "path"),
		frames:     d("received_frames_total", "Access units received from the path's publishers.", "path"),
		bytes:      d("received_bytes_total", "RTP payload bytes received from the path's publishers.", "path"),
		seen:       d("publishers_total", "Publishers that have recorded on the path.", "path"),
		viewers:    prometheus.NewDesc(ns+"_browser_viewers", "Browser (WHEP) viewers connected.", nil, nil),
	}
}

func (c *relayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.paths, c.publishing, c.readers, c.frames, c.bytes, c.seen, c.viewers} {
		ch <- d
	}
}

func (c *relayCollector) Collect(ch chan<- prometheus.Metric) {
	paths := c.relay.Paths()
	ch <- prometheus.MustNewConstMetric(c.paths, prometheus.GaugeValue, float64(len(paths)))
	for name, p := range paths {
		pub := 0.0
		if p.Publishing {
			pub = 1
		}
		ch <- prometheus.MustNewConstMetric(c.publishing, prometheus.GaugeValue, pub, name)
		ch <- prometheus.MustNewConstMetric(c.readers, prometheus.GaugeValue, float64(p.Readers), name)
		ch <- prometheus.MustNewConstMetric(c.frames, prometheus.CounterValue, float64(p.Frames), name)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(p.Bytes), name)
		ch <- prometheus.MustNewConstMetric(c.seen, prometheus.CounterValue, float64(p.Publishers), name)
	}
	if c.view != nil {
		ch <- prometheus.MustNewConstMetric(c.viewers, prometheus.GaugeValue, float64(c.view.Sessions()))
	}
}
