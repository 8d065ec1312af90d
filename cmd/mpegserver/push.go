package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mpegcoder-go/mpegserver"
	"github.com/mpegcoder-go/mpegserver/internal/testpattern"
	"github.com/mpegcoder-go/mpegserver/metrics"
	"github.com/mpegcoder-go/mpegserver/rtspserver"
)

const pushSummary = `Serves frames to ADDRESS: rtsp://host:port/path, rtmp://host/app/stream,
srt://host:port, udp://host:port (MPEG-TS), whip+http://[TOKEN@]host:port/path/whip
(WebRTC, WHIP; whip+https://, #ice=public for a server elsewhere), a .m3u8 path (HLS), or a file;
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
                    --src-width/--src-height resize the decoded frames

  --audio silent    a silent audio track beside the frames, as long as
                    they are: for YouTube, Facebook and others that
                    refuse a stream without audio
  --audio SOURCE    an audio file or stream decoded and served beside the
                    frames, in step with them; --audio-end says what
                    follows its end
The track is AAC (Opus in a .webm file) on every output that carries
audio; a raw .h264 file and a WHIP address take none (exit 2).`

// pushFlags are push's own flags, beside the stream's.
type pushFlags struct {
	input, pixFmt      *string
	nonblocking, quiet *bool
	noReconnect        *bool
	duration           *time.Duration
	frames             *int
	listen, path       *string
	record             onceString
	backup             listFlag
	web                webFlags
	svc                serviceFlags
	audio              audioFlags
}

// listFlag is a flag that may be given again and again.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// onceString is a flag that may be given once: a second --record would
// otherwise silently replace the first.
type onceString struct {
	v   string
	set bool
}

func (o *onceString) String() string { return o.v }

func (o *onceString) Set(v string) error {
	if o.set {
		return fmt.Errorf("given twice (%q, then %q): one record at most", o.v, v)
	}
	o.v, o.set = v, true
	return nil
}

