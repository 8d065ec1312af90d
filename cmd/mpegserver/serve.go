package main

import (
	"fmt"
	"log"

	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

func runServe(e env, args []string) error {
	fs := newFlagSet(e, "serve", "[flags]", "Runs the embedded RTSP server until Ctrl-C: publish to rtsp://LISTEN/PATH\n"+
		"(mpegserver push, ffmpeg -f rtsp, GStreamer's RTSP sink) and read from the same address.")
	listen := fs.String("listen", "127.0.0.1:8554", "address to listen on (0.0.0.0:8554 to accept other machines)")
	quiet := fs.Bool("quiet", false, "do not log connections and streams")
	web := addWebFlags(fs)
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
	relay := &rtspserver.Server{Address: *listen}
	if !*quiet {
		relay.Logf = log.New(e.stderr, "", log.LstdFlags).Printf
	}
	if err := relay.Start(); err != nil {
		return err
	}
	defer relay.Close()
	view, err := web.start(e, fs, relay, *quiet)
	if err != nil {
		return err
	}
	defer view.Close()
	if view.s != nil {
		fmt.Fprintf(e.stdout, "Watch in a browser: %s\n", view.url("video"))
	}
	fmt.Fprintf(e.stdout, "RTSP server on rtsp://%s (TCP)\n  publish: mpegserver push rtsp://%[1]s/video\n  watch:   ffplay -rtsp_transport tcp rtsp://%[1]s/video\nCtrl-C stops it.\n", relay.Addr())
	<-e.ctx.Done()
	fmt.Fprintln(e.stdout, "stopping")
	return nil
}
