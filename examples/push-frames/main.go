// Command push-frames serves a moving pattern drawn in Go with the blocking
// call: ServeFrameBlock paces the loop at the frame rate by itself.
//
//	go run ./examples/push-frames                      # starts its own RTSP server
//	go run ./examples/push-frames -addr rtsp://host:8554/cam
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

func main() {
	addr := flag.String("addr", "", "RTSP address to push to (empty: start an embedded server on 127.0.0.1:8554)")
	duration := flag.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	flag.Parse()

	if *addr == "" {
		relay := &rtspserver.Server{Address: "127.0.0.1:8554"}
		if err := relay.Start(); err != nil {
			log.Fatal(err)
		}
		defer relay.Close()
		*addr = relay.URL("video")
	}
	fmt.Printf("pushing to %s\nwatch it with:  ffplay -rtsp_transport tcp %s\n", *addr, *addr)

	const w, h = 640, 360
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(w, h), mpegserver.FrameRate(30, 1)); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(*addr); err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	var deadline <-chan time.Time
	if *duration > 0 {
		deadline = time.After(*duration)
	}
	frame := make([]byte, w*h*3)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-deadline:
			return
		default:
		}
		draw(frame, w, h, i)
		if err := s.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
}

// draw paints diagonal colour bands and a white square moving across.
func draw(b []byte, w, h, i int) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			o := (y*w + x) * 3
			b[o], b[o+1], b[o+2] = byte(x+i*2), byte(y+i), byte(x+y)
		}
	}
	x0, y0 := (i*4)%(w-60), h/2-30
	for y := y0; y < y0+60; y++ {
		for x := x0; x < x0+60; x++ {
			o := (y*w + x) * 3
			b[o], b[o+1], b[o+2] = 255, 255, 255
		}
	}
}
