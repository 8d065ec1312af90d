package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mpegcoder-go/mpegserver/metrics"
)

// serviceFlags are what a supervisor and a fleet need: metrics and
// health checks, structured logs.
type serviceFlags struct {
	metrics       *string
	metricsPublic *bool
	name          *string
	logFormat     *string
	logLevel      *string
}

func addServiceFlags(fs *flagSet, withName bool) serviceFlags {
	f := serviceFlags{
		metrics: fs.String("metrics", "", "serve Prometheus /metrics and the /healthz and /readyz probes on ADDR, e.g. 127.0.0.1:9108 (\"\": off)"),
		metricsPublic: fs.Bool("metrics-public", false, "allow a --metrics address other machines can reach "+
			"(default: loopback only; give --metrics 0.0.0.0:9108 too)"),
		logFormat: fs.String("log-format", "text", "log records on standard error as text (key=value) or json"),
		logLevel:  fs.String("log-level", "info", "the least level logged: debug, info, warn or error"),
	}
	if withName {
		f.name = fs.String("name", "stream", "the stream's name in metrics (label stream=NAME); never the address, which can hold secrets")
	}
	return f
}

// logger is the command's structured logger on w, or one that discards
// (quiet).
func (f serviceFlags) logger(w io.Writer, quiet bool) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(*f.logLevel)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", *f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch *f.logFormat {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usagef("--log-format %q: want text or json", *f.logFormat)
	}
	if quiet {
		h = slog.DiscardHandler
	}
	return slog.New(h), nil
}

// check refuses a --metrics address that cannot work or that other
// machines could reach without --metrics-public.
func (f serviceFlags) check() error {
	if *f.metrics == "" {
		return nil
	}
	if err := checkListen("--metrics", *f.metrics); err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(*f.metrics); !*f.metricsPublic && !isLoopback(host) {
		return usagef("--metrics %s is not a loopback address: add --metrics-public to let other machines scrape it", *f.metrics)
	}
	return nil
}

// serveMetrics serves /metrics, /healthz and /readyz until ctx ends; the
// registry has the collectors given and the Go runtime's and the
// process's.
func (f serviceFlags) serveMetrics(ctx context.Context, e env, checks metrics.Checks, cs ...prometheus.Collector) error {
	if *f.metrics == "" {
		return nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cs...)
	l, err := net.Listen("tcp", *f.metrics)
	if err != nil {
		return fmt.Errorf("--metrics: %v\nSomething already listens there: pick another address (127.0.0.1:0 picks a free port)", err)
	}
	srv := &http.Server{Handler: metrics.Handler(reg, checks), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	context.AfterFunc(ctx, func() { srv.Close() })
	fmt.Fprintf(e.stdout, "Metrics: http://%s/metrics (probes: /healthz, /readyz)\n", l.Addr())
	return nil
}

// notify tells systemd (Type=notify) how the service stands, through the
// socket it names in NOTIFY_SOCKET; without one it does nothing.
func notify(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:] // an abstract socket
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}

// watchdogEvery is how often to tell systemd the service lives, when its
// unit asks for it (WatchdogSec): half the interval it gave, as sd_notify
// advises; 0 when it asks for none.
func watchdogEvery() time.Duration {
	var usec int64
	if _, err := fmt.Sscan(os.Getenv("WATCHDOG_USEC"), &usec); err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != fmt.Sprint(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// keepAlive sends WATCHDOG=1 while alive answers, until ctx ends: a
// wedged process stops sending and systemd restarts it.
func keepAlive(ctx context.Context, alive func() error) {
	every := watchdogEvery()
	if every == 0 {
		return
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if alive == nil || alive() == nil {
					notify("WATCHDOG=1")
				}
			}
		}
	}()
}
