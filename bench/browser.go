package main

// Figure 7: push → painted latency in Chromium over WebRTC, next to the
// RTSP reader's push → decoded at the same settings.

import (
	"bufio"
	"bytes"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

type browserRow struct {
	size          size
	p50, p99      time.Duration
	n             int
	lost, dropped int
	rtsp          latRow // the RTSP reader's figure at the same size, frames ahead 1
}

func figBrowser() []browserRow {
	secs := 10
	if *quick {
		secs = 4
	}
	// The measurement is a test of the webview package: it needs Chromium
	// and a network namespace of its own, which it sets up itself.
	lines, out := benchTest("7", "^TestBrowserLatency$", "BENCH-BROWSER ", "MPEGSERVER_BENCH_BROWSER="+strconv.Itoa(secs))
	var rows []browserRow
	for _, line := range lines {
		var r browserRow
		var p50, p99 float64
		if _, err := fmt.Sscanf(line, "BENCH-BROWSER %dx%d p50=%f p99=%f n=%d lost=%d dropped=%d",
			&r.size.w, &r.size.h, &p50, &p99, &r.n, &r.lost, &r.dropped); err != nil {
			log.Printf("figure 7: %q: %v", line, err)
			continue
		}
		r.p50, r.p99 = time.Duration(p50*float64(time.Millisecond)), time.Duration(p99*float64(time.Millisecond))
		log.Printf("figure 7: browser %v: p50 %v p99 %v (%d frames)", r.size, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.n)
		fr := frames(r.size, 30*(secs+4))
		r.rtsp = latencyLib(r.size, fr, 1, time.Duration(secs)*time.Second)
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		log.Printf("figure 7: no browser figures (skipped: %s)", strings.TrimSpace(out))
	}
	return rows
}

// benchTest runs tests of the webview package that print figures (they
// need Chromium, or a namespace of their own, which they set up) and
// returns their lines that start with prefix, from it on, and all they
// printed; none when they fail.
func benchTest(fig, run, prefix string, env ...string) (lines []string, out string) {
	cmd := exec.Command("go", "test", "-count=1", "-run", run, "-v", "./webview")
	cmd.Env = append(os.Environ(), env...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		log.Printf("figure %s: %s failed, left out: %v\n%s", fig, run, err, b.String())
		return nil, b.String()
	}
	sc := bufio.NewScanner(bytes.NewReader(b.Bytes()))
	for sc.Scan() {
		if i := strings.Index(sc.Text(), prefix); i >= 0 {
			lines = append(lines, sc.Text()[i:])
		}
	}
	return lines, b.String()
}
