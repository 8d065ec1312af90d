package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// fileOutput writes a file with filesink, as fast as frames come: muxed
// by its extension (.mp4, .mov, .mkv, .ts, .webm), or else the raw
// elementary stream (Annex B). The address is a path or a file:// URL.
type fileOutput struct {
	addr, path string
	muxer      string // "" for a raw elementary stream
	format     string
}

// fileMuxers maps file extensions to a muxer and FFmpeg's format name.
var fileMuxers = map[string][2]string{
	".mp4": {"mp4mux", "mp4"}, ".mov": {"qtmux", "mov"},
	".mkv": {"matroskamux", "matroska"}, ".ts": {"mpegtsmux", "mpegts"},
	".webm": {"webmmux", "webm"},
}

func parseFile(a rawAddress) (output, error) {
	o := &fileOutput{addr: a.text, path: a.path, format: "h264"}
	if m, ok := fileMuxers[strings.ToLower(filepath.Ext(a.path))]; ok {
		o.muxer, o.format = m[0], m[1]
	}
	return o, nil
}

func (o *fileOutput) address() string { return o.addr }

func (o *fileOutput) facts() facts {
	return facts{location: o.path, format: o.format, finishes: true, file: o.path}
}

func (o *fileOutput) carries(fam string, _ func(string) bool) error {
	var ok []string
	switch o.muxer {
	case "mp4mux", "qtmux":
		ok = []string{famH264, famH265, famVP9, famAV1}
	case "matroskamux":
		return nil
	case "webmmux":
		ok = []string{famVP8, famVP9, famAV1}
	case "mpegtsmux":
		return tsCarries(fam)
	default:
		if fam != famH264 && fam != famH265 {
			return fmt.Errorf("a raw file is an H.264/H.265 elementary stream; name a .mkv, .webm or .mp4 file")
		}
		return nil
	}
	if !slices.Contains(ok, fam) {
		return fmt.Errorf("%s takes %s only", o.format, strings.Join(ok, ", "))
	}
	return nil
}

func (o *fileOutput) elements(enc *encoder, _ Config) []gstpipe.Element {
	var mux gstpipe.Element
	if o.muxer != "" {
		// A muxed file keeps its parameter sets in the header.
		mux = gstpipe.Element{Factory: o.muxer}
	} else {
		// A raw file is Annex B, start codes and all, with parameter sets
		// at every keyframe so a player can seek to any of them; the
		// encoder's own length-prefixed form is unreadable without a
		// container.
		mux = gstpipe.Element{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps",
			Value: "video/x-" + enc.Family + ",stream-format=byte-stream,alignment=au"}}}
	}
	return []gstpipe.Element{mux, {Factory: "filesink", Props: []gstpipe.Prop{{Name: "location", Value: o.path, User: true}}}}
}

func (o *fileOutput) reach(context.Context, Config) (netip.AddrPort, error) {
	return netip.AddrPort{}, checkWritable(o.path)
}

// checkWritable checks that path can be written, changing nothing: a
// file that exists is opened for writing without truncating it (a run
// that does not start must leave it as it was); otherwise its directory
// must take a new file, which is made and removed at once.
func checkWritable(path string) error {
	refuse := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%w: cannot write %s: %v", ErrUnsupportedAddress, path, err)
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return refuse(errors.New("it is a directory"))
	case err == nil && fi.Mode().IsRegular():
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return refuse(err)
		}
		return f.Close()
	case err == nil:
		// A device or a pipe: opening it could block or have effects;
		// the sink reports what fails.
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return refuse(err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".mpegserver-check-*")
	if err != nil {
		return refuse(err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// classify: a file's errors (a full disk, a write refused) are its own;
// no reconnecting cures them.
func (o *fileOutput) classify(gstpipe.Event, bool, bool) error { return ErrPipeline }

func (o *fileOutput) describe(Config) OutputInfo {
	return OutputInfo{Address: Redact(o.addr), Kind: "file",
		Watch: []string{"ffplay " + shellWord(o.path) + "   (once written)"}}
}

// audio: Opus in WebM (the only audio it takes besides Vorbis), AAC in
// the other containers; a raw elementary stream has no room for a second
// track.
func (o *fileOutput) audio(func(string) bool) (audioIn, error) {
	switch o.muxer {
	case "":
		return audioIn{}, errors.New("a raw video file holds one elementary stream; name a .mkv, .mp4, .mov or .ts file")
	case "webmmux":
		return audioIn{codec: audioOpus}, nil
	}
	return audioIn{codec: audioAAC}, nil
}
