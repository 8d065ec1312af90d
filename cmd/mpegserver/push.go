package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testpattern"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

const pushSummary = `Serves frames to ADDRESS: rtsp://host:port/path, rtmp://host/app/stream,
srt://host:port, udp://host:port (MPEG-TS), a .m3u8 path (HLS), or a file;
--record FILE writes the same stream to a file too. Without ADDRESS it
starts an RTSP server on --listen and serves to its --path.

  --input testsrc   a test pattern drawn here: moving shapes, the frame number
                    and time, and the frame index as blocks along the top
  --input -         raw frames on standard input, --src-width × --src-height
                    in --pix-fmt, e.g.
                    ffmpeg -i in.mp4 -f rawvideo -pix_fmt rgb24 - | mpegserver push --input - --src-width 1280 --src-height 720
  --input SOURCE    a video file, or a stream (rtsp://, http://, https://),
                    decoded here: its size, frame rate and bit rate are
                    copied (the original's decoder=); flags given win, and
                    --src-width/--src-height resize the decoded frames`

// pixFormats maps --pix-fmt to bytes per pixel.
var pixFormats = map[string]int{"rgb24": 3, "bgr24": 3, "rgba": 4, "gray": 1}

func runPush(e env, args []string) error {
	fs := newFlagSet(e, "push", "[flags] [ADDRESS]", pushSummary)
	sf := addStreamFlags(fs)
	input := fs.String("input", "testsrc", "frame source: testsrc, - for raw frames on standard input, or a video file or stream URL to restream")
	pixFmt := fs.String("pix-fmt", "rgb24", "pixel format of standard input: rgb24, bgr24, rgba, gray")
	nonblocking := fs.Bool("nonblocking", false, "serve with ServeFrame and pace with WaitRef (default: ServeFrameBlock, paced by the library)")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C or end of input)")
	maxFrames := fs.Int("frames", 0, "stop after this many frames (0: no limit)")
	listen := fs.String("listen", "127.0.0.1:8554", "address of the embedded server, when no ADDRESS is given")
	path := fs.String("path", "video", "stream path on the embedded server")
	quiet := fs.Bool("quiet", false, "no status line and no connection messages")
	noReconnect := fs.Bool("no-reconnect", false, "exit (status 1) at the first loss of the server instead of reconnecting")
	web := addWebFlags(fs)
	record := fs.String("record", "", "also write the same encoded stream to this file (or any other address); an output that fails stops alone")
	addr, err := fs.parseAddress(args)
	if err != nil {
		return err
	}
	if *input == "" {
		return usagef("--input is empty: want testsrc, -, or a video file or URL")
	}
	bpp, ok := pixFormats[*pixFmt]
	if !ok {
		return usagef("--pix-fmt %q: want rgb24, bgr24, rgba or gray", *pixFmt)
	}
	if *duration < 0 || *maxFrames < 0 {
		return usagef("--duration and --frames must not be negative")
	}
	var (
		reader *mpegserver.Reader
		only   map[string]bool // with a decoded input: the flags given, which win over its settings
		extra  = []mpegserver.Option{mpegserver.Reconnect(!*noReconnect), mpegserver.Record(*record)}
	)
	if *input != "testsrc" && *input != "-" {
		only = map[string]bool{}
		fs.Visit(func(f *flag.Flag) { only[f.Name] = true })
		// The reader gives frames at --src-width × --src-height when given;
		// the copied settings then serve that size.
		delete(only, "src-width")
		delete(only, "src-height")
		if (sf.srcWidth == 0) != (sf.srcHeight == 0) {
			return usagef("--src-width and --src-height resize the input together: give both")
		}
		reader, err = mpegserver.OpenReader(e.ctx, *input, mpegserver.ReaderConfig{Width: sf.srcWidth, Height: sf.srcHeight})
		if err != nil {
			return fmt.Errorf("--input: %w", err)
		}
		defer reader.Close()
		extra = append(extra, mpegserver.Decoder(reader))
		src := reader.Source()
		rw, rh := reader.Size()
		live := ""
		if src.Live {
			live = ", live"
		}
		fmt.Fprintf(e.stdout, "Reading %s: %s %dx%d at %s fps, %.0f Kb/s%s; frames %dx%d\n", mpegserver.Redact(src.URI), src.Codec,
			src.Width, src.Height, src.FrameRate, src.BitRate, live, rw, rh)
	}
	s, err := sf.server(only, extra...)
	if err != nil {
		return err
	}
	cfg := s.Config()
	sw, sh := cfg.SourceSize()
	if *input == "testsrc" && (sw < testpattern.MinWidth || sh < testpattern.MinHeight) {
		return usagef("testsrc needs frames of at least %dx%d, got %dx%d", testpattern.MinWidth, testpattern.MinHeight, sw, sh)
	}

	if addr != "" {
		// A mistyped address is a usage error, found before anything starts.
		s.ResetPath(addr)
		if _, err := s.LaunchLine(); err != nil {
			return usageError{err}
		}
	}
	embedded := addr == ""
	if embedded {
		relay := &rtspserver.Server{Address: *listen}
		if err := relay.Start(); err != nil {
			return fmt.Errorf("%v\nSomething already listens there: name a server as ADDRESS, or pick another --listen (127.0.0.1:0 picks a free port)", err)
		}
		defer relay.Close()
		addr = relay.URL(*path)
		view, err := web.start(e, fs, relay, true)
		if err != nil {
			return err
		}
		defer view.Close()
		if view.s != nil {
			// First, so it is the line people see.
			fmt.Fprintf(e.stdout, "Watch in a browser: %s\n", view.url(*path))
		}
	}
	if err := s.Setup(addr); err != nil {
		if outs, _ := s.Outputs(); errors.Is(err, mpegserver.ErrUnreachable) && len(outs) > 0 && outs[0].Unreachable != "" {
			return fmt.Errorf("%w\n%s", err, outs[0].Unreachable)
		}
		return err
	}
	outs, err := s.Outputs()
	if err != nil {
		return err
	}
	printOutputs(e.stdout, cfg, outs)
	if embedded {
		fmt.Fprintf(e.stdout, "A server elsewhere (mediamtx: rtsp://HOST:8554/PATH) is named as ADDRESS: mpegserver push rtsp://HOST:8554/PATH\n")
	}
	if el, hw := mpegserver.EncoderFor(cfg.Codec); el != "" {
		kind := "software"
		if hw {
			kind = "hardware"
		}
		fmt.Fprintf(e.stdout, "Encoder: %s (%s) for --codec %s\n", el, kind, cfg.Codec)
	}

	ctx := e.ctx
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	var src frameSource
	switch {
	case reader != nil:
		src = &readerSource{r: reader, frame: make([]byte, reader.FrameSize())}
	case *input == "-":
		src = newStdinSource(e.stdin, sw, sh, bpp, *pixFmt)
	default:
		src = &patternSource{frame: make([]byte, sw*sh*3), w: sw, h: sh}
	}

	status := startStatus(s, e.stderr, *quiet)
	start := time.Now()
	serveErr := serveLoop(ctx, s, src, *nonblocking, *maxFrames)
	status.stop()
	closeErr := s.Close()
	printSummary(e.stdout, s.Stats(), time.Since(start))
	if serveErr == nil {
		serveErr = closeErr
	}
	if mpegserver.IsLoss(serveErr) && *noReconnect {
		return fmt.Errorf("%w\nThe server went away or the link stopped carrying data. Check that the server runs and is reachable, then run again; without --no-reconnect, push reconnects by itself", serveErr)
	}
	return serveErr
}

