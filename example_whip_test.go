package mpegserver_test

import (
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

// Publishing over WebRTC to a WHIP server (here mediamtx's endpoint for
// the path cam, on this machine) with a bearer token; a token with
// characters a URL reserves goes in escaped (url.User does it). Not run
// as a test: it needs the server.
func Example_whip() {
	token := os.Getenv("WHIP_TOKEN")
	addr := "whip+http://" + url.User(token).String() + "@127.0.0.1:8889/cam/whip"
	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(1280, 720), mpegserver.Reconnect(true)); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(addr); err != nil {
		if errors.Is(err, mpegserver.ErrUnauthorized) {
			log.Fatal("the server refused the token: ", err) // the token is never in err
		}
		log.Fatal(err)
	}
	defer s.Close() // DELETEs the WHIP session
	outs, _ := s.Outputs()
	fmt.Println("watch:", outs[0].Watch) // mediamtx's page and WHEP endpoint
}

// Viewers of the embedded server start at once: when one joins (an RTSP
// reader, a browser viewer of the webview package), the relay says so and
// the publisher asks its encoder for a keyframe instead of letting the
// viewer wait up to a GOP.
func ExampleServer_RequestKeyframe() {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	defer relay.Close()

	s := mpegserver.New()
	if err := s.SetParameter(mpegserver.Size(320, 240), mpegserver.GOPSize(300)); err != nil {
		log.Fatal(err)
	}
	relay.OnKeyframeWanted(func(path string) {
		if path == "video" {
			s.RequestKeyframe() // merged: at most one extra keyframe per KeyframeInterval
		}
	})
	if err := s.Setup(relay.URL("video")); err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, 320*240*3)
	for i := 0; i < 10; i++ {
		if err := s.ServeFrameBlock(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("pushed", s.Stats().Pushed)
	// Output: pushed 10
}
