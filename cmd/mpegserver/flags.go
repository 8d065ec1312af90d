package main

import (
	"errors"
	"time"

	"github.com/mpegcoder-go/mpegserver"
)

// streamFlags are the parameters of the original class, as flags.
type streamFlags struct {
	codec                      string
	bitrate                    float64
	width, height              int
	srcWidth, srcHeight        int
	gop, maxB, ahead, threads  int
	preset                     string
	framerate                  string
	setupTimeout, closeTimeout time.Duration
	stallTimeout               time.Duration
	tlsCA                      string
	tlsInsecure                bool
}

func addStreamFlags(fs *flagSet) *streamFlags {
	d := mpegserver.DefaultConfig()
	f := &streamFlags{}
	fs.StringVar(&f.codec, "codec", d.Codec, "encoder: libx264, libx265, libvpx, libvpx-vp9, libaom-av1, libopenh264, h264_nvenc...; plain h264/hevc pick hardware when it works (mpegserver encoders lists them)")
	fs.Float64Var(&f.bitrate, "bitrate", d.BitRate, "bit rate in Kb/s (Kb = 1024 bit)")
	fs.IntVar(&f.width, "width", d.Width, "output width")
	fs.IntVar(&f.height, "height", d.Height, "output height")
	fs.IntVar(&f.srcWidth, "src-width", 0, "width of the served frames (0: output width)")
	fs.IntVar(&f.srcHeight, "src-height", 0, "height of the served frames (0: output height)")
	fs.IntVar(&f.gop, "gop", d.GOPSize, "frames from one keyframe to the next")
	fs.IntVar(&f.maxB, "max-bframes", d.MaxBFrames, "consecutive B-frames (0: none, lowest latency)")
	fs.StringVar(&f.framerate, "framerate", d.FrameRate.String(), "frame rate as num/den, or a number")
	fs.IntVar(&f.ahead, "frame-ahead", d.FrameAhead, "frames that may be served ahead of play time (-1: 2 × gop)")
	fs.IntVar(&f.threads, "threads", d.Threads, "encoder threads (0: automatic)")
	fs.StringVar(&f.preset, "preset", d.Preset, "encoder speed preset: ultrafast ... veryslow")
	fs.DurationVar(&f.setupTimeout, "setup-timeout", mpegserver.DefaultSetupTimeout, "how long Setup may take: the encoder's start and the output's answer (server, receiver, writable file)")
	fs.DurationVar(&f.closeTimeout, "close-timeout", mpegserver.DefaultCloseTimeout, "how long stopping may take: queued frames leaving and acknowledged")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "a PEM file of certificates to trust for rtmps:// and rtsps:// servers, besides the system's (a private CA, a self-signed server's certificate)")
	fs.BoolVar(&f.tlsInsecure, "tls-insecure", false, "accept any server certificate over TLS: for test servers only")
	fs.DurationVar(&f.stallTimeout, "stall-timeout", mpegserver.DefaultStallTimeout, "how long the server may acknowledge nothing with data waiting before the link counts as lost")
	return f
}

// options turns the flags into library options; a bad value is a usage
// error. With only set, just the flags it names become options (the
// others keep what a copied source gave).
func (f *streamFlags) options(only map[string]bool) ([]mpegserver.Option, error) {
	fr, err := mpegserver.ParseRational(f.framerate)
	if err != nil {
		return nil, usagef("--framerate: %v", err)
	}
	all := []struct {
		flag string
		opt  mpegserver.Option
	}{
		{"codec", mpegserver.Codec(f.codec)},
		{"bitrate", mpegserver.BitRate(f.bitrate)},
		{"width", mpegserver.Width(f.width)},
		{"height", mpegserver.Height(f.height)},
		{"src-width", mpegserver.WidthSrc(f.srcWidth)},
		{"src-height", mpegserver.HeightSrc(f.srcHeight)},
		{"gop", mpegserver.GOPSize(f.gop)},
		{"max-bframes", mpegserver.MaxBFrames(f.maxB)},
		{"framerate", mpegserver.FrameRate(fr.Num, fr.Den)},
		{"threads", mpegserver.Threads(f.threads)},
		{"preset", mpegserver.Preset(f.preset)},
		{"setup-timeout", mpegserver.SetupTimeout(f.setupTimeout)},
		{"close-timeout", mpegserver.CloseTimeout(f.closeTimeout)},
		{"stall-timeout", mpegserver.StallTimeout(f.stallTimeout)},
		{"tls-ca", mpegserver.TLSCAFile(f.tlsCA)},
		{"tls-insecure", mpegserver.TLSInsecure(f.tlsInsecure)},
		{"frame-ahead", mpegserver.FrameAhead(f.ahead)}, // the library checks it: -1 (2 × gop) or 0 up
	}
	var opts []mpegserver.Option
	for _, o := range all {
		if only == nil || only[o.flag] {
			opts = append(opts, o.opt)
		}
	}
	return opts, nil
}

// configError is a usage error (exit 2) unless what failed is the machine:
// a GStreamer element that is not installed (exit 1).
func configError(err error) error {
	if errors.Is(err, mpegserver.ErrNotInstalled) {
		return err
	}
	return usageError{err}
}

// server returns a configured Server; bad numbers are usage errors.
func (f *streamFlags) server(only map[string]bool, extra ...mpegserver.Option) (*mpegserver.Server, error) {
	opts, err := f.options(only)
	if err != nil {
		return nil, err
	}
	opts = append(extra, opts...)
	s := mpegserver.New()
	if err := s.SetParameter(opts...); err != nil {
		if errors.Is(err, mpegserver.ErrBadParameter) {
			return nil, usageError{err}
		}
		return nil, err
	}
	return s, nil
}