// printOutputs says where the stream goes and how to watch it, as each
// output describes itself.
func printOutputs(w io.Writer, cfg mpegserver.Config, outs []mpegserver.OutputInfo) {
	for i, o := range outs {
		switch {
		case i > 0:
			fmt.Fprintf(w, "Recording to %s too (%s, from the same encoder)\n", o.Address, o.Kind)
		case o.Live:
			fmt.Fprintf(w, "Streaming %dx%d at %s fps to %s (%s)\n", cfg.Width, cfg.Height, cfg.FrameRate, o.Address, o.Kind)
		default:
			fmt.Fprintf(w, "Writing %dx%d at %s fps to %s (%s, as fast as frames come)\n", cfg.Width, cfg.Height, cfg.FrameRate, o.Address, o.Kind)
		}
		if i == 0 && len(o.Watch) > 0 {
			fmt.Fprintf(w, "Watch it with:\n  %s\n", strings.Join(o.Watch, "\n  "))
		}
	}
}

// frameSource yields frames until io.EOF.
type frameSource interface {
	next(i int) (rgb []byte, img image.Image, err error)
}

// readerSource serves a decoded file or stream.
type readerSource struct {
	r     *mpegserver.Reader
	frame []byte
}

func (s *readerSource) next(int) ([]byte, image.Image, error) {
	if err := s.r.Read(s.frame); err != nil {
		if err == io.EOF {
			return nil, nil, io.EOF
		}
		return nil, nil, fmt.Errorf("--input: %w", err)
	}
	return s.frame, nil, nil
}

