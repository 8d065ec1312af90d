// Package metrics exports mpegserver's figures to Prometheus: a Collector
// for a Server's stream, one for the embedded RTSP relay and its browser
// view, and the HTTP handler the command serves (/metrics, /healthz,
// /readyz). Streams are labelled by a name the program gives, never by
// their address, which can hold a password or a stream key.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mpegcoder-go/mpegserver"
)

const ns = "mpegserver"

// streamCollector exports one Server's Stats.
type streamCollector struct {
	s    *mpegserver.Server
	desc map[string]*prometheus.Desc
}

// metric is one family of a stream's: its name, help, type, and how to
// read it off Stats.
type metric struct {
	name, help string
	kind       prometheus.ValueType
	value      func(st mpegserver.Stats) float64
}

var streamMetrics = []metric{
	{"frames_served_total", "Frames handed to the Serve calls, whatever became of them.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return float64(st.Served) }},
	{"frames_pushed_total", "Frames accepted into the pipeline.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return float64(st.Pushed) }},
	{"frames_encoded_total", "Frames the encoder has handed to the outputs.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return float64(st.Encoded) }},
	{"frames_refused_total", "Frames ServeFrame refused at the queue's hard cap.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return float64(st.Refused) }},
	{"frames_dropped_total", "Frames dropped while the stream was down, reconnecting.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return float64(st.Dropped) }},
	{"sent_bytes_total", "Encoded bytes handed to the outputs.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return float64(st.Bytes) }},
	{"reconnects_total", "Times the stream came back after a loss.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return float64(st.Reconnects) }},
	{"down_seconds_total", "Time spent down, between a loss and the stream's return.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return st.Down.Seconds() }},
	{"warnings_total", "Warnings GStreamer posted.", prometheus.CounterValue,
		func(st mpegserver.Stats) float64 { return float64(st.Warnings) }},
	{"frames_ahead", "Frames served whose play time is still to come.", prometheus.GaugeValue,
		func(st mpegserver.Stats) float64 { return float64(st.Ahead) }},
	{"frames_queued", "Frames waiting in appsrc for the encoder.", prometheus.GaugeValue,
		func(st mpegserver.Stats) float64 { return float64(st.Queued) }},
	{"frames_per_second", "Frames pushed a second, over the last few seconds.", prometheus.GaugeValue,
		func(st mpegserver.Stats) float64 { return st.FPS }},
	{"send_bytes_per_second", "Encoded bytes a second (the bit rate / 8), over the last few seconds.", prometheus.GaugeValue,
		func(st mpegserver.Stats) float64 { return st.BitRate / 8 }},
	{"up_seconds", "Time since Setup.", prometheus.GaugeValue,
		func(st mpegserver.Stats) float64 { return st.Elapsed.Seconds() }},
}

// NewCollector exports a Server's stream, labelled stream=name: frames
// served, pushed, encoded, refused and dropped, bytes sent, reconnects,
// time down, frames ahead and queued, the current frame and byte rates,
// the encode latency, the state (one gauge a state, 1 for the current
// one) and, with several outputs, each output's frames, bytes and
// whether it works. Register it on any registry; several Servers need
// several names.
func NewCollector(name string, s *mpegserver.Server) prometheus.Collector {
	c := &streamCollector{s: s, desc: map[string]*prometheus.Desc{}}
	labels := prometheus.Labels{"stream": name}
	for _, m := range streamMetrics {
		c.desc[m.name] = prometheus.NewDesc(ns+"_"+m.name, m.help, nil, labels)
	}
	c.desc["state"] = prometheus.NewDesc(ns+"_state", "1 for the state the stream is in (closed, up, reconnecting, down), 0 for the others.", []string{"state"}, labels)
	c.desc["latency"] = prometheus.NewDesc(ns+"_encode_latency_seconds", "Time from a frame's push to its leaving the encoder.", nil, labels)
	c.desc["out_frames"] = prometheus.NewDesc(ns+"_output_frames_total", "Encoded frames an output took (with several outputs).", []string{"output"}, labels)
	c.desc["out_bytes"] = prometheus.NewDesc(ns+"_output_bytes_total", "Encoded bytes an output took (with several outputs).", []string{"output"}, labels)
	c.desc["out_up"] = prometheus.NewDesc(ns+"_output_up", "1 while an output works, 0 once it failed (with several outputs).", []string{"output"}, labels)
	return c
}

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.desc {
		ch <- d
	}
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	for _, m := range streamMetrics {
		ch <- prometheus.MustNewConstMetric(c.desc[m.name], m.kind, m.value(st))
	}
	for _, s := range mpegserver.States {
		v := 0.0
		if s == st.State {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc["state"], prometheus.GaugeValue, v, s.String())
	}
	ch <- latencyHistogram(c.desc["latency"], st.EncodeLatency)
	for i, o := range st.Outputs {
		// By role, not address: an address can hold a secret.
		name := "stream"
		if i > 0 {
			name = "record"
		}
		up := 1.0
		if o.Err != nil {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(c.desc["out_frames"], prometheus.CounterValue, float64(o.Frames), name)
		ch <- prometheus.MustNewConstMetric(c.desc["out_bytes"], prometheus.CounterValue, float64(o.Bytes), name)
		ch <- prometheus.MustNewConstMetric(c.desc["out_up"], prometheus.GaugeValue, up, name)
	}
}

// latencyHistogram is a Latency as a Prometheus histogram: cumulative
// buckets in seconds.
func latencyHistogram(d *prometheus.Desc, l mpegserver.Latency) prometheus.Metric {
	buckets := make(map[float64]uint64, len(l.Bounds))
	var cum uint64
	for i, b := range l.Bounds {
		if i < len(l.Counts) {
			cum += l.Counts[i]
		}
		buckets[b.Seconds()] = cum
	}
	return prometheus.MustNewConstHistogram(d, l.Count(), l.Sum.Seconds(), buckets)
}
