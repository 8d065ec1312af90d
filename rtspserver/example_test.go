package rtspserver_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// A relay on a free loopback port, a library stream published to it, and
// what the relay counted once the publisher left.
func Example() {
	relay := &rtspserver.Server{} // 127.0.0.1, a port the kernel picks
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240)); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("cam")); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 320*240*3)
	for i := 0; i < 10; i++ {
		if err := s.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil { // flushes every frame to the relay
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := relay.WaitUnpublished(ctx, "cam"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("frames received:", relay.Info("cam").Frames)
	// Output: frames received: 10
}
