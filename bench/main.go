// Command bench measures the library against gst-launch-1.0 and ffmpeg on
// the same frames, and writes docs/benchmarks.md with a PNG chart.
//
//	go run ./bench            # every figure, about 15 minutes on 2 cores
//	go run ./bench -quick     # shorter runs, for a smoke test
//
// Figures: 1 throughput (unpaced, to /dev/null), 2 blocking pacing, 3
// latency push→decoded through the embedded RTSP server, 4 memory, 5 how
// many real-time streams one process holds, 6 each network output, 7 the
// browser, 8 what metrics cost, 9 WHIP and the time to a first frame, 10
// CPU per frame against x264enc alone, 11 the converter alone, 12 the
// Reader against ffmpeg, 13 what an audio track costs. Frames are drawn
// before any timing starts and every contender gets the same ones.
// -figures runs some of them and rewrites only their sections of the
// report.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testpattern"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

var (
	quick   = flag.Bool("quick", false, "shorter runs (a smoke test; figures are rougher)")
	reps    = flag.Int("reps", 9, "repetitions per throughput contender (the median is reported)")
	outMD   = flag.String("out", "docs/benchmarks.md", "where to write the report")
	outPNG  = flag.String("chart", "docs/img/benchmarks.png", "where to write the chart")
	figures = flag.String("figures", "1,2,3,4,5,6,7,8,9,10,11,12,13", "which figures to run (the report keeps the others' sections as they were)")
)

type size struct{ w, h int }

func (s size) String() string { return fmt.Sprintf("%dx%d", s.w, s.h) }

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime)
	if *child != "" {
		runChild()
		return
	}
	tmp, err := os.MkdirTemp("", "mpegserver-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	r := &report{machine: machineInfo(), load: loadAverage(), date: time.Now().UTC().Format("2006-01-02 15:04 MST"), quick: *quick}
	want := func(n string) bool { return strings.Contains(","+*figures+",", ","+n+",") }
	if want("1") {
		r.throughput = figThroughput(tmp)
	}
	if want("2") {
		r.pacing = figPacing()
	}
	if want("3") {
		r.latency = figLatency()
	}
	if want("4") {
		r.memory = figMemory()
	}
	if want("5") {
		r.scale, r.scaleWindow = figScale(), scaleWindow()
	}
	if want("6") {
		r.outputs = figOutputs(tmp)
	}
	if want("7") {
		r.browser = figBrowser()
	}
	if want("8") {
		r.metrics = figMetrics()
	}
	if want("9") {
		r.whip = figWHIP(tmp)
	}
	if want("10") {
		r.bare, r.bareStart = figBare(tmp)
	}
	if want("11") {
		r.conv, r.convSizes = figConverter()
	}
	if want("12") {
		r.read = figReader(tmp)
	}
	if want("13") {
		r.audio = figAudio()
	}
	md := r.markdown(filepath.ToSlash(relTo(*outMD, *outPNG)))
	if old, err := os.ReadFile(*outMD); err == nil {
		md = mergeReport(string(old), md, *figures)
	}
	fmt.Print(md)
	if err := os.MkdirAll(filepath.Dir(*outMD), 0o755); err == nil {
		err = os.WriteFile(*outMD, []byte(md), 0o644)
		if err != nil {
			log.Fatal(err)
		}
	}
	if len(r.throughput) > 0 {
		if err := writeChart(*outPNG, r); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("wrote %s and %s", *outMD, *outPNG)
}

func relTo(md, png string) string {
	rel, err := filepath.Rel(filepath.Dir(md), png)
	if err != nil {
		return png
	}
	return rel
}

// frames draws n distinct test-pattern frames.
func frames(sz size, n int) [][]byte {
	out := make([][]byte, n)
	t := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = make([]byte, sz.w*sz.h*3)
		testpattern.Draw(out[i], sz.w, sz.h, i, t.Add(time.Duration(i)*time.Second/30))
	}
	return out
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	i := int(p * float64(len(s)-1))
	return s[i]
}

