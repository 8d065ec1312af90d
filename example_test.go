package mpegserver_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// A whole program: configure, set up, serve frames with the blocking call
// (it paces the loop at the frame rate), close. The embedded relay stands
// in for your RTSP server (mediamtx, or `mpegserver serve`).
func ExampleServer_ServeFrameBlock() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	s := mpegserver.New()
	if err := s.SetParameter(
		mpegserver.Size(1280, 720),      // output size
		mpegserver.SourceSize(640, 360), // size of the frames you serve
		mpegserver.FrameRate(30, 1),
		mpegserver.GOPSize(30),
	); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("video")); err != nil {
		log.Fatal(err) // errors.Is(err, mpegserver.ErrUnreachable) when no server answers
	}
	frame := make([]byte, 640*360*3) // packed RGB, row after row
	for i := 0; i < 30; i++ {
		// ... draw into frame ...
		if err := s.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil { // flushes every queued frame
		log.Fatal(err)
	}
	fmt.Println("pushed", s.Stats().Pushed)
	// Output: pushed 30
}

// The non-blocking call returns at once; WaitRef says how long to wait
// before the next frame so the stream stays at most FrameAhead frames
// ahead of play time.
func ExampleServer_WaitRef() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240), mpegserver.FrameAhead(2)); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("video")); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 320*240*3)
	for served := 0; served < 10; {
		err := s.ServeFrame(frame)
		switch {
		case err == nil:
			served++
		case !errors.Is(err, mpegserver.ErrQueueFull): // refused frames can be served again
			log.Fatal(err)
		}
		// ... the loop's other work ...
		time.Sleep(s.WaitRef())
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", s.Stats().Pushed)
	// Output: pushed 10
}

// The printed pipeline runs as it stands in a shell; the password is not
// printed.
func ExampleServer_LaunchLine() {
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Size(320, 240), mpegserver.GOPSize(10), mpegserver.BitRate(500))
	s.ResetPath("rtsp://user:secret@127.0.0.1:8554/cam")
	line, _ := s.LaunchLine()
	fmt.Println(line)
	// Output:
	// gst-launch-1.0 -e appsrc is-live=true format=time do-timestamp=false block=false max-buffers=22 min-percent=90 max-bytes=0 max-time=0 ! video/x-raw,format=I420,width=320,height=240,framerate=30/1,pixel-aspect-ratio=1/1,colorimetry=bt601 ! videoconvert n-threads=0 ! video/x-raw,format=I420,width=320,height=240,framerate=30/1,pixel-aspect-ratio=1/1 ! x264enc bitrate=512 key-int-max=10 bframes=0 threads=0 speed-preset=veryfast tune=zerolatency option-string=scenecut=0 ! h264parse config-interval=-1 ! rtspclientsink location="rtsp://127.0.0.1:8554/cam" protocols=tcp tcp-timeout=5000000 user-agent=mpegserver udp-reconnect=false user-id="user" user-pw="REDACTED"
}

// Parameters travel between processes as a map with the original names.
func ExampleServer_SetParameters() {
	s := mpegserver.New()
	err := s.SetParameters(map[string]any{
		"codecName": "libx265", "width": 1280, "height": 720, "frameRate": "5/1", "GOPSize": 12,
	})
	fmt.Println(err)
	w, _ := s.Parameter("width")
	ahead, _ := s.Parameter("ptsAhead")
	fmt.Println(w, s.Config().FrameRate, ahead)

	err = s.SetParameters(map[string]any{"width": "wide"})
	fmt.Println(errors.Is(err, mpegserver.ErrBadParameter))
	// Output:
	// <nil>
	// 1280 5/1 24
	// true
}

// One parameter by the original's name, in the original's units.
func ExampleServer_Parameter() {
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.FrameRate(30000, 1001), mpegserver.BitRate(1500))
	fps, _ := s.Parameter("frameRate")
	kbps, _ := s.Parameter("bitRate")
	format, _ := s.Parameter("formatName")
	fmt.Printf("%.3f fps, %v Kb/s, %s\n", fps, kbps, format)
	// Output: 29.970 fps, 1500 Kb/s, rtsp
}

func ExampleParseRational() {
	for _, s := range []string{"30", "30000/1001", "29.97", "12.5"} {
		r, _ := mpegserver.ParseRational(s)
		fmt.Printf("%s -> %s\n", s, r)
	}
	// Output:
	// 30 -> 30/1
	// 30000/1001 -> 30000/1001
	// 29.97 -> 30000/1001
	// 12.5 -> 25/2
}

func ExampleRedact() {
	fmt.Println(mpegserver.Redact("rtsp://admin:hunter2@cam.local:554/live"))
	// Output: rtsp://admin:REDACTED@cam.local:554/live
}

// Stream and record at once: one encoder, the same frames to the server
// and to a file. If the server goes away, the file goes on (an
// OutputFailed event says so) and Close reports the lost output.
func ExampleRecord() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()
	dir, err := os.MkdirTemp("", "record")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240), mpegserver.Record(filepath.Join(dir, "cam.mkv"))); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("cam")); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 320*240*3)
	for i := 0; i < 30; i++ {
		if err := s.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	for _, o := range s.Stats().Outputs {
		fmt.Println(filepath.Base(o.Address), o.Frames, o.Err)
	}
	// Output:
	// cam 30 <nil>
	// cam.mkv 30 <nil>
}
