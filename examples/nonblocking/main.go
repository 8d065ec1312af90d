// Command nonblocking serves frames with the non-blocking call and paces
// itself with WaitRef, for programs whose loop must never block in the
// library (a control loop, a simulation step).
//
//	go run ./examples/nonblocking -addr rtsp://127.0.0.1:8554/video
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

func main() {
	addr := flag.String("addr", "", "RTSP address (empty: start an embedded server)")
	frames := flag.Int("frames", 150, "frames to serve")
	flag.Parse()
	if *addr == "" {
		relay := &rtspserver.Server{}
		if err := relay.Start(); err != nil {
			log.Fatal(err)
		}
		defer relay.Close()
		*addr = relay.URL("video")
	}

	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Size(320, 240), mpegserver.FrameAhead(5))
	if err := s.Setup(*addr); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 320*240*3)
	start := time.Now()
	for i := 0; i < *frames; i++ {
		for j := range frame {
			frame[j] = byte(i + j%320)
		}
		err := s.ServeFrame(frame) // returns at once
		if errors.Is(err, mpegserver.ErrQueueFull) {
			i-- // refused: nothing was queued; wait and serve it again
		} else if err != nil {
			log.Fatal(err)
		}
		// The other work of the loop would go here; then wait as long as
		// the library says the stream is ahead.
		time.Sleep(s.WaitRef())
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	st := s.Stats()
	fmt.Printf("%d frames in %v (%.1f fps), refused %d, most ahead %d\n", st.Pushed,
		time.Since(start).Round(time.Millisecond), float64(st.Pushed)/time.Since(start).Seconds(), st.Refused, st.MaxAhead)
}