func run(name string, args ...string) (time.Duration, error) {
	u, err := runUsage(name, args...)
	return u.wall, err
}

// ---- figure 1: throughput ----

type tpRow struct {
	size                  size
	lib, gst, ffmpeg      float64 // median fps
	libAll, gstAll, ffAll []float64
	allocs                float64 // Go allocations per ServeFrameBlock
}

const tpFrames = 300

func tpOptions(sz size) []mpegserver.Option {
	return []mpegserver.Option{mpegserver.Size(sz.w, sz.h), mpegserver.Preset("ultrafast"), mpegserver.BitRate(4000),
		mpegserver.GOPSize(30), mpegserver.MaxBFrames(0), mpegserver.FrameRate(30, 1)}
}

func figThroughput(tmp string) []tpRow {
	sizes := []size{{640, 360}, {1280, 720}, {1920, 1080}}
	var rows []tpRow
	for _, sz := range sizes {
		log.Printf("figure 1: %v, drawing %d frames", sz, tpFrames)
		fr := frames(sz, tpFrames)
		raw := filepath.Join(tmp, "frames-"+sz.String()+".rgb")
		f, err := os.Create(raw)
		if err != nil {
			log.Fatal(err)
		}
		for _, b := range fr {
			f.Write(b)
		}
		// Written back before timing, so no contender reads while the
		// kernel is still flushing 1.9 GB of dirty pages.
		if err := f.Sync(); err != nil {
			log.Fatal(err)
		}
		f.Close()
		row := tpRow{size: sz}
		// The gst-launch contender runs the library's own pipeline, with
		// appsrc replaced by a file source and videoconvert, which turns
		// the file's RGB into the I420 the library converts to itself as
		// it copies a frame in.
		s := mpegserver.New()
		_ = s.SetParameter(tpOptions(sz)...)
		s.ResetPath("/dev/null")
		line, err := s.LaunchLine()
		if err != nil {
			log.Fatal(err)
		}
		i, j := strings.Index(line, "appsrc"), strings.Index(line, " ! ")
		gstLine := line[:i] + fmt.Sprintf("filesrc location=%s blocksize=%d ! rawvideoparse width=%d height=%d format=rgb framerate=30/1 ! videoconvert n-threads=0", raw, sz.w*sz.h*3, sz.w, sz.h) + line[j:]
		ffArgs := []string{"-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", sz.String(), "-r", "30", "-i", raw,
			"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-b:v", "4096k", "-g", "30",
			"-keyint_min", "30", "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p", "-f", "h264", "/dev/null"}
		// One untimed run of each warms the page cache and the plugin
		// registry, so the first timed run is not an outlier.
		if _, err := libEncode(sz, fr); err != nil {
			log.Fatal(err)
		}
		if _, err := run("sh", "-c", "exec "+gstLine); err != nil {
			log.Fatal(err)
		}
		if _, err := run("ffmpeg", ffArgs...); err != nil {
			log.Fatal(err)
		}
		for r := 0; r < *reps; r++ {
			// Interleave contenders so drift in machine load hits all alike.
			d, err := libEncode(sz, fr)
			if err != nil {
				log.Fatal(err)
			}
			row.libAll = append(row.libAll, tpFrames/d.Seconds())
			d, err = run("sh", "-c", "exec "+gstLine)
			if err != nil {
				log.Fatal(err)
			}
			row.gstAll = append(row.gstAll, tpFrames/d.Seconds())
			d, err = run("ffmpeg", ffArgs...)
			if err != nil {
				log.Fatal(err)
			}
			row.ffAll = append(row.ffAll, tpFrames/d.Seconds())
		}
		row.lib, row.gst, row.ffmpeg = median(row.libAll), median(row.gstAll), median(row.ffAll)
		row.allocs = allocsPerFrame(sz, fr)
		log.Printf("figure 1: %v: library %.1f fps, gst-launch %.1f, ffmpeg %.1f; %.2f allocs/frame", sz, row.lib, row.gst, row.ffmpeg, row.allocs)
		os.Remove(raw)
		rows = append(rows, row)
	}
	return rows
}

