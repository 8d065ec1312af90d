package main

// Figures 10 to 12: the frame path at its limit. 10: CPU per frame of the
// library against x264enc alone on frames already in I420, whole
// processes; 11: the converter alone (go test -bench); 12: Reader decoding
// to RGB against ffmpeg. The library's side of 10 and 12 runs as a child
// process of this program (-child), so that both sides are whole
// processes measured alike.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mpegcoder-go/mpegserver"
)

var (
	child     = flag.String("child", "", "internal: run one library contender (encode or read) and exit")
	childFile = flag.String("child-file", "", "internal: the child's input")
	childFmt  = flag.String("child-fmt", "rgb24", "internal: the child's pixel format")
	childSize = flag.String("child-size", "", "internal: the child's frame size, WxH")
)

// runChild is the library's contender in a process of its own.
func runChild() {
	var w, h int
	fmt.Sscanf(*childSize, "%dx%d", &w, &h)
	f, err := mpegserver.ParsePixelFormat(*childFmt)
	if err != nil {
		log.Fatal(err)
	}
	switch *child {
	case "encode":
		err = childEncode(*childFile, f, w, h)
	case "read":
		err = childRead(*childFile)
	default:
		err = fmt.Errorf("unknown child %q", *child)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// childEncode serves the raw frames of a file to /dev/null with figure
// 1's settings. The file is mapped, not read: frames a program hands over
// are in its memory already (a V4L2 camera's are mapped buffers too), and
// the library's one copy into GStreamer then stands where the bare
// encoder's read() into its buffers does.
func childEncode(path string, f mpegserver.PixelFormat, w, h int) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	data, err := syscall.Mmap(int(in.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return err
	}
	defer syscall.Munmap(data)
	s := mpegserver.New()
	if err := s.SetParameter(append(tpOptions(size{w, h}), mpegserver.SourceFormat(f))...); err != nil {
		return err
	}
	if err := s.Setup("/dev/null"); err != nil {
		return err
	}
	n := f.FrameSize(w, h)
	for off := 0; off+n <= len(data); off += n {
		if err := s.ServeFrameBlock(data[off : off+n]); err != nil {
			return err
		}
	}
	return s.Close()
}

// childRead decodes a file to packed RGB with the Reader, every frame.
func childRead(path string) error {
	r, err := mpegserver.OpenReader(context.Background(), path, mpegserver.ReaderConfig{})
	if err != nil {
		return err
	}
	defer r.Close()
	frame := make([]byte, r.FrameSize())
	for {
		if err := r.Read(frame); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures ("" where
// there is none).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}

// usage is what one whole process took.
type usage struct{ cpu, wall time.Duration }

// runUsage runs a command and returns its CPU time (user + system, every
// thread) and wall time.
func runUsage(name string, args ...string) (usage, error) {
	cmd := exec.Command(name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return usage{}, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return usage{cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), wall: time.Since(t0)}, nil
}

func self(args ...string) (usage, error) {
	exe, err := os.Executable()
	if err != nil {
		return usage{}, err
	}
	return runUsage(exe, args...)
}

// ---- figure 10: CPU per frame against the bare encoder ----

type bareRow struct {
	size   size
	input  string    // the library's input format
	lib    []float64 // ms of CPU a frame, each run
	bare   []float64
	ratios []float64 // lib/bare of each pair of runs
}

// startRow is figure 10's start-up at one size: whole processes that
// encode one frame, ms of CPU each run.
type startRow struct {
	size      size
	lib, bare []float64
}

// bareFrames is how many frames each process of figure 10 encodes: the
// processes' start-up is part of their CPU, and weighs less in longer runs.
var bareFrames = flag.Int("bare-frames", 300, "frames each process of figure 10 encodes")

// bareInputs are the formats the library is fed; the bare encoder always
// reads I420.
var bareInputs = []string{"rgb24", "yuv420p", "nv12"}

func figBare(tmp string) ([]bareRow, []startRow) {
	n := *reps
	if *quick {
		n = 3
	}
	var rows []bareRow
	var starts []startRow
	for _, sz := range []size{{640, 360}, {1280, 720}, {1920, 1080}} {
		log.Printf("figure 10: %v, %d frames in %s", sz, *bareFrames, strings.Join(bareInputs, ", "))
		files := map[string]string{}
		rgb := filepath.Join(tmp, "bare-"+sz.String()+".rgb24")
		writeFrames(rgb, frames(sz, *bareFrames))
		files["rgb24"] = rgb
		// The same frames in I420 and NV12, converted once by ffmpeg
		// (swscale, BT.601): what the bare encoder and a YUV camera give.
		for _, f := range []string{"yuv420p", "nv12"} {
			files[f] = filepath.Join(tmp, "bare-"+sz.String()+"."+f)
			if _, err := run("ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", sz.String(), "-i", rgb,
				"-vf", "scale=out_color_matrix=bt601:out_range=tv", "-f", "rawvideo", "-pix_fmt", f, files[f]); err != nil {
				log.Fatal(err)
			}
		}
		// The first frame alone, for the start-up figure.
		one := filepath.Join(tmp, "bare-"+sz.String()+".one.yuv420p")
		if err := copyPrefix(one, files["yuv420p"], sz.w*sz.h*3/2); err != nil {
			log.Fatal(err)
		}
		files["one"] = one
		// The bare encoder's lines, on every frame and on the first alone.
		bareAll, bareOne := bareLine(sz, files["yuv420p"]), bareLine(sz, one)
		bareRun := func(line string) usage {
			u, err := runUsage("sh", "-c", "exec "+line)
			if err != nil {
				log.Fatal(err)
			}
			return u
		}
		bare := func() usage { return bareRun(bareAll) }
		libOn := func(in, f string) usage {
			u, err := self("-child", "encode", "-child-file", in, "-child-fmt", f, "-child-size", sz.String())
			if err != nil {
				log.Fatal(err)
			}
			return u
		}
		lib := func(f string) usage { return libOn(files[f], f) }
		// Warm the page cache and the plugin registry.
		bare()
		lib("rgb24")
		byInput := map[string]*bareRow{}
		for _, f := range bareInputs {
			byInput[f] = &bareRow{size: sz, input: f}
		}
		perFrame := func(u usage) float64 { return u.cpu.Seconds() * 1000 / float64(*bareFrames) }
		for r := 0; r < n; r++ {
			// Each library run paired with a bare run next to it, so a
			// change in machine load hits both alike.
			for _, f := range bareInputs {
				l, b := perFrame(lib(f)), perFrame(bare())
				row := byInput[f]
				row.lib, row.bare, row.ratios = append(row.lib, l), append(row.bare, b), append(row.ratios, l/b)
			}
		}
		st := startRow{size: sz}
		ms := func(u usage) float64 { return u.cpu.Seconds() * 1000 }
		for r := 0; r < n; r++ {
			st.lib, st.bare = append(st.lib, ms(libOn(one, "yuv420p"))), append(st.bare, ms(bareRun(bareOne)))
		}
		starts = append(starts, st)
		log.Printf("figure 10: %v start-up (one frame): library %.0f ms CPU, bare x264enc %.0f ms (medians of %d)", sz, median(st.lib), median(st.bare), n)
		for _, f := range bareInputs {
			row := byInput[f]
			log.Printf("figure 10: %v %s: library %.2f ms CPU a frame, bare x264enc %.2f, ratio %.3f (median of %d pairs)",
				sz, f, median(row.lib), median(row.bare), median(row.ratios), len(row.ratios))
			rows = append(rows, *row)
		}
		for _, p := range files {
			os.Remove(p)
		}
	}
	return rows, starts
}

// copyPrefix writes the first n bytes of src to dst.
func copyPrefix(dst, src string, n int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(in, b); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// bareLine is x264enc alone on I420 from a file, with the library's own
// settings and output: the library's printed line from the encoder on.
func bareLine(sz size, i420 string) string {
	s := mpegserver.New()
	_ = s.SetParameter(tpOptions(sz)...)
	s.ResetPath("/dev/null")
	line, err := s.LaunchLine()
	if err != nil {
		log.Fatal(err)
	}
	return fmt.Sprintf("gst-launch-1.0 -e filesrc location=%s blocksize=%d ! rawvideoparse format=i420 width=%d height=%d framerate=30/1 ! %s",
		i420, sz.w*sz.h*3/2, sz.w, sz.h, line[strings.Index(line, "x264enc"):])
}

func writeFrames(path string, fr [][]byte) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, b := range fr {
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	// Written back before timing, as in figure 1.
	if err := f.Sync(); err != nil {
		log.Fatal(err)
	}
	f.Close()
}

// ---- figure 11: the converter alone ----

type convRow struct {
	format string
	ms     map[string]float64 // by size: ms a frame
}

// figConverter runs the converter's Go benchmark and reads its results.
func figConverter() ([]convRow, []string) {
	log.Printf("figure 11: go test -bench Convert ./internal/gstpipe")
	out, err := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkConvert$", "-benchtime", "200x", "-count", "5",
		"./internal/gstpipe").CombinedOutput()
	if err != nil {
		log.Fatalf("go test -bench: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`BenchmarkConvert/(\w+)/(\d+x\d+)-\d+\s+\d+\s+([\d.]+) ns/op`)
	runs := map[[2]string][]float64{}
	var formats, sizes []string
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		k := [2]string{m[1], m[2]}
		if _, ok := runs[k]; !ok {
			formats, sizes = appendNew(formats, m[1]), appendNew(sizes, m[2])
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		runs[k] = append(runs[k], ns/1e6)
	}
	var rows []convRow
	for _, f := range formats {
		row := convRow{format: f, ms: map[string]float64{}}
		for _, s := range sizes {
			row.ms[s] = median(runs[[2]string{f, s}])
		}
		rows = append(rows, row)
	}
	return rows, sizes
}

func appendNew(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// ---- figure 12: Reader against ffmpeg, decoding to RGB ----

type readRow struct {
	size                size
	libCPU, ffCPU       []float64 // s
	libWall, ffWall     []float64 // s
	cpuRatio, wallRatio []float64 // of each pair
}

func figReader(tmp string) []readRow {
	n := *reps
	if *quick {
		n = 3
	}
	var rows []readRow
	for _, sz := range []size{{1280, 720}, {1920, 1080}} {
		log.Printf("figure 12: reading a %v H.264 file of %d frames to RGB", sz, tpFrames)
		raw := filepath.Join(tmp, "read-"+sz.String()+".rgb24")
		writeFrames(raw, frames(sz, tpFrames))
		mp4 := filepath.Join(tmp, "read-"+sz.String()+".mp4")
		if _, err := run("ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", sz.String(), "-r", "30", "-i", raw,
			"-c:v", "libx264", "-preset", "veryfast", "-b:v", "4000k", "-pix_fmt", "yuv420p", mp4); err != nil {
			log.Fatal(err)
		}
		os.Remove(raw)
		lib := func() usage {
			u, err := self("-child", "read", "-child-file", mp4)
			if err != nil {
				log.Fatal(err)
			}
			return u
		}
		ff := func() usage {
			u, err := runUsage("ffmpeg", "-v", "error", "-y", "-i", mp4, "-f", "rawvideo", "-pix_fmt", "rgb24", "/dev/null")
			if err != nil {
				log.Fatal(err)
			}
			return u
		}
		lib()
		ff()
		row := readRow{size: sz}
		for r := 0; r < n; r++ {
			l, f := lib(), ff()
			row.libCPU, row.ffCPU = append(row.libCPU, l.cpu.Seconds()), append(row.ffCPU, f.cpu.Seconds())
			row.libWall, row.ffWall = append(row.libWall, l.wall.Seconds()), append(row.ffWall, f.wall.Seconds())
			row.cpuRatio = append(row.cpuRatio, l.cpu.Seconds()/f.cpu.Seconds())
			row.wallRatio = append(row.wallRatio, l.wall.Seconds()/f.wall.Seconds())
		}
		log.Printf("figure 12: %v: library %.2f s CPU %.2f s wall, ffmpeg %.2f s CPU %.2f s wall; ratios CPU %.3f wall %.3f",
			sz, median(row.libCPU), median(row.libWall), median(row.ffCPU), median(row.ffWall), median(row.cpuRatio), median(row.wallRatio))
		rows = append(rows, row)
		os.Remove(mp4)
	}
	return rows
}
