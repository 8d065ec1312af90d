package mpegserver

import (
	"context"
	"math"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// hlsOutput writes an HLS playlist (a path ending in .m3u8) and its
// MPEG-TS segments next to it with hlssink2, in real time.
type hlsOutput struct {
	addr, path string
}

func parseHLS(a rawAddress) (output, error) {
	return &hlsOutput{addr: a.text, path: a.path}, nil
}

func (o *hlsOutput) address() string { return o.addr }

func (o *hlsOutput) facts() facts {
	return facts{location: o.path, format: "hls", live: true, finishes: true, file: o.path}
}

func (o *hlsOutput) carries(fam string, _ func(string) bool) error { return tsCarries(fam) }

// elements: segments of whole GOPs next to the playlist, the playlist
// bounded, older segments deleted.
func (o *hlsOutput) elements(_ *encoder, c Config) []gstpipe.Element {
	dir, base := filepath.Split(o.path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	// hlssink2 cuts at the first keyframe after target-duration: a
	// duration of whole seconds no shorter than a GOP makes every segment
	// whole GOPs, one GOP where the GOP lasts a whole number of seconds.
	gopSeconds := float64(c.GOPSize) / c.FrameRate.Float()
	target := max(int(math.Ceil(gopSeconds-1e-9)), 1)
	return []gstpipe.Element{{Factory: "hlssink2", Props: []gstpipe.Prop{
		{Name: "playlist-location", Value: o.path, User: true},
		// %05d is hlssink2's own pattern; a % in the name would be taken
		// for another, so it is doubled.
		{Name: "location", Value: filepath.Join(dir, strings.ReplaceAll(stem, "%", "%%")+"-%05d.ts"), User: true},
		{Name: "target-duration", Value: strconv.Itoa(target)},
		{Name: "playlist-length", Value: strconv.Itoa(c.PlaylistLength)},
		// Two more segments than the playlist lists stay on disk, for
		// players still fetching the ones that just left it.
		{Name: "max-files", Value: strconv.Itoa(c.PlaylistLength + 2)},
	}}}
}

// reach: hlssink2 writes the playlist next to its segments, so the check
// that the playlist can be written proves the directory takes both.
func (o *hlsOutput) reach(context.Context, Config) (netip.AddrPort, error) {
	return netip.AddrPort{}, checkWritable(o.path)
}

func (o *hlsOutput) classify(gstpipe.Event, bool, bool) error { return ErrPipeline }

func (o *hlsOutput) describe(c Config) OutputInfo {
	return OutputInfo{Address: Redact(o.addr), Kind: "HLS", Live: true,
		Watch: []string{"ffplay http://HOST/.../" + filepath.Base(o.path) + "   (once its directory is served over HTTP; " +
			strconv.Itoa(c.PlaylistLength) + " segments listed, older ones deleted)"}}
}

// audio: AAC in the MPEG-TS segments, on hlssink2's "audio" pad (its
// "video" pad takes anything too, so the pad is named).
func (o *hlsOutput) audio(func(string) bool) (audioIn, error) {
	return audioIn{codec: audioAAC, pad: "audio"}, nil
}