// libEncode times Setup, every frame and Close: what a program pays.
func libEncode(sz size, fr [][]byte) (time.Duration, error) {
	t0 := time.Now()
	s := mpegserver.New()
	if err := s.SetParameter(tpOptions(sz)...); err != nil {
		return 0, err
	}
	if err := s.Setup("/dev/null"); err != nil {
		return 0, err
	}
	for _, b := range fr {
		if err := s.ServeFrameBlock(b); err != nil {
			return 0, err
		}
	}
	if err := s.Close(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func allocsPerFrame(sz size, fr [][]byte) float64 {
	s := mpegserver.New()
	_ = s.SetParameter(tpOptions(sz)...)
	if err := s.Setup("/dev/null"); err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	i := 0
	return testing.AllocsPerRun(100, func() {
		_ = s.ServeFrameBlock(fr[i%len(fr)])
		i++
	})
}

// ---- figure 2: pacing ----

type pacingResult struct {
	seconds            float64
	frames             int
	rate, rateErr      float64
	p50, p99, maxGap   time.Duration
	maxAhead, frameAhd int64
}

func figPacing() pacingResult {
	secs := 20.0
	if *quick {
		secs = 5
	}
	log.Printf("figure 2: pacing, %v s at 30 fps", secs)
	relay := startRelay()
	defer relay.Close()
	fr := frames(size{640, 360}, 60)
	s := mpegserver.New()
	if err := s.Setup(relay.URL("pace")); err != nil {
		log.Fatal(err)
	}
	ahead := s.Config().Ahead() // the resolved value: FrameAhead -1 means 2 × GOP
	n := ahead + 1 + int(secs*30)
	returns := make([]time.Time, n)
	for i := 0; i < n; i++ {
		if err := s.ServeFrameBlock(fr[i%len(fr)]); err != nil {
			log.Fatal(err)
		}
		returns[i] = time.Now()
	}
	st := s.Stats()
	_ = s.Close()
	// Steady state: after the first frame-ahead+1 frames, which go at once.
	steady := returns[ahead+1:]
	var gaps []time.Duration
	for i := 1; i < len(steady); i++ {
		gaps = append(gaps, steady[i].Sub(steady[i-1]))
	}
	// The rate skips the first second of steady pacing as well: the burst
	// itself takes a moment (encoder start-up), so the first steady frames
	// return a little late and the next few catch up to the time line,
	// which would read as a rate above 30 fps that no one experiences.
	settled := steady[min(30, len(steady)/2):]
	rate := float64(len(settled)-1) / settled[len(settled)-1].Sub(settled[0]).Seconds()
	res := pacingResult{seconds: secs, frames: n, rate: rate, rateErr: (rate - 30) / 30,
		p50: percentile(gaps, 0.5), p99: percentile(gaps, 0.99), maxGap: percentile(gaps, 1),
		maxAhead: st.MaxAhead, frameAhd: int64(ahead)}
	log.Printf("figure 2: %.3f fps (%.3f%%), gaps p50 %v p99 %v max %v, max ahead %d", rate, 100*res.rateErr, res.p50, res.p99, res.maxGap, st.MaxAhead)
	return res
}

func startRelay() *rtspserver.Server {
	relay := &rtspserver.Server{}
	if err := relay.Start(); err != nil {
		log.Fatal(err)
	}
	return relay
}

// ---- figure 3: latency ----

type latRow struct {
	who      string
	size     size
	ahead    string
	p50, p99 time.Duration
	n        int
}

// reader decodes the stream with ffmpeg and reports each frame index with
// the time it came out of the decoder.
func reader(ctx context.Context, url string, sz size, got func(idx int, at time.Time)) (*exec.Cmd, error) {
	return readerArgs(ctx, sz, got, "-rtsp_transport", "tcp", "-i", url)
}

// readerArgs is reader with ffmpeg's input options given.
func readerArgs(ctx context.Context, sz size, got func(idx int, at time.Time), input ...string) (*exec.Cmd, error) {
	return readerStdin(ctx, sz, got, nil, input...)
}

// readerStdin is readerArgs with ffmpeg's standard input given.
func readerStdin(ctx context.Context, sz size, got func(idx int, at time.Time), stdin io.Reader, input ...string) (*exec.Cmd, error) {
	args := append([]string{"-v", "error", "-fflags", "nobuffer", "-flags", "low_delay"}, input...)
	args = append(args, "-f", "rawvideo", "-pix_fmt", "rgb24", "-fps_mode", "passthrough", "-")
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stdin = stdin
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		br := bufio.NewReaderSize(out, 1<<20)
		b := make([]byte, sz.w*sz.h*3)
		for {
			if _, err := io.ReadFull(br, b); err != nil {
				return
			}
			at := time.Now()
			if i, ok := testpattern.Decode(b, sz.w, sz.h); ok {
				got(i, at)
			}
		}
	}()
	return cmd, nil
}

func figLatency() []latRow {
	secs := 10 * time.Second
	if *quick {
		secs = 4 * time.Second
	}
	var rows []latRow
	for _, sz := range []size{{640, 360}, {1280, 720}} {
		fr := frames(sz, 30*int(secs.Seconds()+4))
		for _, ahead := range []int{1, -1} {
			rows = append(rows, latencyLib(sz, fr, ahead, secs))
		}
		rows = append(rows, latencyFFmpeg(sz, fr, secs))
	}
	return rows
}

type latRec struct {
	mu     sync.Mutex
	pushed map[int]time.Time
	lat    []time.Duration
}

func (l *latRec) push(i int) {
	l.mu.Lock()
	l.pushed[i] = time.Now()
	l.mu.Unlock()
}

func (l *latRec) got(i int, at time.Time) {
	l.mu.Lock()
	if p, ok := l.pushed[i]; ok && i >= 60 { // past start-up
		l.lat = append(l.lat, at.Sub(p))
	}
	l.mu.Unlock()
}

func latencyLib(sz size, fr [][]byte, ahead int, d time.Duration) latRow {
	relay := startRelay()
	defer relay.Close()
	s := mpegserver.New()
	opts := []mpegserver.Option{mpegserver.Size(sz.w, sz.h)}
	label := "default (2×GOP = 60)"
	if ahead >= 0 {
		opts = append(opts, mpegserver.FrameAhead(ahead))
		label = strconv.Itoa(ahead)
	}
	_ = s.SetParameter(opts...)
	if err := s.Setup(relay.URL("lat")); err != nil {
		log.Fatal(err)
	}
	rec := &latRec{pushed: map[int]time.Time{}}
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Second)
	defer cancel()
	var once sync.Once
	var rd *exec.Cmd
	stop := time.Now().Add(d)
	for i := 0; time.Now().Before(stop) && i < len(fr); i++ {
		if err := s.ServeFrameBlock(fr[i]); err != nil {
			log.Fatal(err)
		}
		rec.push(i)
		once.Do(func() {
			go func() {
				_ = relay.WaitPublisher(ctx, "lat")
				var err error
				rd, err = reader(ctx, relay.URL("lat"), sz, rec.got)
				if err != nil {
					log.Fatal(err)
				}
			}()
		})
	}
	_ = s.Close()
	_ = relay.WaitUnpublished(ctx, "lat")
	time.Sleep(300 * time.Millisecond) // let the reader drain what it decoded
	cancel()
	if rd != nil {
		_ = rd.Wait()
	}
	return latResult("library", sz, label, rec)
}