type patternSource struct {
	frame []byte
	w, h  int
}

func (p *patternSource) next(i int) ([]byte, image.Image, error) {
	testpattern.Draw(p.frame, p.w, p.h, i, time.Now())
	return p.frame, nil, nil
}

type stdinSource struct {
	r      io.Reader
	w, h   int
	bpp    int
	format string
	raw    []byte
	rgb    []byte
}

func newStdinSource(r io.Reader, w, h, bpp int, format string) *stdinSource {
	return &stdinSource{r: r, w: w, h: h, bpp: bpp, format: format, raw: make([]byte, w*h*bpp), rgb: make([]byte, w*h*3)}
}

func (s *stdinSource) next(int) ([]byte, image.Image, error) {
	n, err := io.ReadFull(s.r, s.raw)
	switch {
	case err == io.EOF:
		return nil, nil, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, nil, fmt.Errorf("input ended inside a frame: got %d of %d bytes (a %s frame of %dx%d is %d bytes; check --src-width, --src-height and --pix-fmt)",
			n, len(s.raw), s.format, s.w, s.h, len(s.raw))
	case err != nil:
		return nil, nil, fmt.Errorf("reading standard input: %w", err)
	}
	switch s.format {
	case "rgb24":
		return s.raw, nil, nil
	case "rgba": // served as an image: the library drops alpha while copying
		return nil, &image.NRGBA{Pix: s.raw, Stride: s.w * 4, Rect: image.Rect(0, 0, s.w, s.h)}, nil
	case "bgr24":
		for i := 0; i < len(s.raw); i += 3 {
			s.rgb[i], s.rgb[i+1], s.rgb[i+2] = s.raw[i+2], s.raw[i+1], s.raw[i]
		}
	case "gray":
		for i, v := range s.raw {
			s.rgb[3*i], s.rgb[3*i+1], s.rgb[3*i+2] = v, v, v
		}
	}
	return s.rgb, nil, nil
}

