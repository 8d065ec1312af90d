package main

// Figure 13: what an audio track costs: CPU per frame of a stream with a
// silent AAC track beside it, next to the same stream without, in paired
// runs in this process.

import (
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/mpegcoder-go/mpegserver"
)

type audioResult struct {
	without, with []float64 // CPU ms per frame, one a run
	packets       uint64    // audio RTP packets the relay got in the last run with audio
}

func figAudio() audioResult {
	secs, reps := 10*time.Second, 5
	if *quick {
		secs, reps = 3*time.Second, 2
	}
	sz := size{640, 360}
	fr := frames(sz, 30)
	log.Printf("figure 13: audio track, %d paired runs of %v at %v 30 fps", reps, secs, sz)
	var res audioResult
	for i := 0; i < reps; i++ {
		res.without = append(res.without, audioRun(sz, fr, secs, false, &res))
		res.with = append(res.with, audioRun(sz, fr, secs, true, &res))
	}
	log.Printf("figure 13: CPU/frame without audio %.3f ms, with a silent AAC track %.3f ms", median(res.without), median(res.with))
	return res
}

// audioRun streams for d to an embedded relay, paced by a producer at the
// frame rate, and returns this process's CPU per frame.
func audioRun(sz size, fr [][]byte, d time.Duration, audio bool, res *audioResult) float64 {
	relay := startRelay()
	defer relay.Close()
	opts := append(tpOptions(sz), mpegserver.FrameAhead(1))
	if audio {
		opts = append(opts, mpegserver.Audio(mpegserver.Silence()))
	}
	s := mpegserver.New()
	if err := s.SetParameter(opts...); err != nil {
		log.Fatal(err)
	}
	if err := s.Setup(relay.URL("audio")); err != nil {
		log.Fatal(err)
	}
	cpu, n := serveFor(s, fr, d)
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
	if audio {
		res.packets = relay.Info("audio").AudioPackets
	}
	return cpu * 1000 / float64(n)
}

func (r *report) audioSection() string {
	a := r.audio
	if len(a.with) == 0 {
		return ""
	}
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("## 13. What an audio track costs\n\n")
	w("The library streams 640×360 at 30 fps (x264 ultrafast, frames ahead 1) to the embedded relay over RTSP for a fixed time, in this process; ")
	w("with audio, `Audio(Silence())` adds a silent track the library makes itself: 48 kHz stereo, voaacenc at 128 kbit/s, a second RTP stream (%d audio packets reached the relay in the last run). ", a.packets)
	w("CPU is this process's (user + system) per frame pushed; runs alternate, without then with, and the median is reported.\n\n")
	without, with := median(a.without), median(a.with)
	w("| without audio | with a silent AAC track | difference |\n|---|---|---|\n")
	w("| %.3f ms (%s) | %.3f ms (%s) | %+.1f %% |\n\n", without, fmtMS(a.without), with, fmtMS(a.with), 100*(with-without)/without)
	return b.String()
}

func fmtMS(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(s, ", ")
}
