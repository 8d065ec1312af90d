package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

type report struct {
	machine     string
	load        string // /proc/loadavg's 1, 5 and 15 minute figures at the start
	date        string
	quick       bool
	throughput  []tpRow
	pacing      pacingResult
	latency     []latRow
	memory      memResult
	scale       []scaleStep
	scaleWindow time.Duration
	outputs     []outRow
	browser     []browserRow
	metrics     metricsResult
	whip        whipResult
	bare        []bareRow
	bareStart   []startRow
	conv        []convRow
	convSizes   []string
	read        []readRow
	audio       audioResult
}

func machineInfo() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	first := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			return name + " not found"
		}
		return strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
	}
	return fmt.Sprintf("%s, %d cores; %s; %s; %s", cpu, runtime.NumCPU(),
		first("gst-launch-1.0", "--gst-version"), first("ffmpeg", "-version"), runtime.Version())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func (r *report) markdown(chart string) string {
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	w("# Benchmarks\n\n")
	w("Measured by `make bench` (`go run ./bench`) on %s.\n\n", r.date)
	w("Machine: %s.", r.machine)
	if r.load != "" {
		w(" Load average when the latest run began: %s (other work shares this machine, and its spread is in every figure).", r.load)
	}
	w("\n\n")
	if r.quick {
		w("**Quick run** (`-quick`): shorter durations, rougher figures.\n\n")
	}
	w("Every contender encodes the same frames, drawn before timing starts (the test pattern of `mpegserver push`). ")
	w("Settings are the library's defaults unless the figure says otherwise.\n\n")
	if len(r.throughput) > 0 {
		w("## 1. Throughput, unpaced\n\n")
		w("![library throughput relative to gst-launch-1.0 and ffmpeg](%s)\n\n", chart)
		w("%d frames of RGB to H.264 (x264 ultrafast, zerolatency, 4000 Kb/s, GOP 30, no B-frames), written to /dev/null so no clock paces it. ", tpFrames)
		w("Median of %d runs each; each run includes set-up and the final flush (process start for the command-line contenders). ", len(r.throughput[0].libAll))
		w("The library serves frames with ServeFrameBlock into a file target; the library converts each frame to I420 as it copies it in. gst-launch-1.0 runs the library's own printed pipeline with `filesrc ! rawvideoparse ! videoconvert` in place of appsrc (videoconvert doing the RGB to I420 conversion, multi-threaded); ffmpeg reads the same raw file and converts with swscale.\n\n")
		w("**Goal:** library/gst-launch and library/ffmpeg ≥ 1.00 within noise (accepted: ≥ 0.97, the noise floor); no per-frame Go allocation that grows with the frame.\n\n")
		w("| size | library fps | gst-launch fps | ffmpeg fps | library / gst-launch | library / ffmpeg | Go allocs per frame |\n|---|---|---|---|---|---|---|\n")
		for _, t := range r.throughput {
			w("| %v | %.1f | %.1f | %.1f | **%.2f** | **%.2f** | %.1f |\n", t.size, t.lib, t.gst, t.ffmpeg, t.lib/t.gst, t.lib/t.ffmpeg, t.allocs)
		}
		w("\nAll runs (fps): ")
		for _, t := range r.throughput {
			w("%v library %s, gst-launch %s, ffmpeg %s. ", t.size, fmtList(t.libAll), fmtList(t.gstAll), fmtList(t.ffAll))
		}
		spread := 0.0
		for _, t := range r.throughput {
			for _, runs := range [][]float64{t.libAll, t.gstAll, t.ffAll} {
				lo, hi := runs[0], runs[0]
				for _, x := range runs {
					lo, hi = min(lo, x), max(hi, x)
				}
				spread = max(spread, hi/lo-1)
			}
		}
		w("\n\nNoise: the same contender on the same frames varied by up to %.0f%% between runs (fastest/slowest − 1) on this shared virtual machine, so a ratio within a few percent of 1.00 is a tie.\n\n", 100*spread)
	}
	if p := r.pacing; p.frames > 0 {
		w("## 2. Pacing\n\n")
		w("ServeFrameBlock as fast as it returns, 640×360 at 30 fps into the embedded RTSP server for %.0f s (%d frames, default frames ahead %d). ", p.seconds, p.frames, p.frameAhd)
		w("Intervals are between consecutive returns after the first frames-ahead + 1 frames, which go at once by design; the achieved rate is taken from one second later, once the returns have settled on the time line.\n\n")
		w("**Goal:** rate error near 0, steady intervals, frames ahead never above frames-ahead + 1.\n\n")
		w("| achieved rate | rate error | interval p50 | p99 | max | most frames ahead (limit %d) |\n|---|---|---|---|---|---|\n", p.frameAhd+1)
		w("| %.3f fps | %+.3f %% | %s | %s | %s | %d |\n\n", p.rate, 100*p.rateErr, ms(p.p50), ms(p.p99), ms(p.maxGap), p.maxAhead)
	}
	if len(r.latency) > 0 {
		w("## 3. Latency\n\n")
		w("From the moment a frame is handed over (ServeFrameBlock returns; for ffmpeg, its write to ffmpeg's stdin completes) to the moment a reader has it decoded: ")
		w("`ffmpeg -fflags nobuffer -flags low_delay -rtsp_transport tcp` on loopback through the embedded server, frames identified by the index drawn into them. ")
		w("The same reader serves both publishers; its own decoding delay is in every figure. Frames before index 60 are left out (start-up).\n\n")
		w("**Goal:** library p50 below ffmpeg's at frames-ahead 1. The producer here is unpaced: with the default frames ahead (2 × GOP) it hands over its first 61 frames at once, by design. They leave as fast as the encoder makes them, so the median matches frames-ahead 1; the tail shows that burst being cleared where encoding is slower (720p).\n\n")
		w("| publisher | size | frames ahead | p50 | p99 | frames |\n|---|---|---|---|---|---|\n")
		for _, l := range r.latency {
			w("| %s | %v | %s | %s | %s | %d |\n", l.who, l.size, l.ahead, ms(l.p50), ms(l.p99), l.n)
		}
		w("\n")
	}
	if m := r.memory; m.frames > 0 {
		w("## 4. Memory\n\n")
		w("Resident set size (after a GC and returning free memory to the OS) after 300 warm-up frames and after %d more frames of 640×360 to a file target; then %d Setup/Close cycles of 5 frames each to the embedded RTSP server.\n\n", m.frames, m.cycles)
		w("**Goal:** growth under 5 MB over the frames; no growth in goroutines over the cycles.\n\n")
		w("| | before | after | growth |\n|---|---|---|---|\n")
		w("| RSS over %d frames | %.1f MB | %.1f MB | **%+.1f MB** |\n", m.frames, mb(m.warmRSS), mb(m.afterRSS), mb(m.afterRSS-m.warmRSS))
		w("| RSS over %d cycles | %.1f MB | %.1f MB | %+.1f MB |\n", m.cycles, mb(m.cycRSS0), mb(m.cycRSS1), mb(m.cycRSS1-m.cycRSS0))
		w("| goroutines over %d cycles | %d | %d | %+d |\n\n", m.cycles, m.cycG0, m.cycG1, m.cycG1-m.cycG0)
	}
	if len(r.scale) > 0 {
		w("## 5. Scale\n\n")
		w("N concurrent 640×360 streams at 30 fps with default settings (x264 veryfast, zerolatency) to the embedded server, in one process; against N ffmpeg processes publishing the same frames with the same settings (rate control included: `-maxrate` and `-bufsize` as x264enc's pass=cbr sets them, and no scene cuts). ")
		w("Every producer delivers one frame each 1/30 s, as a camera does (the library's with ServeFrameContext, ffmpeg's through `-re`). ")
		w("Each stream's rate is counted at the server over a %s window after an 8 s warm-up; the table gives the slowest and fastest stream, and the CPU time per delivered frame over the window (publishers and the relay together, which is the same in both). ", r.scaleWindow)
		w("A stream holds real time when it delivers 29.5 to 30.5 fps: slower is falling behind, faster is catching up a backlog. Each tool is stepped up until it fails, by one stream from 8 on; a step that fails is measured once more first (marked ²), for either tool alike, so that one load spike from elsewhere on this shared machine does not end a count.\n\n")
		w("**Goal:** hold at least 1.2 × as many real-time streams as ffmpeg processes do.\n\n")
		w("| streams | library streams (fps) | CPU per frame | ffmpeg processes (fps) | CPU per frame |\n|---|---|---|---|---|\n")
		libMax, ffMax := 0, 0
		var both scaleStep // the largest step both held
		for _, s := range r.scale {
			if realTime(s.libMin, s.libMax) && realTime(s.ffMin, s.ffMax) {
				both = s
			}
			w("| %d | %s%s | %s | %s%s | %s |\n", s.n, rangeCell(s.libMin, s.libMax), retried(s.libRetry), msCell(s.libCPU),
				rangeCell(s.ffMin, s.ffMax), retried(s.ffRetry), msCell(s.ffCPU))
			if realTime(s.libMin, s.libMax) {
				libMax = s.n
			}
			if realTime(s.ffMin, s.ffMax) {
				ffMax = s.n
			}
		}
		w("\nReal-time streams held: library **%d**, ffmpeg processes **%d**.", libMax, ffMax)
		if both.libCPU > 0 {
			w(" At %d streams, the most both held, ffmpeg's CPU per delivered frame is %.2f × the library's: the ratio of the streams each would hold on a machine with nothing else running, as long as CPU is what runs out.", both.n, both.ffCPU/both.libCPU)
		}
		w("\n\n")
	}
	if len(r.outputs) > 0 {
		w("## 6. Outputs\n\n")
		w("The same push, 640×360 at 30 fps (x264 veryfast, zerolatency, frames ahead 1, paced by ServeFrameBlock), to each output, each read on loopback by `ffmpeg -fflags nobuffer -flags low_delay` decoding to raw frames: ")
		w("RTSP through the embedded server; RTMP through nginx-rtmp; SRT with ffmpeg listening (latency 120 ms, SRT's own receive delay, is in the figure); MPEG-TS over UDP with ffmpeg listening. ")
		w("Latency is push → decoded by the reader, frames identified by the index drawn into them, frames before index 60 left out. CPU per frame is this process's user + system time over the push divided by the frames pushed (encoding included; the reader and the server are other processes).\n\n")
		w("| output | p50 | p99 | frames | CPU per frame |\n|---|---|---|---|---|\n")
		for _, o := range r.outputs {
			w("| %s | %s | %s | %d | %s |\n", o.output, ms(o.p50), ms(o.p99), o.n, ms(o.cpu))
		}
		w("\n")
	}
	if len(r.browser) > 0 {
		w("## 7. In the browser\n\n")
		w("Chromium (Debian's, headless) opens the page the embedded server serves and plays the stream over WebRTC (WHEP), browser and server in a network namespace with only loopback. ")
		w("The library pushes the test pattern at 30 fps (x264 veryfast, zerolatency, GOP 30, frames ahead 1); the page reads the frame index from every painted frame (requestVideoFrameCallback, a canvas) and the time it was painted; ")
		w("latency is painted time minus the time ServeFrameContext returned for that index (one clock: the same machine). Next to it, the RTSP reader of figure 3 (ffmpeg decoding, frames ahead 1) at the same size.\n\n")
		w("**Goal:** browser p50 ≤ 100 ms at 640×360 on loopback.\n\n")
		w("| size | browser p50 | p99 | frames | packets lost | frames dropped | RTSP reader p50 | p99 |\n|---|---|---|---|---|---|---|---|\n")
		for _, x := range r.browser {
			w("| %v | **%s** | %s | %d | %d | %d | %s | %s |\n", x.size, ms(x.p50), ms(x.p99), x.n, x.lost, x.dropped, ms(x.rtsp.p50), ms(x.rtsp.p99))
		}
		w("\n")
	}
	b.WriteString(r.metricsSection())
	b.WriteString(r.whipSection())
	r.framePath(w)
	b.WriteString(r.audioSection())
	return b.String()
}

