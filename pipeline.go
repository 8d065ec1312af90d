package mpegserver

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// description is a compiled configuration: the ordered chain of elements
// and every fact the live pipeline, the launch line and the stream need,
// computed once. What prints is what runs.
type description struct {
	elements   []gstpipe.Element
	target     target // the parsed address
	codec      codec
	codecName  string // as the user typed it, for errors
	sourceCaps string // appsrc's caps, also the capsfilter after it
	outputCaps string // what the encoder takes
	srcW, srcH int    // the served frames' size
	bt709      bool   // the matrix sourceCaps declare: BT.709, else BT.601
	encAt      int    // index of the encoder
	countAt    int    // index of the parser: its output is what the encoder made
	soft, hard int    // appsrc queue bounds in frames (queueBounds)
}

// spec is what gstpipe.Build needs.
func (d description) spec() gstpipe.Spec {
	return gstpipe.Spec{Elements: d.elements, Live: d.target.Live(), SourceCaps: d.sourceCaps,
		BT709: d.bt709, CountAt: d.countAt, PoolBuffers: d.hard + 2}
}

// compile turns a configuration into the pipeline
//
//	appsrc ! <source caps> ! videoconvert ! videoscale ! <output caps> ! <encoder> ! <parser> ! <sink>
//
// It checks the configuration and the address, not what is installed.
func compile(c Config) (description, error) {
	if err := c.Validate(); err != nil {
		return description{}, err
	}
	cd, ok := lookupCodec(c.Codec)
	if !ok {
		return description{}, fmt.Errorf("%w: %q (accepted names: %s)", ErrUnknownCodec, c.Codec, strings.Join(codecNames(), ", "))
	}
	t, err := parseAddress(c.Address)
	if err != nil {
		return description{}, err
	}
	ws, hs := c.SourceSize()
	fr := c.FrameRate.String()
	d := description{target: t, codec: cd, codecName: c.Codec, bt709: hs >= 720, srcW: ws, srcH: hs}
	d.soft, d.hard = queueBounds(c, t.Live())
	// The conversion matrix follows the usual convention (and GStreamer's
	// default): BT.709 from 720 lines up, BT.601 below. Limited range
	// either way; the encoder writes it into the stream, so players
	// convert back with the same matrix.
	colorimetry := "bt601"
	if d.bt709 {
		colorimetry = "bt709"
	}
	d.sourceCaps = fmt.Sprintf("video/x-raw,format=I420,width=%d,height=%d,framerate=%s,pixel-aspect-ratio=1/1,colorimetry=%s",
		ws, hs, fr, colorimetry)
	d.outputCaps = fmt.Sprintf("video/x-raw,format=I420,width=%d,height=%d,framerate=%s,pixel-aspect-ratio=1/1", c.Width, c.Height, fr)
	d.elements = []gstpipe.Element{
		{Factory: "appsrc", Props: []gstpipe.Prop{
			// A stream plays in real time; a file is written as fast as
			// frames come.
			{Name: "is-live", Value: strconv.FormatBool(t.Live())},
			{Name: "format", Value: "time"},
			// We stamp every frame ourselves (counter × period).
			{Name: "do-timestamp", Value: "false"},
			// Never block inside GStreamer: the blocking call waits in Go,
			// where a context can cancel it and Close can wake it.
			{Name: "block", Value: "false"},
			// The queue is bounded in frames; the byte bound (200 kB by
			// default, less than one frame) would fire on every push.
			{Name: "max-buffers", Value: strconv.Itoa(d.soft)},
			// Ask for more as soon as there is room, not only once empty:
			// otherwise a blocked caller waits for the whole queue to drain
			// and then bursts (docs/design.md).
			{Name: "min-percent", Value: "90"},
			{Name: "max-bytes", Value: "0"},
			{Name: "max-time", Value: "0"},
		}},
		// Frames are converted from RGB to I420 as they are copied in, so
		// appsrc's buffers are already what the encoder takes and
		// videoconvert passes them through; it stays for encoders that
		// want another layout (NV12 for most hardware). The caps are also
		// a capsfilter so the printed line, with appsrc swapped for a
		// test source, runs as it stands.
		{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps", Value: d.sourceCaps}}},
		// Conversion and scaling share the encoder's thread setting (0:
		// every core); GStreamer's default is one thread.
		{Factory: "videoconvert", Props: []gstpipe.Prop{{Name: "n-threads", Value: strconv.Itoa(c.Threads)}}},
		{Factory: "videoscale", Props: []gstpipe.Prop{{Name: "n-threads", Value: strconv.Itoa(c.Threads)}}},
		// I420 explicitly: from RGB, x264enc would otherwise pick Y444 and
		// produce High 4:4:4, which most players cannot decode. Square
		// pixels make videoscale stretch to the output size, as sws_scale does.
		{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps", Value: d.outputCaps}}},
		{Factory: cd.Encoder, Props: cd.props(c)},
		// config-interval=-1 repeats SPS/PPS with every keyframe, so a
		// reader joining mid-stream can start at the next keyframe.
		{Factory: cd.Parser, Props: []gstpipe.Prop{{Name: "config-interval", Value: "-1"}}},
	}
	d.countAt = len(d.elements) - 1
	d.encAt = d.countAt - 1
	d.elements = append(d.elements, sinkElements(t, cd, c)...)
	return d, nil
}

// sinkElements are what follows the parser for a target.
func sinkElements(t target, cd codec, c Config) []gstpipe.Element {
	switch t.Scheme {
	case "udp":
		return []gstpipe.Element{
			// alignment=7: seven 188-byte packets a datagram (1316 bytes),
			// as every MPEG-TS over UDP receiver expects, under any MTU.
			{Factory: "mpegtsmux", Props: []gstpipe.Prop{{Name: "alignment", Value: "7"}}},
			{Factory: "udpsink", Props: []gstpipe.Prop{{Name: "host", Value: t.Host, User: true}, {Name: "port", Value: t.Port}}},
		}
	case "hls":
		return []gstpipe.Element{{Factory: "hlssink2", Props: hlsProps(t, c)}}
	}
	if !t.Live() {
		var mux gstpipe.Element
		if t.Muxer != "" {
			// A muxed file keeps its parameter sets in the header.
			mux = gstpipe.Element{Factory: t.Muxer}
		} else {
			// A raw file is Annex B, start codes and all, with parameter
			// sets at every keyframe so a player can seek to any of them;
			// the encoder's own length-prefixed form is unreadable without
			// a container.
			mux = gstpipe.Element{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps",
				Value: "video/x-" + cd.Family + ",stream-format=byte-stream,alignment=au"}}}
		}
		return []gstpipe.Element{mux, {Factory: "filesink", Props: []gstpipe.Prop{{Name: "location", Value: t.Location, User: true}}}}
	}
	p := []gstpipe.Prop{
		{Name: "location", Value: t.Location, User: true},
		// TCP interleaved: no UDP ports to open, no loss on a busy
		// network, and it passes NAT and firewalls.
		{Name: "protocols", Value: "tcp"},
		// rtspclientsink's bound on its own requests (default 20 s).
		{Name: "tcp-timeout", Value: strconv.FormatInt(c.SetupTimeout.Microseconds(), 10)},
		// gortsplib servers (mediamtx, the embedded one) answer SETUP a
		// second late to clients whose user agent starts with "GStreamer",
		// working around an old rtspclientsink bug (docs/design.md).
		{Name: "user-agent", Value: "mpegserver"},
	}
	if t.User != "" {
		p = append(p, gstpipe.Prop{Name: "user-id", Value: t.User, User: true})
	}
	if t.Password != "" {
		p = append(p, gstpipe.Prop{Name: "user-pw", Value: t.Password, User: true, Secret: true})
	}
	return []gstpipe.Element{{Factory: "rtspclientsink", Props: p}}
}

