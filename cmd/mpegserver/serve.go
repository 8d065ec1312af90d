package main

import (
	"fmt"

	"github.com/mpegcoder-go/mpegserver/metrics"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

func runServe(e env, args []string) error {
	fs := newFlagSet(e, "serve", "[flags]", "Runs the embedded RTSP server until Ctrl-C: publish to rtsp://LISTEN/PATH\n"+
		"(mpegserver push, ffmpeg -f rtsp, GStreamer's RTSP sink) and read from the same address.")
	listen := fs.String("listen", "127.0.0.1:8554", "address to listen on (0.0.0.0:8554 to accept other machines)")
	quiet := fs.Bool("quiet", false, "do not log connections and streams")
	web := addWebFlags(fs)
	svc := addServiceFlags(fs, false)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", pos[0])
	}
	if err := checkListen("--listen", *listen); err != nil {
		return err
	}
	if err := svc.check(); err != nil {
		return err
	}
	logger, err := svc.logger(e.stderr, *quiet)
	if err != nil {
		return err
	}
	relay := &rtspserver.Server{Address: *listen}
	relay.Logf = func(format string, args ...any) { logger.Info(fmt.Sprintf(format, args...)) }
	if err := relay.Start(); err != nil {
		return err
	}
	defer relay.Close()
	view, err := web.start(e, fs, relay, relay.Logf)
	if err != nil {
		return err
	}
	defer view.Close()
	if view.s != nil {
		fmt.Fprintf(e.stdout, "Watch in a browser: %s\n", view.url("video"))
	}
	// Alive while the relay answers; ready once it listens.
	alive := func() error { _ = relay.Paths(); return nil }
	if err := svc.serveMetrics(e.ctx, e, metrics.Checks{Alive: alive}, metrics.NewRelayCollector(relay, view.s)); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "RTSP server on rtsp://%s (TCP)\n  publish: mpegserver push rtsp://%[1]s/video\n  watch:   ffplay -rtsp_transport tcp rtsp://%[1]s/video\nCtrl-C stops it.\n", relay.Addr())
	notify("READY=1\nSTATUS=serving on " + relay.Addr())
	keepAlive(e.ctx, alive)
	<-e.ctx.Done()
	notify("STOPPING=1")
	fmt.Fprintln(e.stdout, "stopping")
	return nil
}