// framePath writes figures 10 to 12.
func (r *report) framePath(w func(string, ...any)) {
	if len(r.bare) > 0 {
		w("## 10. CPU per frame against the bare encoder\n\n")
		w("Whole processes on the same %d frames (the test pattern) at each size, x264enc with figure 1's settings (ultrafast, zerolatency, 4000 Kb/s, GOP 30, no B-frames) writing to /dev/null. ", *bareFrames)
		w("The bare encoder is `gst-launch-1.0 filesrc ! rawvideoparse format=i420 ! x264enc … ! h264parse ! filesink`, the library's own printed line from the encoder on, reading the frames already in I420 (converted once by ffmpeg before timing). ")
		w("The library is a process of this benchmark that maps a file of the same frames, as packed RGB, I420 or NV12, and serves them one at a time with ServeFrameBlock (SourceFormat set) into a file target: frames a program hands over are in its memory already (a V4L2 camera's are mapped buffers too), so the library's one copy into GStreamer's buffers, converting RGB on the way, stands where the bare encoder's read() into its buffers does. Its CPU holds that, Go, the encoder check at Setup, and the same encoder. ")
		w("CPU is the user + system time of the whole process over its life, start-up included, divided by the frames. Each library run is paired with a bare run next to it; the ratio is the median of the pairs' ratios (%d pairs).\n\n", len(r.bare[0].ratios))
		w("**Goal:** library / bare ≤ 1.10 for RGB input at 720p and 1080p, ≤ 1.03 for I420 and NV12 input. ")
		w("The middle half of the pairs' ratios is given beside the median: on this shared machine single pairs spread by ±15%%, so a median within that band's reach of a goal is a tie, not a verdict.\n\n")
		w("| size | library input | library CPU a frame | bare x264enc (I420) | library / bare | middle half of pairs | goal |\n|---|---|---|---|---|---|---|\n")
		for _, x := range r.bare {
			goal := 1.03
			if x.input == "rgb24" {
				goal = 1.10
			}
			mark := "met"
			switch {
			case x.size.h < 720:
				mark = "(none at 360p: start-up and each frame's fixed costs weigh more on small frames; docs/design.md)"
			case median(x.ratios) > goal:
				mark = "**not met**"
			}
			lo, hi := quartiles(x.ratios)
			w("| %v | %s | %.2f ms | %.2f ms | **%.3f** | %.2f–%.2f | ≤ %.2f %s |\n", x.size, x.input, median(x.lib), median(x.bare), median(x.ratios), lo, hi, goal, mark)
		}
		if len(r.bareStart) > 0 {
			w("\nStart-up, the same processes encoding one frame (CPU, median of %d runs each): ", len(r.bareStart[0].lib))
			for i, x := range r.bareStart {
				if i > 0 {
					w("; ")
				}
				w("%v library %.0f ms, bare %.0f ms", x.size, median(x.lib), median(x.bare))
				for _, b := range r.bare {
					if b.size == x.size {
						// The extra as a share of a whole bare run.
						w(" (%+.1f%% of a %d-frame bare run)", (median(x.lib)-median(x.bare))/(median(b.bare)*float64(*bareFrames))*100, *bareFrames)
						break
					}
				}
			}
			w(". The library's extra is mostly the encoder check at Setup (a second encoder start, on one black frame) and Go's runtime.\n")
		}
		w("\nAll pairs (library / bare): ")
		for _, x := range r.bare {
			w("%v %s %s. ", x.size, x.input, fmtRatios(x.ratios))
		}
		w("\n\n")
	}
	if len(r.conv) > 0 {
		w("## 11. The converter alone\n\n")
		w("`go test -run '^$' -bench '^BenchmarkConvert$' ./internal/gstpipe`: libyuv converting (or copying) one frame into I420, the work Push does before GStreamer sees a frame; the frame and its I420 stay in cache between runs, so this is the converter's own speed, not memory's. Median of 5 runs of 200 frames, milliseconds a frame. ")
		w("yuvj* are Go's *image.YCbCr (full range) going into a limited-range stream; gray likewise.\n\n")
		w("**Goal:** ≤ 0.4 ms a 1280×720 RGB (rgb24) frame.\n\n")
		w("| format |")
		for _, s := range r.convSizes {
			w(" %s |", s)
		}
		w("\n|---|")
		for range r.convSizes {
			w("---|")
		}
		w("\n")
		for _, c := range r.conv {
			w("| %s |", c.format)
			for _, s := range r.convSizes {
				w(" %.3f ms |", c.ms[s])
			}
			w("\n")
		}
		w("\n")
	}
	if len(r.read) > 0 {
		w("## 12. Reading: the Reader against ffmpeg\n\n")
		w("Decoding a %d-frame H.264 file (the test pattern, x264 veryfast, 4000 Kb/s) to packed RGB, whole processes: a process of this benchmark reading every frame with OpenReader and Read, against `ffmpeg -y -i in.mp4 -f rawvideo -pix_fmt rgb24 /dev/null`. ", tpFrames)
		w("Both decode with libavcodec; the Reader takes the decoder's I420 and converts it with libyuv as it copies each frame out. CPU is user + system time over the process's life; each library run is paired with an ffmpeg run, and ratios are medians of the pairs' (%d pairs).\n\n", len(r.read[0].cpuRatio))
		w("**Goal:** library / ffmpeg ≤ 1.00 in CPU and in wall time at 720p and 1080p.\n\n")
		w("| size | library CPU | ffmpeg CPU | CPU ratio | library wall | ffmpeg wall | wall ratio |\n|---|---|---|---|---|---|---|\n")
		for _, x := range r.read {
			w("| %v | %.2f s | %.2f s | **%.3f** | %.2f s | %.2f s | **%.3f** |\n", x.size, median(x.libCPU), median(x.ffCPU), median(x.cpuRatio),
				median(x.libWall), median(x.ffWall), median(x.wallRatio))
		}
		w("\nAll pairs (CPU ratio / wall ratio): ")
		for _, x := range r.read {
			w("%v %s / %s. ", x.size, fmtRatios(x.cpuRatio), fmtRatios(x.wallRatio))
		}
		w("\n\n")
	}
}

