package mpegserver_test

import (
	"encoding/binary"
	"fmt"
	"log"
	"math"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// Frames and the sound that goes with them, served in step: for each
// frame, its 1/30 s of samples (mono, 48 kHz, signed 16-bit little-endian),
// here a 440 Hz tone. They play in step at the receiver; the track is AAC
// on RTSP and RTMP (Opus in a .webm file).
func ExampleServer_ServeAudioBlock() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240), mpegserver.FrameRate(30, 1),
		mpegserver.Audio(mpegserver.Samples(48000, 1))); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("video")); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 320*240*3)
	samples := make([]byte, 48000/30*2) // one frame's worth: 1600 samples of 2 bytes
	for i := 0; i < 30; i++ {
		// ... draw frame i ...
		for k := 0; k < 1600; k++ {
			v := 8000 * math.Sin(2*math.Pi*440*float64(i*1600+k)/48000)
			binary.LittleEndian.PutUint16(samples[2*k:], uint16(int16(v)))
		}
		if err := s.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
		if err := s.ServeAudioBlock(samples); err != nil { // paced like the frames
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	st := s.Stats()
	fmt.Println("pushed", st.Pushed, "frames and", st.AudioServed, "of sound")
	// Output: pushed 30 frames and 1s of sound
}

// A silent track, for servers and platforms that refuse a stream
// without audio (YouTube, Facebook): the library makes it, as long as
// the frames.
func ExampleSilence() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240), mpegserver.Audio(mpegserver.Silence())); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("video")); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 320*240*3)
	for i := 0; i < 15; i++ {
		if err := s.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Stats().AudioFilled, "of silence beside", s.Stats().Pushed, "frames")
	// Output: 500ms of silence beside 15 frames
}
