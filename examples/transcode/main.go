// Command transcode reads a video, draws on each frame, and pushes the
// result with the source's settings (size, frame rate, bit rate) copied,
// as the original's setParameter(decoder=...) did.
//
//	go run ./examples/transcode                           # testdata/clip.mp4 to an embedded RTSP server
//	go run ./examples/transcode -in cam.mp4 -to rtsp://host:8554/cam
//	go run ./examples/transcode -in rtsp://cam/live -to out.mkv -codec libx265
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

func main() {
	in := flag.String("in", "testdata/clip.mp4", "video file or stream URL to read")
	to := flag.String("to", "", "where to push: rtsp://..., or a file (empty: an embedded RTSP server on 127.0.0.1:8554)")
	codec := flag.String("codec", "", "encoder (empty: the default, libx264)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *to == "" {
		relay := &rtspserver.Server{Address: "127.0.0.1:8554"}
		if err := relay.Start(); err != nil {
			log.Fatal(err)
		}
		defer relay.Close()
		*to = relay.URL("video")
		fmt.Printf("watch it with:  ffplay -rtsp_transport tcp %s\n", *to)
	}
	n, err := transcode(ctx, *in, *to, *codec)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pushed %d frames\n", n)
}

// transcode copies in to out, frame by frame, drawing on each.
func transcode(ctx context.Context, in, out, codec string) (int64, error) {
	r, err := mpegserver.OpenReader(ctx, in, mpegserver.ReaderConfig{})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	src := r.Source()
	fmt.Printf("%s: %s %dx%d at %s fps\n", mpegserver.Redact(src.URI), src.Codec, src.Width, src.Height, src.FrameRate)

	s := mpegserver.New()
	opts := []mpegserver.Option{mpegserver.Decoder(r)}
	if codec != "" {
		opts = append(opts, mpegserver.Codec(codec)) // wins over anything copied
	}
	if err := s.SetParameter(opts...); err != nil {
		return 0, err
	}
	if err := s.Setup(out); err != nil {
		return 0, err
	}
	w, h := r.Size()
	frame := make([]byte, r.FrameSize())
	for i := 0; ctx.Err() == nil; i++ {
		err := r.Read(frame)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			s.Close()
			return s.Stats().Pushed, err
		}
		mark(frame, w, h, i)
		if err := s.ServeFrameBlock(frame); err != nil {
			s.Close()
			return s.Stats().Pushed, err
		}
	}
	err = s.Close() // flushes every frame
	return s.Stats().Pushed, err
}

// mark draws a white square that crosses the picture once a second-ish:
// the "work on the frame" of a real program.
func mark(frame []byte, w, h, i int) {
	side := max(h/8, 2)
	x0 := (i * 8) % max(w-side, 1)
	y0 := h - side - side/2
	for y := max(y0, 0); y < min(y0+side, h); y++ {
		for x := x0; x < min(x0+side, w); x++ {
			o := (y*w + x) * 3
			frame[o], frame[o+1], frame[o+2] = 255, 255, 255
		}
	}
}
