package mpegserver

import (
	"fmt"
	"os"
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
	outputs    []branch // the address, then the record; each a branch after a tee when there are two
	teeAt      int      // index of the tee, -1 for a single output
	enc        *encoder
	codecName  string // as the user typed it, for errors
	sourceCaps string // appsrc's caps, also the capsfilter after it: I420 at the output size
	outputCaps string // what the encoder takes
	srcW, srcH int    // the served frames' size, which the push scales to the output size
	width      int    // the output size: appsrc's frames
	height     int
	fullRange  bool      // sourceCaps declare full-range YUV (yuvj420p), else limited
	encAt      int       // index of the encoder
	countAt    int       // index of the element after the encoder: its output is what the encoder made
	soft, hard int       // appsrc queue bounds in frames (queueBounds)
	audio      audioDesc // the audio track's chain, empty without one
}

// branch is one output and its elements, elements[first:end]; join is
// its own first element (after a tee's queue and parser), which an
// audio track goes into.
type branch struct {
	out        output
	first, end int
	join       int
}

// main is the first output's facts: the address's.
func (d description) main() facts { return d.outputs[0].out.facts() }

// live reports whether the stream plays in real time: any output that is
// watched live makes it so.
func (d description) live() bool {
	for _, o := range d.outputs {
		if o.out.facts().live {
			return true
		}
	}
	return false
}

// spec is what gstpipe.Build needs.
func (d description) spec() gstpipe.Spec {
	s := gstpipe.Spec{Elements: d.elements, Live: d.live(), SourceCaps: d.sourceCaps, Width: d.width, Height: d.height,
		FullRange: d.fullRange, CountAt: d.countAt, PoolBuffers: d.hard + 2}
	if d.teeAt >= 0 {
		for _, o := range d.outputs {
			s.Branches = append(s.Branches, o.first)
		}
	}
	d.audio.fill(&s)
	return s
}