func latResult(who string, sz size, ahead string, rec *latRec) latRow {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	row := latRow{who: who, size: sz, ahead: ahead, p50: percentile(rec.lat, 0.5), p99: percentile(rec.lat, 0.99), n: len(rec.lat)}
	log.Printf("latency: %s %v frames-ahead %s: p50 %v p99 %v (%d frames)", who, sz, ahead, row.p50.Round(time.Millisecond), row.p99.Round(time.Millisecond), row.n)
	return row
}

func latencyFFmpeg(sz size, fr [][]byte, d time.Duration) latRow {
	relay := startRelay()
	defer relay.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d+10*time.Second)
	defer cancel()
	pub := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-re", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", sz.String(),
		"-r", "30", "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30", "-bf", "0",
		"-b:v", "2097k", "-pix_fmt", "yuv420p", "-f", "rtsp", "-rtsp_transport", "tcp", relay.URL("lat"))
	in, err := pub.StdinPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := pub.Start(); err != nil {
		log.Fatal(err)
	}
	rec := &latRec{pushed: map[int]time.Time{}}
	go func() {
		_ = relay.WaitPublisher(ctx, "lat")
		rd, err := reader(ctx, relay.URL("lat"), sz, rec.got)
		if err == nil {
			go rd.Wait()
		}
	}()
	stop := time.Now().Add(d)
	for i := 0; time.Now().Before(stop) && i < len(fr); i++ {
		if _, err := in.Write(fr[i]); err != nil {
			log.Fatal(err)
		}
		rec.push(i)
	}
	in.Close()
	_ = pub.Wait()
	time.Sleep(300 * time.Millisecond)
	cancel()
	return latResult("ffmpeg -re ... -tune zerolatency -f rtsp", sz, "-", rec)
}

