package main

// Figure 6: push → decoded latency and CPU per frame for each output.

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testutil"
)

type outRow struct {
	output   string
	p50, p99 time.Duration
	n        int
	cpu      time.Duration // this process's CPU time per frame pushed
}

func figOutputs(tmp string) []outRow {
	secs := 10 * time.Second
	if *quick {
		secs = 4 * time.Second
	}
	sz := size{640, 360}
	fr := frames(sz, 30*int(secs.Seconds()+4))
	var rows []outRow

	relay := startRelay()
	rows = append(rows, outputLatency("RTSP (embedded server)", sz, fr, secs, relay.URL("lat"), func(ctx context.Context, got func(int, time.Time)) (*exec.Cmd, error) {
		if err := relay.WaitPublisher(ctx, "lat"); err != nil {
			return nil, err
		}
		return reader(ctx, relay.URL("lat"), sz, got)
	}, false))
	relay.Close()

	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_rtmp_module.so"); err == nil {
		dir, _ := os.MkdirTemp(tmp, "rtmp")
		srv, err := testutil.RunRTMP(dir)
		if err != nil {
			log.Fatal(err)
		}
		url := srv.URL + "/lat"
		rows = append(rows, outputLatency("RTMP (nginx-rtmp)", sz, fr, secs, url, func(ctx context.Context, got func(int, time.Time)) (*exec.Cmd, error) {
			// Without a short probe ffmpeg waits 5 s for an audio stream
			// that FLV's header does not rule out.
			return readerArgs(ctx, sz, got, "-probesize", "200000", "-analyzeduration", "500000", "-i", url)
		}, false))
		srv.Stop()
	} else {
		log.Printf("figure 6: no nginx RTMP module (make deps): RTMP left out")
	}

	port := freeUDPPort()
	rows = append(rows, outputLatency("SRT (caller → ffmpeg)", sz, fr, secs, fmt.Sprintf("srt://127.0.0.1:%d?latency=120", port),
		func(ctx context.Context, got func(int, time.Time)) (*exec.Cmd, error) {
			return readerArgs(ctx, sz, got, "-probesize", "200000", "-analyzeduration", "500000",
				"-i", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&latency=120000", port))
		}, true, port))

	port = freeUDPPort()
	rows = append(rows, outputLatency("UDP MPEG-TS (→ ffmpeg)", sz, fr, secs, fmt.Sprintf("udp://127.0.0.1:%d", port),
		func(ctx context.Context, got func(int, time.Time)) (*exec.Cmd, error) {
			return readerArgs(ctx, sz, got, "-probesize", "200000", "-analyzeduration", "500000",
				"-i", fmt.Sprintf("udp://127.0.0.1:%d?fifo_size=100000", port))
		}, true, port))
	return rows
}

func freeUDPPort() int {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// waitUDP waits until something has bound the UDP port.
func waitUDP(port int) {
	hex := fmt.Sprintf(":%04X ", port)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile("/proc/net/udp"); err == nil && strings.Contains(string(b), hex) {
			return
		}
	}
	log.Fatalf("figure 6: nothing bound UDP port %d", port)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// outputLatency pushes to addr for d and measures with the reader;
// readerFirst starts the reader before Setup (a listener the stream
// calls, or a UDP port), else once the first frame is out.
func outputLatency(name string, sz size, fr [][]byte, d time.Duration, addr string,
	start func(context.Context, func(int, time.Time)) (*exec.Cmd, error), readerFirst bool, udpPort ...int) outRow {
	rec := &latRec{pushed: map[int]time.Time{}}
	ctx, cancel := context.WithTimeout(context.Background(), d+20*time.Second)
	defer cancel()
	var rd *exec.Cmd
	var mu sync.Mutex
	startReader := func() {
		c, err := start(ctx, rec.got)
		if err != nil {
			log.Fatalf("figure 6: %s reader: %v", name, err)
		}
		mu.Lock()
		rd = c
		mu.Unlock()
	}
	if readerFirst {
		startReader()
		waitUDP(udpPort[0])
	}
	s := mpegserver.New()
	_ = s.SetParameter(mpegserver.Size(sz.w, sz.h), mpegserver.FrameAhead(1))
	if err := s.Setup(addr); err != nil {
		log.Fatalf("figure 6: %s: %v", name, err)
	}
	var once sync.Once
	cpu0 := cpuTime()
	stop := time.Now().Add(d)
	n := 0
	for ; time.Now().Before(stop) && n < len(fr); n++ {
		if err := s.ServeFrameBlock(fr[n]); err != nil {
			log.Fatalf("figure 6: %s: %v", name, err)
		}
		rec.push(n)
		if !readerFirst && n == 15 {
			once.Do(func() { go startReader() })
		}
	}
	cpu := cpuTime() - cpu0
	_ = s.Close()
	time.Sleep(500 * time.Millisecond) // let the reader drain what it decoded
	cancel()
	mu.Lock()
	if rd != nil {
		_ = rd.Wait()
	}
	mu.Unlock()
	row := latResult(name, sz, "1", rec)
	return outRow{output: name, p50: row.p50, p99: row.p99, n: row.n, cpu: cpu / time.Duration(max(n, 1))}
}