// quartiles are the first and third quartile of xs (nearest rank).
func quartiles(xs []float64) (lo, hi float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0, 0
	}
	return s[len(s)/4], s[(3*len(s))/4]
}

func fmtRatios(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, "/")
}

// mergeReport keeps, from the report already written, the sections of
// figures this run did not measure, each stamped with the run it came
// from, so that running a few figures does not erase the others.
func mergeReport(old, fresh, ran string) string {
	oldHead, oldSecs := splitReport(old)
	freshHead, freshSecs := splitReport(fresh)
	date := func(head string) string {
		if m := regexp.MustCompile("on ([^.]+)\\.").FindStringSubmatch(head); m != nil {
			return m[1]
		}
		return "an earlier run"
	}
	stamp := func(sec, when string) string {
		if strings.Contains(sec, "\n_Measured ") {
			return sec
		}
		i := strings.Index(sec, "\n\n")
		return sec[:i] + "\n\n_Measured " + when + "._" + sec[i:]
	}
	ranSet := map[string]bool{}
	for _, f := range strings.Split(ran, ",") {
		ranSet[strings.TrimSpace(f)] = true
	}
	var b strings.Builder
	b.WriteString(regexp.MustCompile("Measured by .* on [^.]+\\.").ReplaceAllLiteralString(freshHead,
		"Measured by `make bench` (`go run ./bench`); each figure says when. The latest run, of figures "+ran+", was on "+date(freshHead)+"."))
	for n := 1; n <= 13; n++ {
		k := strconv.Itoa(n)
		switch {
		case ranSet[k] && freshSecs[k] != "":
			b.WriteString(stamp(freshSecs[k], date(freshHead)))
		case oldSecs[k] != "":
			b.WriteString(stamp(oldSecs[k], date(oldHead)))
		}
	}
	return b.String()
}

