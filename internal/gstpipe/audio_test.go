package gstpipe

import (
	"strings"
	"testing"
	"time"
)

const audioCaps = "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1"

// avSpec is video and audio into one MPEG-TS muxer: the video drains at
// the queue after its parser, the audio at its queue.
func avSpec() Spec {
	return Spec{
		Elements: appsrcChain(Element{Factory: "x264enc", Props: []Prop{{Name: "tune", Value: "zerolatency"}}},
			Element{Factory: "h264parse"}, Element{Factory: "queue"}, Element{Factory: "mpegtsmux"}, Element{Factory: "fakesink"}),
		SourceCaps: caps, CountAt: 2, DrainAt: 3,
		Audio: []Element{{Factory: "appsrc", Props: []Prop{{Name: "format", Value: "time"}}}, {Factory: "queue"},
			{Factory: "audioconvert"}, {Factory: "voaacenc"}, {Factory: "aacparse"}},
		AudioCaps: audioCaps, AudioJoins: []Join{{First: 1, End: 5, Into: 4}}, AudioDrainAt: 1,
	}
}

// TestAudioSpecErrors: a bad audio part is refused by name.
func TestAudioSpecErrors(t *testing.T) {
	for name, mod := range map[string]func(*Spec){
		"no appsrc":       func(s *Spec) { s.Audio[0].Factory = "audiotestsrc" },
		"no join":         func(s *Spec) { s.AudioJoins = nil },
		"into nothing":    func(s *Spec) { s.AudioJoins[0].Into = 9 },
		"join past end":   func(s *Spec) { s.AudioJoins[0].End = 6 },
		"drain past end":  func(s *Spec) { s.AudioDrainAt = 5 },
		"nothing shared":  func(s *Spec) { s.AudioJoins[0].First = 0 },
		"empty of two":    func(s *Spec) { s.AudioJoins = []Join{{First: 1, End: 1, Into: 4}, {First: 1, End: 5, Into: 4}} },
		"bad caps":        func(s *Spec) { s.AudioCaps = "not caps" },
		"cannot link":     func(s *Spec) { s.AudioJoins[0].Pad = "nosuchpad" },
		"no such element": func(s *Spec) { s.Audio[2].Factory = "nosuchelement" },
	} {
		s := avSpec()
		mod(&s)
		p, err := Build(s, func(bool) {})
		if err == nil {
			p.Release()
			t.Errorf("%s: built", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestAudioDrains: EventDrained waits for both tracks' end-of-stream;
// samples and silence are timed in appsrc's queue; element numbers go on
// into the audio chain.
func TestAudioDrains(t *testing.T) {
	s := avSpec()
	s.OnAudioFlow = func(bool) {} // its handle is released with the pipeline
	p, err := Build(s, func(bool) {})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	if !p.HasAudio() || !strings.HasPrefix(p.ElementName(len(s.Elements)+3), "voaacenc") {
		t.Fatalf("audio %v, element %d is %s", p.HasAudio(), len(s.Elements)+3, p.ElementName(len(s.Elements)+3))
	}
	events := make(chan Event, 64)
	if err := p.Start(func(e Event) { events <- e }); err != nil {
		t.Fatal(err)
	}
	f := rgbFrame(64, 48)
	for i := 0; i < 30; i++ {
		if err := p.Push(f, time.Duration(i)*time.Second/30, time.Second/30, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	pcm := make([]byte, 1600*2)
	if err := p.PushAudio(pcm, 0, 0, time.Second/30, 0, 1600); err != nil {
		t.Fatal(err)
	}
	if err := p.PushAudio(nil, 28400*2, time.Second/30, 29*time.Second/30, 1600, 30000); err != nil {
		t.Fatal(err)
	}
	p.EndOfStream()
	// Only the video has ended: no drained yet.
	select {
	case e := <-events:
		if e.Kind == EventDrained || e.Kind == EventEOS || e.Kind == EventError {
			t.Fatalf("%v before the audio's end: %s %s", e.Kind, e.Source, e.Message)
		}
	case <-time.After(300 * time.Millisecond):
	}
	p.AudioEndOfStream()
	timeout := time.After(10 * time.Second)
	for drained := false; !drained; {
		select {
		case e := <-events:
			switch e.Kind {
			case EventDrained:
				drained = true
			case EventError:
				t.Fatalf("error: %s: %s", e.Source, e.Message)
			}
		case <-timeout:
			t.Fatal("not drained 10 s after both ends")
		}
	}
	if err := p.PushAudio(pcm, 0, time.Second, time.Second/30, 30000, 31600); err != ErrFlushing {
		t.Errorf("samples after the end: %v, want ErrFlushing", err)
	}
	p.Release()
	if err := p.PushAudio(pcm, 0, time.Second, time.Second/30, 30000, 31600); err != ErrFlushing || p.AudioQueued() != 0 {
		t.Errorf("after Release: %v, queued %v", err, p.AudioQueued())
	}
}
