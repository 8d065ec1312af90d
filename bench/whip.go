package main

// Figure 9: publishing over WebRTC (WHIP), and time to the first frame.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

type whipResult struct {
	latency []outRow  // push → decoded through mediamtx, per path
	ttff    []ttffRow // time to the first frame
	skipped string    // why the figure is empty
}

type ttffRow struct {
	who      string
	p50, max float64 // ms
	n        int
}

func figWHIP(tmp string) whipResult {
	secs := 10 * time.Second
	if *quick {
		secs = 4 * time.Second
	}
	var res whipResult
	bin, err := testutil.FindMediaMTX()
	if err != nil {
		res.skipped = "mediamtx not available: " + err.Error()
		log.Printf("figure 9: %s", res.skipped)
	} else {
		sz := size{640, 360}
		fr := frames(sz, 30*int(secs.Seconds()+4))
		for _, path := range []string{"WHIP → mediamtx → WHEP reader", "RTSP → mediamtx → RTSP reader"} {
			dir, _ := os.MkdirTemp(tmp, "mediamtx")
			m, err := testutil.RunMediaMTX(bin, dir, testutil.MediaMTXOptions{WebRTC: true})
			if err != nil {
				log.Fatalf("figure 9: %v", err)
			}
			whip := strings.HasPrefix(path, "WHIP")
			addr := m.RTSPURL("lat")
			if whip {
				addr = m.WHIP("lat", "")
			}
			res.latency = append(res.latency, outputLatency(path, sz, fr, secs, addr, func(ctx context.Context, got func(int, time.Time)) (*exec.Cmd, error) {
				return readAUs(ctx, sz, got, func(au func([][]byte)) (func(), error) {
					if whip {
						return whepAUs(m.WHEP("lat"), au)
					}
					return rtspAUs(m.RTSPURL("lat"), au)
				})
			}, false))
			m.Stop()
		}
	}
	res.ttff = ttffFigures()
	return res
}

// readAUs decodes access units with ffmpeg, fed as an H.264 byte stream
// through a pipe from the first keyframe on; each is followed by an
// access unit delimiter, so that ffmpeg's parser knows the frame is whole
// without waiting for the next one (a frame period). Both paths of the
// figure decode the same way.
func readAUs(ctx context.Context, sz size, got func(int, time.Time), open func(func([][]byte)) (func(), error)) (*exec.Cmd, error) {
	pr, pw := io.Pipe()
	// No probing: the codec is known, and ffmpeg would otherwise hold
	// seconds of a pipe before its first frame.
	cmd, err := readerStdin(ctx, sz, got, pr, "-probesize", "32", "-analyzeduration", "0", "-f", "h264", "-i", "pipe:0")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	w := bufio.NewWriter(pw)
	started := false
	closeReader, err := open(func(au [][]byte) {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range au {
			switch t := n[0] & 0x1f; {
			case t == 7:
				started = true // from the first keyframe's parameter sets on
			case t == 9:
				continue // the server's delimiters: ours follow each unit
			}
			if started {
				_, _ = w.Write([]byte{0, 0, 0, 1})
				_, _ = w.Write(n)
			}
		}
		if started {
			_, _ = w.Write([]byte{0, 0, 0, 1, 9, 0xf0})
			_ = w.Flush()
		}
	})
	if err != nil {
		pw.Close()
		return nil, err
	}
	go func() { <-ctx.Done(); closeReader(); pw.Close() }()
	return cmd, nil
}

// whepAUs plays a WHEP endpoint (pion, loopback only).
func whepAUs(endpoint string, au func([][]byte)) (func(), error) {
	p, res, err := testutil.PlayWHEP(endpoint, func(a [][]byte, _ time.Time) { au(a) })
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("WHEP %s: %s", endpoint, res.Status)
	}
	return func() { _ = p.PC.Close() }, nil
}