// ---- figure 4: memory ----

type memResult struct {
	warmRSS, afterRSS int64 // bytes
	frames            int
	cycles            int
	cycRSS0, cycRSS1  int64
	cycG0, cycG1      int
}

func rss() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func figMemory() memResult {
	n, cycles := 10000, 200
	if *quick {
		n, cycles = 2000, 30
	}
	log.Printf("figure 4: memory over %d frames and %d Setup/Close cycles", n, cycles)
	fr := frames(size{640, 360}, 300)
	s := mpegserver.New()
	if err := s.Setup("/dev/null"); err != nil {
		log.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		_ = s.ServeFrameBlock(fr[i])
	}
	res := memResult{frames: n, cycles: cycles}
	res.warmRSS = rss()
	for i := 0; i < n; i++ {
		if err := s.ServeFrameBlock(fr[i%len(fr)]); err != nil {
			log.Fatal(err)
		}
	}
	res.afterRSS = rss()
	_ = s.Close()
	relay := startRelay()
	defer relay.Close()
	cycle := func(i int) {
		c := mpegserver.New()
		_ = c.SetParameter(mpegserver.Size(320, 240))
		if err := c.Setup(relay.URL(fmt.Sprintf("c%d", i))); err != nil {
			log.Fatal(err)
		}
		for j := 0; j < 5; j++ {
			_ = c.ServeFrameBlock(fr[0][:320*240*3])
		}
		_ = c.Close()
	}
	cycle(-1)
	res.cycRSS0, res.cycG0 = rss(), fewestGoroutines(time.Second)
	for i := 0; i < cycles; i++ {
		cycle(i)
	}
	res.cycRSS1, res.cycG1 = rss(), settleGoroutines(res.cycG0)
	log.Printf("figure 4: RSS %.1f -> %.1f MB over %d frames; cycles RSS %.1f -> %.1f MB, goroutines %d -> %d",
		mb(res.warmRSS), mb(res.afterRSS), n, mb(res.cycRSS0), mb(res.cycRSS1), res.cycG0, res.cycG1)
	return res
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// fewestGoroutines is the lowest goroutine count seen over d: the count
// at rest, without the short-lived goroutines of timers and sessions.
func fewestGoroutines(d time.Duration) int {
	low := runtime.NumGoroutine()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		low = min(low, runtime.NumGoroutine())
	}
	return low
}

