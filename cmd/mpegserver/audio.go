package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mpegcoder-go/mpegserver"
)

// audioFlags are push's audio track: silent, or decoded from a file or a
// stream and served with ServeAudio.
type audioFlags struct {
	source   *string
	end      *string
	channels *int
	bitrate  *int
}

// audioEnds are what --audio-end takes.
var audioEnds = []string{"silence", "loop", "stop"}

func addAudioFlags(fs *flagSet) audioFlags {
	return audioFlags{
		source:   fs.String("audio", "", "an audio track: silent (what platforms that want audio take), or a file or stream URL decoded and served beside the frames (AAC; Opus in WebM)"),
		end:      fs.String("audio-end", "silence", "when the --audio file or stream ends: silence (the track goes on silent), loop (from its start again), stop (the run ends)"),
		channels: fs.Int("audio-channels", mpegserver.DefaultAudioChannels, "audio channels: 1 or 2"),
		bitrate:  fs.Int("audio-bitrate", mpegserver.DefaultAudioBitRate, "audio bit rate in kbit/s, 8 to 320"),
	}
}

// silent says whether the track is the library's silence.
func (af audioFlags) silent() bool { return *af.source == "silent" }

// check refuses audio flags that would do nothing, and bad values.
func (af audioFlags) check(given map[string]bool) error {
	if *af.source == "" {
		for _, f := range []string{"audio-end", "audio-channels", "audio-bitrate"} {
			if given[f] {
				return usagef("--%s is for the audio track; it has no effect without --audio", f)
			}
		}
		return nil
	}
	if af.silent() && given["audio-end"] {
		return usagef("--audio-end is for an --audio file or stream; a silent track never ends")
	}
	if !slices.Contains(audioEnds, *af.end) {
		return usagef("--audio-end %q: want %s", *af.end, strings.Join(audioEnds, ", "))
	}
	return nil
}

// option is the library's audio setting; the track carries 48 kHz, which
// a decoded source is resampled to.
func (af audioFlags) option() []mpegserver.Option {
	switch {
	case *af.source == "":
		return nil
	case af.silent():
		return []mpegserver.Option{mpegserver.Audio(mpegserver.AudioConfig{Source: mpegserver.SilentAudio,
			Channels: *af.channels, BitRate: *af.bitrate})}
	}
	a := mpegserver.Samples(mpegserver.DefaultAudioRate, *af.channels)
	a.BitRate = *af.bitrate
	return []mpegserver.Option{mpegserver.Audio(a)}
}

// open opens the --audio file or stream (nil for none or silence), so
// that one that cannot be read fails the run before anything is written.
func (af audioFlags) open(ctx context.Context) (*mpegserver.AudioReader, error) {
	if *af.source == "" || af.silent() {
		return nil, nil
	}
	r, err := mpegserver.OpenAudioReader(ctx, *af.source, mpegserver.AudioReaderConfig{Channels: *af.channels})
	if err != nil {
		return nil, fmt.Errorf("--audio: %w", err)
	}
	return r, nil
}

// serveAudio serves the decoded samples until ctx ends or the source
// does: then, as --audio-end says, the track goes on silent (the library
// fills it), the source starts again, or stop is told how long the audio
// played, to end the frames there. A source that fails is reported and
// the track goes on silent. It closes the reader it is given and any it
// opens.
func (af audioFlags) serveAudio(ctx context.Context, s *mpegserver.Server, r *mpegserver.AudioReader, stderr io.Writer,
	stop func(played time.Duration)) {
	buf := make([]byte, 20*mpegserver.DefaultAudioRate/1000*r.SampleSize()) // 20 ms at a time
	var played time.Duration                                                // by the readers before this one
	for {
		n, err := r.ReadContext(ctx, buf)
		if n > 0 {
			if serr := s.ServeAudioContext(ctx, buf[:n]); serr != nil && ctx.Err() == nil && !errors.Is(serr, mpegserver.ErrClosed) {
				fmt.Fprintf(stderr, "audio: %v\n", serr)
				r.Close()
				return
			}
		}
		switch {
		case ctx.Err() != nil:
			r.Close()
			return
		case err == io.EOF && *af.end == "loop":
			r.Close()
			played += r.Position()
			if r, err = af.open(ctx); err != nil {
				if ctx.Err() == nil {
					fmt.Fprintf(stderr, "audio: opening it again: %v; silence from here\n", err)
				}
				return
			}
		case err == io.EOF:
			r.Close()
			if *af.end == "stop" {
				stop(played + r.Position())
			}
			return
		case err != nil:
			fmt.Fprintf(stderr, "audio: %v; silence from here\n", err)
			r.Close()
			return
		}
	}
}

// given lists the flags set on the command line.
func given(fs *flagSet) map[string]bool {
	g := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { g[f.Name] = true })
	return g
}