// rtspAUs plays an RTSP path over TCP (gortsplib, as mediamtx's RTSP
// readers do).
func rtspAUs(url string, au func([][]byte)) (func(), error) {
	u, err := base.ParseURL(url)
	if err != nil {
		return nil, err
	}
	tcp := gortsplib.ProtocolTCP
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Protocol: &tcp}
	if err := c.Start(); err != nil {
		return nil, err
	}
	desc, _, err := c.Describe(u)
	var forma *format.H264
	if err == nil {
		if medi := desc.FindFormat(&forma); medi == nil {
			err = fmt.Errorf("no H.264 at %s", url)
		} else if dec, derr := forma.CreateDecoder(); derr != nil {
			err = derr
		} else if _, err = c.Setup(desc.BaseURL, medi, 0, 0); err == nil {
			c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
				if a, err := dec.Decode(pkt); err == nil {
					au(a)
				}
			})
			_, err = c.Play(nil)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c.Close, nil
}

// ttffFigures runs the webview package's time-to-first-frame tests
// (a WHEP player in Go, Chromium in a namespace of its own) and reads
// their BENCH-TTFF lines.
func ttffFigures() []ttffRow {
	lines, _ := benchTest("9", "^(TestFirstFrameAtOnce|TestBrowserFirstFrame)$", "BENCH-TTFF ")
	var rows []ttffRow
	for _, line := range lines {
		var r ttffRow
		if _, err := fmt.Sscanf(line, "BENCH-TTFF %s p50=%f max=%f n=%d", &r.who, &r.p50, &r.max, &r.n); err != nil {
			log.Printf("figure 9: %q: %v", line, err)
			continue
		}
		log.Printf("figure 9: first frame, %s: p50 %.0f ms, max %.0f ms (%d)", r.who, r.p50, r.max, r.n)
		rows = append(rows, r)
	}
	return rows
}

func (r *report) whipSection() string {
	x := r.whip
	if len(x.latency) == 0 && len(x.ttff) == 0 && x.skipped == "" {
		return ""
	}
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("## 9. WebRTC publishing (WHIP) and time to the first frame\n\n")
	if x.skipped != "" {
		w("Latency left out: %s.\n\n", x.skipped)
	}
	if len(x.latency) > 0 {
		w("The library publishes the test pattern at 640×360, 30 fps (x264 veryfast, zerolatency, GOP 30, frames ahead 1) to mediamtx v1.20.1 on loopback, ")
		w("by WHIP (H.264 constrained baseline over a pion peer connection) or by RTSP; a reader in this process takes the stream back from the same mediamtx, ")
		w("by WHEP (pion) or RTSP (gortsplib), and both hand the access units to the same ffmpeg decoding from a pipe. ")
		w("Latency is push → decoded, frames before index 60 left out. CPU per frame is this process's (encoding, the peer connection or the RTSP sink, and the reader) over the frames pushed.\n\n")
		w("**Goal:** WHIP → mediamtx → WHEP reader p50 ≤ 80 ms.\n\n")
		w("| path | p50 | p99 | frames | CPU per frame |\n|---|---|---|---|---|\n")
		for _, o := range x.latency {
			w("| %s | **%s** | %s | %d | %s |\n", o.output, ms(o.p50), ms(o.p99), o.n, ms(o.cpu))
		}
		w("\n")
	}
	if len(x.ttff) > 0 {
		w("Time to the first frame with the embedded server, the publisher at GOP 300 (10 s): a viewer that joins asks the publisher's encoder for a keyframe (at most one extra per %v), so it does not wait for the GOP's next one. ", mpegserver.KeyframeInterval)
		w("`whep`: a WHEP player in Go joins ten times at random phases, from the answer to its first whole frame. `browser`: Chromium opens the page in a new tab ten times, from the navigation's start to the first painted frame.\n\n")
		w("**Goal:** WHEP answer → first frame ≤ 150 ms at any phase; Chromium navigation → first painted frame p50 ≤ 300 ms.\n\n")
		w("| viewer | p50 | max | joins |\n|---|---|---|---|\n")
		for _, t := range x.ttff {
			w("| %s | **%.0f ms** | %.0f ms | %d |\n", t.who, t.p50, t.max, t.n)
		}
		w("\n")
	}
	return b.String()
}