// settleGoroutines waits, up to 5 s, for the goroutine count to fall to
// target: the relay's session goroutines end a moment after a publisher
// leaves (it lets readers drain). What is left after that is reported.
func settleGoroutines(target int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= target || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- figure 5: scale ----

type scaleStep struct {
	n             int
	libMin, ffMin float64 // slowest stream's fps
	libMax, ffMax float64 // fastest stream's fps (above 30.5: catching up a backlog)
	libCPU, ffCPU float64 // ms of CPU per delivered frame, publishers and relay together
	libRetry      bool    // measured a second time after missing real time
	ffRetry       bool
}

// realTime: every stream at the frame rate, neither behind nor catching up.
func realTime(slowest, fastest float64) bool { return slowest >= 29.5 && fastest <= 30.5 }

// scaleWindow is how long figure 5 counts frames for, after warm-up.
func scaleWindow() time.Duration {
	if *quick {
		return 3 * time.Second
	}
	return 6 * time.Second
}

func figScale() []scaleStep {
	window := scaleWindow()
	// Earlier figures leave a large heap behind; return it now so the
	// runtime's background scavenger is not counted as a stream's CPU.
	runtime.GC()
	debug.FreeOSMemory()
	fr := frames(size{640, 360}, 90)
	var steps []scaleStep
	libOK, ffOK := true, true
	// Single steps from 8 up: where the counts end, a step of two is
	// 15% of the count, too coarse for a 1.2× goal.
	for _, n := range []int{1, 2, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20} {
		if !libOK && !ffOK {
			break
		}
		st := scaleStep{n: n}
		// A step that misses real time is measured once more before the
		// tool's count ends: on a shared machine a load spike from
		// elsewhere can take one window, and both tools get the same
		// second chance.
		if libOK {
			st.libMin, st.libMax, st.libCPU = scaleLib(n, fr, window)
			if !realTime(st.libMin, st.libMax) {
				st.libMin, st.libMax, st.libCPU = scaleLib(n, fr, window)
				st.libRetry = true
			}
			libOK = realTime(st.libMin, st.libMax)
		}
		if ffOK {
			st.ffMin, st.ffMax, st.ffCPU = scaleFFmpeg(n, fr, window)
			if !realTime(st.ffMin, st.ffMax) {
				st.ffMin, st.ffMax, st.ffCPU = scaleFFmpeg(n, fr, window)
				st.ffRetry = true
			}
			ffOK = realTime(st.ffMin, st.ffMax)
		}
		log.Printf("figure 5: %d streams: library %.2f-%.2f fps %.2f ms CPU/frame, ffmpeg %.2f-%.2f fps %.2f ms CPU/frame",
			n, st.libMin, st.libMax, st.libCPU, st.ffMin, st.ffMax, st.ffCPU)
		steps = append(steps, st)
	}
	return steps
}

// measure counts frames each path receives at the server over the window,
// after a warm-up that lets start-up (encoder set-up, RTSP handshakes)
// pass, and the CPU time cpu() reports over the same window.
func measure(relay *rtspserver.Server, paths []string, window time.Duration, cpu func() float64) (slowest, fastest, msPerFrame float64) {
	time.Sleep(8 * time.Second)
	f0 := make([]uint64, len(paths))
	for i, p := range paths {
		f0[i] = relay.Info(p).Frames
	}
	c0, t0 := cpu(), time.Now()
	time.Sleep(window)
	c1, el := cpu(), time.Since(t0).Seconds()
	slowest = 1e9
	var total uint64
	for i, p := range paths {
		d := relay.Info(p).Frames - f0[i]
		total += d
		fps := float64(d) / el
		slowest, fastest = min(slowest, fps), max(fastest, fps)
	}
	if total > 0 {
		msPerFrame = (c1 - c0) / float64(total) * 1000
	}
	return slowest, fastest, msPerFrame
}

// serveFor serves the frames over and over with ServeFrameBlock for d,
// and returns this process's CPU time meanwhile, in seconds, and the
// frames served.
func serveFor(s *mpegserver.Server, fr [][]byte, d time.Duration) (cpu float64, n int) {
	c0 := cpuSelf()
	for start := time.Now(); time.Since(start) < d; n++ {
		if err := s.ServeFrameBlock(fr[n%len(fr)]); err != nil {
			log.Fatal(err)
		}
	}
	return cpuSelf() - c0, n
}

// cpuSelf is this process's user+system CPU time in seconds.
func cpuSelf() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// cpuPid is a running child's user+system CPU time in seconds, from
// /proc (Linux), in clock ticks of 1/100 s.
func cpuPid(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// A camera delivers a frame every period; so does each producer here,
// for both tools (ffmpeg's -re paces its reading the same way). An
// unpaced blocking producer would also hold, but its start-up burst of
// frames-ahead frames per stream takes longer than the warm-up to clear
// on a loaded machine, which says nothing about steady capacity.
const scalePeriod = time.Second / 30

func scaleLib(n int, fr [][]byte, window time.Duration) (float64, float64, float64) {
	relay := startRelay()
	defer relay.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	paths := make([]string, n)
	for k := 0; k < n; k++ {
		paths[k] = fmt.Sprintf("s%d", k)
		s := mpegserver.New() // defaults: 640x360@30, veryfast, zerolatency
		if err := s.Setup(relay.URL(paths[k])); err != nil {
			log.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(scalePeriod)
			defer tick.Stop()
			for i := 0; ; i++ {
				if s.ServeFrameContext(ctx, fr[i%len(fr)]) != nil {
					break
				}
				select {
				case <-ctx.Done():
				case <-tick.C:
					continue
				}
				break
			}
			_ = s.Close()
		}()
	}
	slowest, fastest, cpu := measure(relay, paths, window, cpuSelf)
	cancel()
	wg.Wait()
	return slowest, fastest, cpu
}

func scaleFFmpeg(n int, fr [][]byte, window time.Duration) (float64, float64, float64) {
	relay := startRelay()
	defer relay.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	paths := make([]string, n)
	pids := make([]int, n)
	for k := 0; k < n; k++ {
		paths[k] = fmt.Sprintf("f%d", k)
		cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-re", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "640x360",
			"-r", "30", "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30", "-bf", "0",
			"-b:v", "2097k",
			// The library's rate control and scene cuts (x264enc's pass=cbr:
			// VBV at the bit rate over 600 ms; scenecut=0).
			"-maxrate", "2097k", "-bufsize", "1258k", "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-f", "rtsp", "-rtsp_transport", "tcp", relay.URL(paths[k]))
		in, err := cmd.StdinPipe()
		if err != nil {
			log.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			log.Fatal(err)
		}
		pids[k] = cmd.Process.Pid
		wg.Add(1)
		go func() {
			defer wg.Done()
			// ffmpeg -re paces; the pipe's back-pressure paces this writer.
			for i := 0; ctx.Err() == nil; i++ {
				if _, err := in.Write(fr[i%len(fr)]); err != nil {
					break
				}
			}
			in.Close()
			_ = cmd.Wait()
		}()
	}
	cpu := func() float64 {
		c := cpuSelf() // the relay and the writers, as in the library's figure
		for _, p := range pids {
			c += cpuPid(p)
		}
		return c
	}
	slowest, fastest, ms := measure(relay, paths, window, cpu)
	cancel()
	wg.Wait()
	return slowest, fastest, ms
}
