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
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestBrowserLatency$", "-v", "./webview")
	cmd.Env = append(os.Environ(), "MPEGSERVER_BENCH_BROWSER="+strconv.Itoa(secs))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log.Printf("figure 7: browser test failed, left out: %v\n%s", err, out.String())
		return nil
	}
	var rows []browserRow
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "BENCH-BROWSER ")
		if i < 0 {
			continue
		}
		var r browserRow
		var p50, p99 float64
		if _, err := fmt.Sscanf(line[i:], "BENCH-BROWSER %dx%d p50=%f p99=%f n=%d lost=%d dropped=%d",
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
		log.Printf("figure 7: no browser figures (skipped: %s)", strings.TrimSpace(out.String()))
	}
	return rows
}
