package mpegserver

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// description is a compiled configuration: the ordered chain of elements
// and every fact the live pipeline, the launch line and the stream need,
// computed once. What prints is what runs.
type description struct {
	elements   []gstpipe.Element
	target     target   // the parsed address
	outputs    []output // the address, then the record; each a branch after a tee when there are two
	teeAt      int      // index of the tee, -1 for a single output
	enc        *encoder
	codecName  string // as the user typed it, for errors
	sourceCaps string // appsrc's caps, also the capsfilter after it
	outputCaps string // what the encoder takes
	srcW, srcH int    // the served frames' size
	bt709      bool   // the matrix sourceCaps declare: BT.709, else BT.601
	encAt      int    // index of the encoder
	countAt    int    // index of the element after the encoder: its output is what the encoder made
	soft, hard int    // appsrc queue bounds in frames (queueBounds)
}

// output is one place the stream goes: its target and its elements,
// elements[first:end].
type output struct {
	target     target
	address    string // as given, for errors (Redact before printing)
	first, end int
}

// live reports whether the stream plays in real time: any output that is
// watched live makes it so.
func (d description) live() bool {
	for _, o := range d.outputs {
		if o.target.Live() {
			return true
		}
	}
	return false
}

// spec is what gstpipe.Build needs.
func (d description) spec() gstpipe.Spec {
	s := gstpipe.Spec{Elements: d.elements, Live: d.live(), SourceCaps: d.sourceCaps,
		BT709: d.bt709, CountAt: d.countAt, PoolBuffers: d.hard + 2}
	if d.teeAt >= 0 {
		for _, o := range d.outputs {
			s.Branches = append(s.Branches, o.first)
		}
	}
	return s
}