// compile turns a configuration into the pipeline
//
//	appsrc ! <source caps> ! videoconvert ! <output caps> ! <encoder> ! <parser> ! <output's elements>
//
// (frames are converted to I420 and scaled to the output size by libyuv
// as they are pushed, before appsrc) and, with a record, <parser> ! tee with a queue and the elements of
// each output. It checks the configuration, the addresses and that the
// codec can go there. installed answers whether a GStreamer element
// exists (gstpipe.Installed; tests give their own): compile asks nothing
// else, so it runs without GStreamer. The encoder is the first of the
// codec's that is installed and not in skip (Setup skips hardware
// encoders that fail to start).
func compile(c Config, installed func(string) bool, skip ...string) (description, error) {
	if err := c.Validate(); err != nil {
		return description{}, err
	}
	cands, ok := candidates(c.Codec)
	if !ok {
		return description{}, fmt.Errorf("%w: %q (accepted names: %s)", ErrUnknownCodec, c.Codec, strings.Join(codecNames(), ", "))
	}
	enc := firstInstalled(c.Codec, skip, installed)
	for _, e := range cands {
		if enc == nil && !e.Hardware {
			// None installed: the first software one, which
			// checkInstalled reports as missing.
			enc = e
		}
	}
	if enc == nil {
		// A hardware-only name (h264_nvenc) with none installed: the
		// first, for checkInstalled to name.
		enc = cands[0]
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
		o, err := parseOutput(addr)
		if err == nil {
			if why := o.carries(enc.Family, installed); why != nil {
				err = fmt.Errorf("%w: %s (%s) to %s: %w", ErrUnknownCodec, c.Codec, enc.Family, Redact(addr), why)
			}
		}
		if err != nil && i == 1 {
			return description{}, fmt.Errorf("record: %w", err)
		}
		if err != nil {
			return description{}, err
		}
		d.outputs = append(d.outputs, branch{out: o})
	}
	if err := checkBackups(c, enc, installed); err != nil {
		return description{}, err
	}
	if len(d.outputs) > 1 && sameDestination(d.outputs[0].out.facts(), d.outputs[1].out.facts()) {
		return description{}, fmt.Errorf("%w: the record %q is the stream's own address %q; name another",
			ErrUnsupportedAddress, Redact(c.Record), Redact(c.Address))
	}
	var audioIns []audioIn
	if c.Audio.on() {
		var err error
		if audioIns, err = audioOf(c, d.outputs, installed); err != nil {
			return description{}, err
		}
	}
	d.sourceCaps, d.outputCaps = videoCaps(c, enc)
	d.fullRange = c.SourceFormat.fullRange()
	d.srcW, d.srcH = c.SourceSize()
	d.width, d.height = c.Width, c.Height
	d.soft, d.hard = queueBounds(c, d.live())
	d.elements = []gstpipe.Element{
		appsrcElement(d.live(), d.soft),
		// The caps again as a capsfilter, so the printed line, with
		// appsrc swapped for a test source, runs as it stands.
		{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps", Value: d.sourceCaps}}},
		// Frames arrive in I420 at the output size (converted or copied,
		// and scaled, by libyuv as they are pushed), which videoconvert
		// passes through; it stays for encoders that want another layout
		// (NV12 for most hardware), with the encoder's thread setting (0:
		// every core; GStreamer's default is one).
		{Factory: "videoconvert", Props: []gstpipe.Prop{{Name: "n-threads", Value: strconv.Itoa(c.Threads)}}},
		{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps", Value: d.outputCaps}}},
		{Factory: enc.Element, Props: enc.props(c)},
		enc.After,
	}
	d.countAt = len(d.elements) - 1
	d.encAt = d.countAt - 1
	if len(d.outputs) == 1 {
		if c.Audio.on() {
			d.elements = append(d.elements, trackQueue(c))
			d.audio.videoDrainAt = len(d.elements) - 1
		}
		d.outputs[0].first, d.outputs[0].join = len(d.elements), len(d.elements)
		d.elements = append(d.elements, d.outputs[0].out.elements(enc, c)...)
		d.outputs[0].end = len(d.elements)
		if c.Audio.on() {
			d.addAudio(c, audioIns, installed)
		}
		return d, nil
	}
	// One encode, several outputs: a tee with a queue per output, so a
	// slow output does not hold the others, and errorignore after it, so
	// an output that fails (its server gone, its disk full) does not stop
	// the others: its error still reaches the bus, and the stream reports
	// it.
	d.teeAt = len(d.elements)
	d.elements = append(d.elements, gstpipe.Element{Factory: "tee", Props: []gstpipe.Prop{{Name: "name", Value: "t"}}})
	for i := range d.outputs {
		o := &d.outputs[i]
		o.first = len(d.elements)
		d.elements = append(d.elements, branchHead(o.out.facts().network)...)
		if strings.HasSuffix(enc.After.Factory, "parse") {
			// A parser of its own in each branch gives each output the
			// stream format it takes (MP4, Matroska and FLV want avc or
			// hvc1, MPEG-TS and raw files byte-stream); one tee cannot
			// offer both, and the stream would fail to negotiate.
			d.elements = append(d.elements, enc.After)
		}
		o.join = len(d.elements)
		d.elements = append(d.elements, o.out.elements(enc, c)...)
		o.end = len(d.elements)
	}
	if c.Audio.on() {
		d.addAudio(c, audioIns, installed)
	}
	return d, nil
}

// branchHead is the head of an output's branch after a tee (the video's
// or the audio's): a queue, then errorignore. An output sent over a
// network that falls behind loses its oldest buffers after two seconds
// rather than hold the encoder (and a record) back; a file waits.
func branchHead(network bool) []gstpipe.Element {
	q := []gstpipe.Prop{{Name: "max-size-buffers", Value: "0"}, {Name: "max-size-bytes", Value: "0"}}
	if network {
		q = append(q, gstpipe.Prop{Name: "max-size-time", Value: "2000000000"}, gstpipe.Prop{Name: "leaky", Value: "downstream"})
	} else {
		q = append(q, gstpipe.Prop{Name: "max-size-time", Value: "0"})
	}
	return []gstpipe.Element{{Factory: "queue", Props: q},
		{Factory: "errorignore", Props: []gstpipe.Prop{{Name: "convert-to", Value: "ok"}}}}
}

// videoCaps are appsrc's caps and the caps the encoder takes. The matrix
// is BT.601 at every size: it is the only one libyuv converts RGB with
// (its BT.709 is YUV to RGB only), so the caps declare what was computed
// rather than the HD convention. Limited range, or full range for a
// yuvj420p source, whose frames go in as they are. The encoder writes
// both into the stream, so players convert back with the same matrix.
// Output caps say I420: x264enc would otherwise pick Y444 and produce
// High 4:4:4, which most players cannot decode. Frames are stretched to
// the output size (libyuv), as sws_scale does: square pixels.
func videoCaps(c Config, enc *encoder) (source, out string) {
	fr := c.FrameRate.String()
	colorimetry := "bt601"
	if c.SourceFormat.fullRange() {
		colorimetry = "1:4:16:4" // bt601 with the range full (GStreamer has no name for it)
	}
	source = fmt.Sprintf("video/x-raw,format=I420,width=%d,height=%d,framerate=%s,pixel-aspect-ratio=1/1,colorimetry=%s",
		c.Width, c.Height, fr, colorimetry)
	out = fmt.Sprintf("video/x-raw,format=I420,width=%d,height=%d,framerate=%s,pixel-aspect-ratio=1/1", c.Width, c.Height, fr)
	if enc.Family == famVP9 {
		// mp4mux (1.22) reads VP9's chroma site from the caps and crashes
		// the process when there is none (a NULL string compared).
		out += ",chroma-site=mpeg2"
	}
	return source, out
}

// sameDestination says whether two outputs would write the same place:
// the same location, or the same file however it is spelled.
func sameDestination(a, b facts) bool {
	if a.location == b.location {
		return true
	}
	if a.file == "" || b.file == "" {
		return false
	}
	pa, errA := filepath.Abs(a.file)
	pb, errB := filepath.Abs(b.file)
	if errA == nil && errB == nil && pa == pb {
		return true
	}
	fa, errA := os.Stat(a.file)
	fb, errB := os.Stat(b.file)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// checkBackups refuses backup addresses that cannot stand in for the
// address: not a server, not parsed, not taking the codec.
func checkBackups(c Config, enc *encoder, installed func(string) bool) error {
	if c.Backup == "" {
		return nil
	}
	if c.Record != "" {
		return fmt.Errorf("%w: a backup address with a record: give one or the other", ErrBadParameter)
	}
	for _, addr := range append([]string{c.Address}, strings.Fields(c.Backup)...) {
		o, err := parseOutput(addr)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if !o.facts().connects {
			return fmt.Errorf("%w: backup: %s is no server to reconnect to; backups are for RTSP, RTMP and SRT", ErrUnsupportedAddress, Redact(addr))
		}
		if why := o.carries(enc.Family, installed); why != nil {
			return fmt.Errorf("%w: backup %s: %w", ErrUnknownCodec, Redact(addr), why)
		}
	}
	return nil
}

// alternatives compiles the stream for each of its addresses, the address
// first and then the backups, with the encoder Setup brought up.
func alternatives(c Config, d description) ([]description, error) {
	alts := []description{d}
	for _, addr := range strings.Fields(c.Backup) {
		b := c
		b.Address, b.Codec = addr, d.enc.Element
		bd, err := compile(b, gstpipe.Installed)
		if err != nil {
			return nil, err
		}
		alts = append(alts, bd)
	}
	return alts, nil
}