// hlsProps are hlssink2's settings: segments of whole GOPs next to the
// playlist, the playlist bounded, older segments deleted.
func hlsProps(t target, c Config) []gstpipe.Prop {
	dir, base := filepath.Split(t.Location)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	// hlssink2 cuts at the first keyframe after target-duration: a
	// duration of whole seconds no shorter than a GOP makes every segment
	// whole GOPs, one GOP where the GOP lasts a whole number of seconds.
	gopSeconds := float64(c.GOPSize) / c.FrameRate.Float()
	target := max(int(math.Ceil(gopSeconds-1e-9)), 1)
	return []gstpipe.Prop{
		{Name: "playlist-location", Value: t.Location, User: true},
		// %05d is hlssink2's own pattern; a % in the name would be taken
		// for another, so it is doubled.
		{Name: "location", Value: filepath.Join(dir, strings.ReplaceAll(stem, "%", "%%")+"-%05d.ts"), User: true},
		{Name: "target-duration", Value: strconv.Itoa(target)},
		{Name: "playlist-length", Value: strconv.Itoa(c.PlaylistLength)},
		// Two more segments than the playlist lists stay on disk, for
		// players still fetching the ones that just left it.
		{Name: "max-files", Value: strconv.Itoa(c.PlaylistLength + 2)},
	}
}

// fileQueue is appsrc's queue, in frames, for file targets.
const fileQueue = 4

// maxQueueBytes bounds the frames appsrc may hold, in bytes.
const maxQueueBytes = 512 << 20

// queueBounds gives the appsrc queue's soft bound (max-buffers: enough-data
// fires there and ServeFrameBlock waits) and the hard cap at which
// ServeFrame refuses frames. The hard cap leaves room for a caller that
// follows WaitRef loosely. Both stay within maxQueueBytes of frames as
// appsrc holds them (I420, 1.5 bytes a pixel), or two frames where one
// frame is larger than that.
func queueBounds(c Config, live bool) (soft, hard int) {
	// One more than the frames-ahead rule allows, so the rule binds first
	// and the queue only when the encoder falls behind.
	soft = c.Ahead() + 2
	if !live {
		// A file has no play time to run ahead of. A short queue means
		// few buffers: at 1080p each new buffer is 3 MB of fresh pages,
		// and faulting them in cost more than encoding.
		soft = fileQueue
	}
	hard = 2*soft + 2
	w, h := c.SourceSize()
	if per := w * h * 3 / 2; per > 0 {
		limit := max(maxQueueBytes/per, 2)
		soft, hard = min(soft, limit-1), min(hard, limit)
	}
	return soft, hard
}