// compile turns a configuration into the pipeline
//
//	appsrc ! <source caps> ! videoconvert ! videoscale ! <output caps> ! <encoder> ! <parser> ! <sink>
//
// and, with a record, <parser> ! tee with a queue and a sink per output.
// It checks the configuration, the address and that the codec can go
// there; the encoder is the first of the codec's that is installed and
// not in skip (Setup skips hardware encoders that fail to start).
func compile(c Config, skip ...string) (description, error) {
	if err := c.Validate(); err != nil {
		return description{}, err
	}
	cands, ok := candidates(c.Codec)
	if !ok {
		return description{}, fmt.Errorf("%w: %q (accepted names: %s)", ErrUnknownCodec, c.Codec, strings.Join(codecNames(), ", "))
	}
	enc := firstInstalled(c.Codec, skip)
	if enc == nil {
		// None installed: the software one, last, which checkInstalled
		// reports as missing.
		enc = cands[len(cands)-1]
	}
	if c.MaxBFrames > 0 && !enc.BFrames {
		return description{}, fmt.Errorf("%w: maxBframe %d: %s (%s) makes no B-frames; set maxBframe 0",
			ErrBadParameter, c.MaxBFrames, enc.Element, c.Codec)
	}
	d := description{enc: enc, codecName: c.Codec, teeAt: -1}
	for i, addr := range []string{c.Address, c.Record} {
		if i == 1 && addr == "" {
			break
		}
		t, err := parseAddress(addr)
		if err != nil {
			if i == 1 {
				return description{}, fmt.Errorf("record: %w", err)
			}
			return description{}, err
		}
		if err := carries(t, enc.Family); err != nil {
			return description{}, fmt.Errorf("%w: %s (%s) to %s: %v", ErrUnknownCodec, c.Codec, enc.Family, Redact(addr), err)
		}
		d.outputs = append(d.outputs, output{target: t, address: addr})
	}
	d.target = d.outputs[0].target
	if len(d.outputs) > 1 && d.outputs[0].target.Location == d.outputs[1].target.Location {
		return description{}, fmt.Errorf("%w: the record %q is the stream's own address", ErrUnsupportedAddress, Redact(c.Record))
	}
	ws, hs := c.SourceSize()
	fr := c.FrameRate.String()
	d.bt709, d.srcW, d.srcH = hs >= 720, ws, hs
	d.soft, d.hard = queueBounds(c, d.live())
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
	if enc.Family == famVP9 {
		// mp4mux (1.22) reads VP9's chroma site from the caps and crashes
		// the process when there is none (a NULL string compared).
		d.outputCaps += ",chroma-site=mpeg2"
	}
	d.elements = []gstpipe.Element{
		{Factory: "appsrc", Props: []gstpipe.Prop{
			// A stream plays in real time; a file is written as fast as
			// frames come.
			{Name: "is-live", Value: strconv.FormatBool(d.live())},
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
		{Factory: enc.Element, Props: enc.props(c)},
		enc.After,
	}
	d.countAt = len(d.elements) - 1
	d.encAt = d.countAt - 1
	if len(d.outputs) == 1 {
		d.outputs[0].first = len(d.elements)
		d.elements = append(d.elements, sinkElements(d.target, enc, c)...)
		d.outputs[0].end = len(d.elements)
		return d, nil
	}
	// One encode, several outputs: a tee with a queue per output, so a
	// slow output does not hold the others, and errorignore after it, so
	// an output that fails (its server gone) does not stop the others:
	// its error still reaches the bus, and the stream reports it.
	d.teeAt = len(d.elements)
	d.elements = append(d.elements, gstpipe.Element{Factory: "tee", Props: []gstpipe.Prop{{Name: "name", Value: "t"}}})
	for i := range d.outputs {
		o := &d.outputs[i]
		o.first = len(d.elements)
		q := []gstpipe.Prop{{Name: "max-size-buffers", Value: "0"}, {Name: "max-size-bytes", Value: "0"}}
		if o.target.connects() || o.target.Scheme == "udp" {
			// A network output that falls behind loses its oldest frames
			// after two seconds rather than holding the encoder (and the
			// record) back.
			q = append(q, gstpipe.Prop{Name: "max-size-time", Value: "2000000000"}, gstpipe.Prop{Name: "leaky", Value: "downstream"})
		} else {
			q = append(q, gstpipe.Prop{Name: "max-size-time", Value: "0"})
		}
		d.elements = append(d.elements, gstpipe.Element{Factory: "queue", Props: q},
			gstpipe.Element{Factory: "errorignore", Props: []gstpipe.Prop{{Name: "convert-to", Value: "ok"}}})
		d.elements = append(d.elements, sinkElements(o.target, enc, c)...)
		o.end = len(d.elements)
	}
	return d, nil
}

// carries says whether a target can take a codec family, and why not.
// FLV on GStreamer 1.22 is H.264 only; MPEG-TS takes H.264 and H.265;
// RTSP takes what there is an RTP payloader for.
func carries(t target, fam string) error {
	var ok []string
	switch t.Scheme {
	case "rtmp", "rtmps":
		ok = []string{famH264}
		if fam != famH264 {
			return fmt.Errorf("RTMP (FLV) on GStreamer 1.22 carries H.264 only")
		}
	case "srt", "udp", "hls":
		ok = []string{famH264, famH265}
	case "rtsp", "rtsps":
		pay := "rtp" + fam + "pay"
		if !gstpipe.Installed(pay) {
			return fmt.Errorf("RTSP needs the RTP payloader %s, which is not installed", pay)
		}
		return nil
	case "file":
		switch t.Muxer {
		case "mp4mux", "qtmux":
			ok = []string{famH264, famH265, famVP9, famAV1}
		case "matroskamux":
			return nil
		case "webmmux":
			ok = []string{famVP8, famVP9, famAV1}
		case "mpegtsmux":
			ok = []string{famH264, famH265}
		default:
			if fam != famH264 && fam != famH265 {
				return fmt.Errorf("a raw file is an H.264/H.265 elementary stream; name a .mkv, .webm or .mp4 file")
			}
			return nil
		}
	}
	if !slices.Contains(ok, fam) {
		return fmt.Errorf("%s takes %s only", t.Format, strings.Join(ok, ", "))
	}
	return nil
}

// sinkElements are what follows the parser for a target.
func sinkElements(t target, enc *encoder, c Config) []gstpipe.Element {
	switch t.Scheme {
	case "udp":
		return []gstpipe.Element{
			// alignment=7: seven 188-byte packets a datagram (1316 bytes),
			// as every MPEG-TS over UDP receiver expects, under any MTU.
			{Factory: "mpegtsmux", Props: []gstpipe.Prop{{Name: "alignment", Value: "7"}}},
			{Factory: "udpsink", Props: []gstpipe.Prop{{Name: "host", Value: t.Host, User: true}, {Name: "port", Value: t.Port}}},
		}
	case "srt":
		return []gstpipe.Element{
			// SRT's live mode sends one 1316-byte message a packet; larger
			// buffers are cut and the stream is lost.
			{Factory: "mpegtsmux", Props: []gstpipe.Prop{{Name: "alignment", Value: "7"}}},
			{Factory: "srtsink", Props: srtProps(t, c)},
		}
	case "rtmp", "rtmps":
		p := []gstpipe.Prop{{Name: "location", Value: t.Location, User: true},
			// rtmp2sink's bound on connecting and on each write, in seconds.
			{Name: "timeout", Value: strconv.Itoa(max(int(math.Ceil(c.SetupTimeout.Seconds())), 1))}}
		if t.User != "" {
			p = append(p, gstpipe.Prop{Name: "username", Value: t.User, User: true})
		}
		if t.Password != "" {
			p = append(p, gstpipe.Prop{Name: "password", Value: t.Password, User: true, Secret: true})
		}
		return []gstpipe.Element{
			// streamable: no index to seek back and write at the end.
			{Factory: "flvmux", Props: []gstpipe.Prop{{Name: "streamable", Value: "true"}}},
			{Factory: "rtmp2sink", Props: p},
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
				Value: "video/x-" + enc.Family + ",stream-format=byte-stream,alignment=au"}}}
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

// srtProps are srtsink's settings: a caller, each option of the address
// its own property (the passphrase never printed).
func srtProps(t target, c Config) []gstpipe.Prop {
	p := []gstpipe.Prop{
		{Name: "uri", Value: t.Location, User: true},
		// 1.22's default of -1 waits forever and can deadlock shutdown.
		{Name: "poll-timeout", Value: "1000"},
		// Writes before the connection is up fail at once instead of
		// blocking; Setup has checked that the receiver answers.
		{Name: "wait-for-connection", Value: "false"},
		// srtsink's own reconnecting reports nothing but warnings; the
		// stream's Reconnect does it, and says so.
		{Name: "auto-reconnect", Value: "false"},
	}
	if v := t.SRT.Latency; v != "" {
		p = append(p, gstpipe.Prop{Name: "latency", Value: v})
	}
	if v := t.SRT.StreamID; v != "" {
		p = append(p, gstpipe.Prop{Name: "streamid", Value: v, User: true})
	}
	if t.Password != "" {
		p = append(p, gstpipe.Prop{Name: "passphrase", Value: t.Password, User: true, Secret: true})
	}
	if v := t.SRT.PBKeyLen; v != "" {
		p = append(p, gstpipe.Prop{Name: "pbkeylen", Value: v})
	}
	return p
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