func runPush(e env, args []string) error {
	fs := newFlagSet(e, "push", "[flags] [ADDRESS]", pushSummary)
	sf := addStreamFlags(fs)
	pf := pushFlags{
		input:       fs.String("input", "testsrc", "frame source: testsrc, - for raw frames on standard input, or a video file or stream URL to restream"),
		pixFmt:      fs.String("pix-fmt", "rgb24", "pixel format of standard input (--input -), ffmpeg's names: "+strings.Join(mpegserver.PixelFormatNames(), ", ")),
		nonblocking: fs.Bool("nonblocking", false, "serve with ServeFrame and pace with WaitRef (default: ServeFrameBlock, paced by the library)"),
		duration:    fs.Duration("duration", 0, "stop after this long, from the start, whatever the input does (0: until Ctrl-C or end of input)"),
		frames:      fs.Int("frames", 0, "stop after this many frames (0: no limit)"),
		listen:      fs.String("listen", "127.0.0.1:8554", "address of the embedded server, when no ADDRESS is given"),
		path:        fs.String("path", "video", "stream path on the embedded server, when no ADDRESS is given"),
		quiet:       fs.Bool("quiet", false, "no status line and no connection messages"),
		noReconnect: fs.Bool("no-reconnect", false, "exit (status 1) at the first loss of a server, the stream's or the record's, instead of reconnecting"),
		web:         addWebFlags(fs),
		svc:         addServiceFlags(fs, true),
		audio:       addAudioFlags(fs),
	}
	fs.Var(&pf.record, "record", "also write the same encoded stream to this file (or any other address); an output that fails stops alone")
	fs.Var(&pf.backup, "backup", "a backup address of the stream (a platform's backup ingest), tried when the address is lost and does not come back; repeat for more")
	addr, err := fs.parseAddress(args)
	if err != nil {
		return err
	}
	pix, err := pf.check(fs, addr)
	if err != nil {
		return err
	}
	if err := pf.svc.check(); err != nil {
		return err
	}
	log, err := pf.svc.logger(e.stderr, *pf.quiet)
	if err != nil {
		return err
	}
	// What serves the run (metrics, the watchdog) ends with it.
	run, endRun := context.WithCancel(context.Background())
	defer endRun()
	// --duration bounds the whole run: opening the input, Setup, serving.
	ctx := e.ctx
	if *pf.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *pf.duration)
		defer cancel()
	}
	s, src, err := pf.open(ctx, e, fs, sf, addr, pix)
	if stopped(e, ctx) {
		return nil
	}
	if err != nil {
		return err
	}
	_ = s.SetParameter(mpegserver.Logger(log))
	if st, ok := src.(*stdinSource); ok {
		defer st.stop()
	}
	if r, ok := src.(*readerSource); ok {
		defer r.r.Close()
	}
	// The first frame before anything is written: an input that has none
	// fails the run and leaves every output as it was.
	rgb, img, err := src.next(ctx, 0)
	switch {
	case stopped(e, ctx):
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("no frame from --input %s within --duration %v; nothing was written", *pf.input, *pf.duration)
	case err == io.EOF:
		return fmt.Errorf("--input %s ended before its first frame; nothing was written", *pf.input)
	case err != nil:
		return fmt.Errorf("%w; nothing was written", err)
	}
	src = &peeked{frameSource: src, rgb: rgb, img: img}
	// The audio source too, before anything is written.
	audio, err := pf.audio.open(ctx)
	switch {
	case stopped(e, ctx):
		return nil
	case err != nil:
		return fmt.Errorf("%w; nothing was written", err)
	case audio != nil:
		defer audio.Close()
	}

	embedded := addr == ""
	checks := metrics.StreamChecks(s)
	collected := []prometheus.Collector{metrics.NewCollector(*pf.svc.name, s)}
	if embedded {
		relay, view, err := startEmbedded(e, fs, pf)
		if err != nil {
			return err
		}
		defer relay.Close()
		defer view.Close()
		addr = relay.URL(*pf.path)
		collected = append(collected, metrics.NewRelayCollector(relay, view.s))
		// A reader or browser viewer that joins starts at a keyframe
		// asked for then, not at the GOP's next one.
		path := strings.Trim(*pf.path, "/")
		relay.OnKeyframeWanted(func(p string) {
			if p == path {
				s.RequestKeyframe()
			}
		})
	}
	if err := pf.svc.serveMetrics(run, e, checks, collected...); err != nil {
		return err
	}
	if err := s.SetupContext(ctx, addr); err != nil {
		if stopped(e, ctx) {
			return nil
		}
		if outs, _ := s.Outputs(); errors.Is(err, mpegserver.ErrUnreachable) && len(outs) > 0 && outs[0].Unreachable != "" {
			return fmt.Errorf("%w\n%s", err, outs[0].Unreachable)
		}
		return err
	}
	cfg := s.Config()
	outs, err := s.Outputs()
	if err != nil {
		return err
	}
	printOutputs(e.stdout, cfg, outs)
	if cfg.Audio.Source != mpegserver.NoAudio {
		from := ""
		if audio != nil {
			from = " from " + mpegserver.Redact(*pf.audio.source) + " (at its end: " + *pf.audio.end + ")"
		}
		fmt.Fprintf(e.stdout, "Audio: %s%s\n", cfg.Audio, from)
	}
	notify("READY=1\nSTATUS=streaming to " + outs[0].Address)
	keepAlive(run, checks.Alive)
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

	// With --no-reconnect, a lost output (the record's too) ends the run.
	serveCtx, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	status := startStatus(s, e.stderr, *pf.quiet, log, func(err error) { lose(err) })
	start := time.Now()
	var maxFrames atomic.Int64
	maxFrames.Store(int64(*pf.frames))
	audioDone := make(chan struct{})
	if audio != nil {
		// --audio-end stop: the frames end where the audio did (a file
		// is written as fast as frames come, and the audio ran ahead).
		stop := func(played time.Duration) {
			n := max(int64(math.Ceil(played.Seconds()*cfg.FrameRate.Float())), 1)
			if m := maxFrames.Load(); m == 0 || n < m {
				maxFrames.Store(n)
			}
		}
		go func() {
			defer close(audioDone)
			pf.audio.serveAudio(serveCtx, s, audio, e.stderr, stop)
		}()
	} else {
		close(audioDone)
	}
	serveErr := serveLoop(serveCtx, s, src, *pf.nonblocking, &maxFrames)
	lose(nil) // the audio ends with the frames
	<-audioDone
	status.stop()
	notify("STOPPING=1")
	if cause := context.Cause(serveCtx); serveErr == nil && ctx.Err() == nil && cause != nil && cause != context.Canceled {
		serveErr = cause
	}
	closeErr := s.Close()
	printSummary(e.stdout, s.Stats(), time.Since(start))
	if r, ok := src.(*peeked).frameSource.(*readerSource); ok {
		if rs := r.r.Stats(); rs.Short {
			fmt.Fprintf(e.stderr, "warning: --input ended at %.2f s of the %.2f s it declares (%d frames): it looks cut short\n",
				rs.Position.Seconds(), rs.Duration.Seconds(), rs.Frames)
		}
	}
	if serveErr == nil {
		serveErr = closeErr
	}
	if mpegserver.IsLoss(serveErr) && *pf.noReconnect {
		return fmt.Errorf("%w\nThe server went away or the link stopped carrying data. Check that the server runs and is reachable, then run again; without --no-reconnect, push reconnects by itself", serveErr)
	}
	return serveErr
}

// stopped says whether a signal ended the run: that is a normal end.
func stopped(e env, ctx context.Context) bool {
	if e.ctx.Err() == nil {
		return false
	}
	fmt.Fprintln(e.stderr, "stopped")
	return true
}