// serveLoop serves frames until the source ends, the context ends (Ctrl-C,
// --duration) or --frames is reached.
func serveLoop(ctx context.Context, s *mpegserver.Server, src frameSource, nonblocking bool, maxFrames int) error {
	for i := 0; maxFrames == 0 || i < maxFrames; i++ {
		if ctx.Err() != nil {
			return nil
		}
		rgb, img, err := src.next(i)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if nonblocking {
			if img != nil {
				err = s.ServeImage(img)
			} else {
				err = s.ServeFrame(rgb)
			}
			if errors.Is(err, mpegserver.ErrQueueFull) {
				err = nil // counted in Stats().Refused, reported in the summary
			}
			if err == nil {
				err = sleepCtx(ctx, s.WaitRef())
			}
		} else if img != nil {
			err = s.ServeImageContext(ctx, img)
		} else {
			err = s.ServeFrameContext(ctx, rgb)
		}
		if ctx.Err() != nil {
			return nil // stopped while waiting: a normal end
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return nil
}

type status struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func (st *status) stop() {
	close(st.done)
	st.wg.Wait()
}

// startStatus prints the stream's figures, a line rewritten in place on a
// terminal, a plain line every few seconds otherwise; and, as they come,
// the connection's events (lost, reconnecting, back).
func startStatus(s *mpegserver.Server, w io.Writer, quiet bool) *status {
	st := &status{done: make(chan struct{})}
	if quiet {
		return st
	}
	tty := isTerminal(w)
	every := 5 * time.Second
	if tty {
		every = 500 * time.Millisecond
	}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		var prev mpegserver.Stats
		state := "up"
		clear := func() {
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
		}
		for {
			select {
			case <-st.done:
				clear()
				return
			case ev := <-s.Events():
				clear()
				switch ev.Kind {
				case mpegserver.Disconnected:
					state = "down"
					fmt.Fprintf(w, "connection lost: %v\nreconnecting; frames are dropped (and counted) until the stream is back\n", ev.Err)
				case mpegserver.Reconnecting:
					if ev.Attempt > 1 && (ev.Attempt <= 3 || ev.Attempt%10 == 0) {
						fmt.Fprintf(w, "reconnecting: attempt %d\n", ev.Attempt)
					}
				case mpegserver.OutputFailed:
					fmt.Fprintf(w, "output dropped, the others go on: %v\n", ev.Err)
				case mpegserver.Reconnected:
					state = "up"
					cur := s.Stats()
					fmt.Fprintf(w, "reconnected (attempt %d); %d frames dropped so far, down %v in all\n",
						ev.Attempt, cur.Dropped, cur.Down.Round(time.Millisecond))
				}
			case <-t.C:
				cur := s.Stats()
				dt := (cur.Elapsed - prev.Elapsed).Seconds()
				fps, kbps := 0.0, 0.0
				if dt > 0 {
					fps = float64(cur.Pushed-prev.Pushed) / dt
					kbps = float64(cur.Bytes-prev.Bytes) * 8 / 1000 / dt
				}
				line := fmt.Sprintf("%s  frames %d  %.1f fps  %.0f kb/s  ahead %d  queued %d  refused %d  dropped %d  reconnects %d",
					state, cur.Pushed, fps, kbps, cur.Ahead, cur.Queued, cur.Refused, cur.Dropped, cur.Reconnects)
				if tty {
					fmt.Fprint(w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(w, "status: "+line)
				}
				prev = cur
			}
		}
	}()
	return st
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printSummary(w io.Writer, st mpegserver.Stats, wall time.Duration) {
	secs := wall.Seconds()
	fps, kbps := 0.0, 0.0
	if secs > 0 {
		fps = float64(st.Pushed) / secs
		kbps = float64(st.Bytes) * 8 / 1000 / secs
	}
	fmt.Fprintf(w, "Summary: %d frames in %.2f s (%.1f fps), %.0f kb/s, %d refused, %d dropped, at most %d frames ahead, %d time-line slips",
		st.Pushed, secs, fps, kbps, st.Refused, max(st.Pushed-st.Encoded, 0)+st.Dropped, st.MaxAhead, st.Slips)
	if st.Reconnects > 0 || st.Dropped > 0 {
		fmt.Fprintf(w, ", %d reconnects, down %.2f s (%d frames dropped while down)", st.Reconnects, st.Down.Seconds(), st.Dropped)
	}
	fmt.Fprintln(w)
	for _, o := range st.Outputs {
		state := "ok"
		if o.Err != nil {
			state = "failed: " + o.Err.Error()
		}
		fmt.Fprintf(w, "  %s: %d frames, %d bytes, %s\n", o.Address, o.Frames, o.Bytes, state)
	}
}