// splitReport cuts a report into its header and its figures' sections,
// by number.
func splitReport(md string) (string, map[string]string) {
	secs := map[string]string{}
	re := regexp.MustCompile("(?m)^## (\\d+)\\. ")
	idx := re.FindAllStringSubmatchIndex(md, -1)
	if len(idx) == 0 {
		return md, secs
	}
	for i, m := range idx {
		end := len(md)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		secs[md[m[2]:m[3]]] = md[m[0]:end]
	}
	return md[:idx[0][0]], secs
}

func msCell(ms float64) string {
	if ms == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f ms", ms)
}

func retried(again bool) string {
	if again {
		return " ²"
	}
	return ""
}

func rangeCell(lo, hi float64) string {
	if lo == 0 && hi == 0 {
		return "–"
	}
	mark := ""
	switch {
	case lo < 29.5:
		mark = " (behind)"
	case hi > 30.5:
		mark = " (catching up)"
	}
	// Two decimals: 29.47 would print as 29.5, a pass, beside "behind".
	return fmt.Sprintf("%.2f–%.2f%s", lo, hi, mark)
}

func fmtList(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(s, "/")
}

// writeChart draws figure 1's ratios as grouped bars with a line at 1.0.
func writeChart(path string, r *report) error {
	const W, H, left, bottom, top = 720, 360, 70, 60, 50
	img := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	text := func(x, y int, s string, c color.Color) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	rect := func(x0, y0, x1, y1 int, c color.Color) {
		draw.Draw(img, image.Rect(x0, y0, x1, y1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	maxV := 1.2
	for _, t := range r.throughput {
		maxV = max(maxV, t.lib/t.gst*1.1, t.lib/t.ffmpeg*1.1)
	}
	plotH := H - bottom - top
	yOf := func(v float64) int { return H - bottom - int(v/maxV*float64(plotH)) }
	gray, black := color.RGBA{200, 200, 200, 255}, color.Black
	for v := 0.0; v <= maxV; v += 0.25 {
		rect(left, yOf(v), W-20, yOf(v)+1, gray)
		text(left-40, yOf(v)+4, fmt.Sprintf("%.2f", v), black)
	}
	rect(left, yOf(1), W-20, yOf(1)+2, color.RGBA{200, 0, 0, 255})
	text(left, 20, "Throughput: library fps / other tool's fps (same frames, x264 ultrafast)", black)
	blue, green := color.RGBA{40, 90, 200, 255}, color.RGBA{40, 160, 80, 255}
	text(left, 38, "vs gst-launch-1.0", blue)
	text(left+170, 38, "vs ffmpeg", green)
	text(left+270, 38, "red line: parity (1.00)", color.RGBA{200, 0, 0, 255})
	n := len(r.throughput)
	group := (W - 20 - left) / n
	for i, t := range r.throughput {
		x := left + i*group + group/6
		bw := group / 3
		for k, v := range []float64{t.lib / t.gst, t.lib / t.ffmpeg} {
			c := []color.Color{blue, green}[k]
			x0 := x + k*bw
			rect(x0, yOf(v), x0+bw-6, H-bottom, c)
			text(x0+2, yOf(v)-4, fmt.Sprintf("%.2f", v), black)
		}
		text(x+bw/2, H-bottom+18, t.size.String(), black)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}