// check refuses flags that would have no effect in this mode, and bad
// values; it returns the input's pixel format.
func (pf *pushFlags) check(fs *flagSet, addr string) (mpegserver.PixelFormat, error) {
	set := given(fs)
	if *pf.input == "" {
		return 0, usagef("--input is empty: want testsrc, -, or a video file or URL")
	}
	pix, err := mpegserver.ParsePixelFormat(*pf.pixFmt)
	if err != nil {
		return 0, usagef("--pix-fmt %q: want one of %s", *pf.pixFmt, strings.Join(mpegserver.PixelFormatNames(), ", "))
	}
	if set["pix-fmt"] && *pf.input != "-" {
		return 0, usagef("--pix-fmt is the format of raw frames on standard input; it has no effect with --input %s", *pf.input)
	}
	if addr != "" {
		for _, f := range []string{"listen", "path", "http", "http-public"} {
			if set[f] {
				return 0, usagef("--%s is for the embedded server, which runs only without ADDRESS; it has no effect with %s", f, mpegserver.Redact(addr))
			}
		}
	} else if err := checkListen("--listen", *pf.listen); err != nil {
		return 0, err
	}
	if *pf.duration < 0 || *pf.frames < 0 {
		return 0, usagef("--duration and --frames must not be negative")
	}
	if err := pf.audio.check(set); err != nil {
		return 0, err
	}
	return pix, nil
}

// open configures the server from the flags and opens the frame source.
// A bad flag is a usage error; settings copied from a decoded input that
// cannot be streamed are the input's fault, not the command line's.
func (pf *pushFlags) open(ctx context.Context, e env, fs *flagSet, sf *streamFlags, addr string, pix mpegserver.PixelFormat) (*mpegserver.Server, frameSource, error) {
	extra := append([]mpegserver.Option{mpegserver.Reconnect(!*pf.noReconnect), mpegserver.Record(pf.record.v), mpegserver.Backup(pf.backup...)},
		pf.audio.option()...)
	if *pf.input == "-" {
		extra = append(extra, mpegserver.SourceFormat(pix))
	}
	s, err := sf.server(nil, extra...)
	if err != nil {
		return nil, nil, err
	}
	if addr != "" {
		// A mistyped address or codec is a usage error, found before
		// anything starts.
		s.ResetPath(addr)
		if _, err := s.LaunchLine(); err != nil {
			return nil, nil, configError(err)
		}
	}
	w, h := s.Config().SourceSize()
	switch *pf.input {
	case "testsrc":
		if w < testpattern.MinWidth || h < testpattern.MinHeight {
			return nil, nil, usagef("testsrc needs frames of at least %dx%d, got %dx%d", testpattern.MinWidth, testpattern.MinHeight, w, h)
		}
		return s, &patternSource{frame: make([]byte, w*h*3), w: w, h: h}, nil
	case "-":
		return s, newStdinSource(e.stdin, w, h, pix), nil
	}
	if (sf.srcWidth == 0) != (sf.srcHeight == 0) {
		return nil, nil, usagef("--src-width and --src-height resize the input together: give both")
	}
	reader, err := mpegserver.OpenReader(ctx, *pf.input, mpegserver.ReaderConfig{Width: sf.srcWidth, Height: sf.srcHeight})
	if err != nil {
		return nil, nil, fmt.Errorf("--input: %w", err)
	}
	src := reader.Source()
	rw, rh := reader.Size()
	live := ""
	if src.Live {
		live = ", live"
	}
	fmt.Fprintf(e.stdout, "Reading %s: %s %dx%d at %s fps, %.0f Kb/s%s; frames %dx%d\n", mpegserver.Redact(src.URI), src.Codec,
		src.Width, src.Height, src.FrameRate, src.BitRate, live, rw, rh)
	// The flags given win over the copied settings; the reader already
	// gives frames at --src-width × --src-height.
	only := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { only[f.Name] = f.Name != "src-width" && f.Name != "src-height" })
	s, err = sf.server(only, append(extra, mpegserver.Decoder(reader))...)
	if err != nil {
		reader.Close()
		var ue usageError
		if errors.As(err, &ue) {
			err = ue.error
		}
		return nil, nil, fmt.Errorf("--input %s cannot be streamed with its own settings: %w\nGive --width and --height (and --src-width, --src-height) to scale it", *pf.input, err)
	}
	return s, &readerSource{r: reader, frame: make([]byte, reader.FrameSize())}, nil
}

// startEmbedded starts the embedded RTSP server and its browser view.
func startEmbedded(e env, fs *flagSet, pf pushFlags) (*rtspserver.Server, runningView, error) {
	relay := &rtspserver.Server{Address: *pf.listen}
	if err := relay.Start(); err != nil {
		return nil, runningView{}, fmt.Errorf("%v\nSomething already listens there: name a server as ADDRESS, or pick another --listen (127.0.0.1:0 picks a free port)", err)
	}
	view, err := pf.web.start(e, fs, relay, nil)
	if err != nil {
		relay.Close()
		return nil, runningView{}, err
	}
	if view.s != nil {
		// First, so it is the line people see.
		fmt.Fprintf(e.stdout, "Watch in a browser: %s\n", view.url(*pf.path))
	}
	return relay, view, nil
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
