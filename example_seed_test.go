package mpegserver_test

// The examples of the original class's documentation, one by one, in Go.
// Each runs against the embedded relay; TestSeedExamples reads the same
// streams back.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// "Optimize the video encoding": copy a decoded video's settings and
// re-encode it with x265, GOP 24 and up to 16 B-frames. The original:
//
//	sev.setParameter(decoder=dec, codecName='libx265',
//	    videoAddress='rtsp://localhost:8554/video', GOPSize=24, maxBframe=16)
func ExampleDecoder() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	dec, err := mpegserver.OpenReader(context.Background(), "testdata/clip.mp4", mpegserver.ReaderConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer dec.Close()
	sev := mpegserver.New()
	if err := sev.SetParameters(map[string]any{
		"decoder": dec, "codecName": "libx265", "videoAddress": relay.URL("video"), "GOPSize": 24, "maxBframe": 16,
	}); err != nil {
		log.Fatal(err)
	}
	c := sev.Config()
	fmt.Printf("%dx%d at %s fps, GOP %d, %d B-frames, %d frames ahead\n", c.Width, c.Height, c.FrameRate, c.GOPSize, c.MaxBFrames, c.Ahead())
	if err := sev.Setup(""); err != nil { // "": the configured address
		log.Fatal(err)
	}
	frame := make([]byte, dec.FrameSize())
	for {
		err := dec.Read(frame)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		if err := sev.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := sev.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", sev.Stats().Pushed)
	// Output:
	// 320x240 at 30/1 fps, GOP 24, 16 B-frames, 48 frames ahead
	// pushed 60
}

// "Rescale and resample the video": a 1280×720 stream at 5 fps, a keyframe
// every 12 frames, encoded by x265. The original:
//
//	sev.setParameter(width=1280, height=720, frameRate=(5, 1), GOPSize=12,
//	    codecName='libx265', videoAddress='rtsp://localhost:8554/video')
func ExampleFrameRate() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	sev := mpegserver.New()
	if err := sev.SetParameter(mpegserver.Size(1280, 720), mpegserver.FrameRate(5, 1), mpegserver.GOPSize(12),
		mpegserver.Codec("libx265"), mpegserver.Address(relay.URL("video"))); err != nil {
		log.Fatal(err)
	}
	if err := sev.Setup(""); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 1280*720*3) // no source size given: frames are the output size
	for i := 0; i < 12; i++ {
		if err := sev.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := sev.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", sev.Stats().Pushed)
	// Output: pushed 12
}

// "Use multi-thread encoding": eight encoder threads. The original:
//
//	sev.setParameter(width=1280, height=720, GOPSize=12, nthread=8,
//	    videoAddress='rtsp://localhost:8554/video')
func ExampleThreads() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	sev := mpegserver.New()
	if err := sev.SetParameter(mpegserver.Size(1280, 720), mpegserver.GOPSize(12), mpegserver.Threads(8),
		mpegserver.Address(relay.URL("video"))); err != nil {
		log.Fatal(err)
	}
	if err := sev.Setup(""); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 1280*720*3)
	for i := 0; i < 24; i++ {
		if err := sev.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := sev.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", sev.Stats().Pushed)
	// Output: pushed 24
}

// "Configure the ahead frame number manually": 48 frames ahead with a GOP
// of 24, settings copied from a decoder. The original:
//
//	sev.setParameter(decoder=d, codecName='libx265',
//	    videoAddress='rtsp://localhost:8554/video', GOPSize=24, frameAhead=48)
func ExampleFrameAhead() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	d, err := mpegserver.OpenReader(context.Background(), "testdata/clip.mp4", mpegserver.ReaderConfig{})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	sev := mpegserver.New()
	// Options in Go; the decoder's settings lose to the others in the call.
	if err := sev.SetParameter(mpegserver.Decoder(d), mpegserver.Codec("libx265"), mpegserver.Address(relay.URL("video")),
		mpegserver.GOPSize(24), mpegserver.FrameAhead(48)); err != nil {
		log.Fatal(err)
	}
	if err := sev.Setup(""); err != nil {
		log.Fatal(err)
	}
	for {
		frame, err := d.ReadFrame()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		if err := sev.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	ahead, _ := sev.Parameter("frameAhead")
	if err := sev.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("frameAhead", ahead, "pushed", sev.Stats().Pushed)
	// Output: frameAhead 48 pushed 60
}

// Read a video's frames as packed RGB, as the original's MpegDecoder.
func ExampleOpenReader() {
	r, err := mpegserver.OpenReader(context.Background(), "testdata/clip.mp4", mpegserver.ReaderConfig{Width: 160, Height: 120})
	if err != nil {
		log.Fatal(err) // os.ErrNotExist, mpegserver.ErrNoVideo, mpegserver.ErrUnreachable
	}
	defer r.Close()
	frame := make([]byte, r.FrameSize())
	for {
		if err := r.Read(frame); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			log.Fatal(err)
		}
		// ... work on frame ...
	}
	src := r.Source()
	p := r.Parameters()
	fmt.Printf("%s %dx%d at %s fps, read %d frames at %vx%v\n", src.Codec, src.Width, src.Height, src.FrameRate, r.Frames(), p["widthDst"], p["heightDst"])
	// Output: h264 320x240 at 30/1 fps, read 60 frames at 160x120
}
