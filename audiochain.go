package mpegserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// audioIn is what an output takes of an audio track: the codec, and the
// request pad template of its first element (its muxer, or a sink that
// takes several streams) the track goes in on, "" for any.
type audioIn struct {
	codec string // audioAAC or audioOpus
	pad   string
}

const (
	audioAAC  = "aac"
	audioOpus = "opus"
	// audioTrackRate is the encoded track's rate: what AAC ingest
	// (YouTube, Facebook) wants, and what Opus encodes at.
	audioTrackRate = 48000
)

// audioEncoder is one encoder element and its delay: how many samples
// (at 48 kHz) the decoded track starts late by, which a container without
// an edit list (MPEG-TS, FLV, RTP) cannot say. Measured here: a click
// pushed at sample 3 decodes (ffmpeg) at 1027 after avenc_aac, 1603
// after voaacenc.
type audioEncoder struct {
	element string
	delay   int
}

// audioEncoders are, per codec, the encoders in order of preference and
// the parser after them ("" for none). voaacenc first: avenc_aac's
// config carries an SBR extension that mediamtx misreads over RTSP
// (docs/outputs.md). Each with its priming delay, in samples.
var audioEncoders = map[string]struct {
	encoders []audioEncoder
	parser   string
}{
	audioAAC:  {[]audioEncoder{{"voaacenc", 1600}, {"avenc_aac", 1024}}, "aacparse"},
	audioOpus: {[]audioEncoder{{"opusenc", 0}}, ""},
}

// liveMuxers are the muxers that, in a live pipeline, give up waiting
// for a track after their latency and go on without it (GstAggregator):
// audio that comes after that is late for them, and flvmux stamps it
// with the time it has reached (measured: AAC frames two and three to a
// time stamp after a stalled producer, decoded 22 ms late from then on).
// With audio their latency covers the time served audio may lag before
// silence fills it in (audioSlack), and a margin. matroskamux and webmmux
// wait for every track whatever the time.
var liveMuxers = []string{"flvmux", "mpegtsmux", "mp4mux", "qtmux"}

// muxerMargin is the time, beyond the audio slack, a live muxer waits for
// a track: the filler's tick and the samples' way through the encoder, on
// a loaded machine (100 ms left a hole of 133 ms in a recorded track
// under the race detector and a busy test suite).
const muxerMargin = 500 * time.Millisecond

// audioSlack is how far behind play time served audio may fall before
// silence fills the gap: what the video allows a late frame (lateSlots
// periods), and no less than minAudioSlack.
func audioSlack(c Config) time.Duration {
	return max(lateSlots*framePeriod(c.FrameRate), minAudioSlack)
}

// audioDesc is the audio part of a description: the chain from its
// appsrc to each output (gstpipe's Spec.Audio and Joins).
type audioDesc struct {
	elements []gstpipe.Element
	caps     string // the served samples' caps, appsrc's
	joins    []gstpipe.Join
	drainAt  int // the audio element whose end-of-stream drains the track
	// videoDrainAt is the video element whose end-of-stream drains the
	// video when a queue follows the counted parser (0: the parser).
	videoDrainAt int
	hard         time.Duration // where ServeAudio refuses: twice appsrc's max-time, and a frame period
	// delay is the first output's audio encoder's: samples are stamped
	// that much early, so that they decode in step with the frames.
	delay time.Duration
}

// fill adds the audio to a spec.
func (a audioDesc) fill(s *gstpipe.Spec) {
	s.DrainAt = a.videoDrainAt
	if len(a.elements) == 0 {
		return
	}
	s.Audio, s.AudioCaps, s.AudioJoins, s.AudioDrainAt = a.elements, a.caps, a.joins, a.drainAt
}

// audioOf asks each output what audio it takes, before any element is
// made: an output that takes none refuses the configuration.
func audioOf(c Config, outs []branch, installed func(string) bool) ([]audioIn, error) {
	var ins []audioIn
	for k, o := range outs {
		in, err := o.out.audio(installed)
		if err != nil {
			err = fmt.Errorf("%w: an audio track (%s) to %s: %w", ErrUnsupportedAddress, c.Audio, Redact(o.out.address()), err)
			if k > 0 {
				err = fmt.Errorf("record: %w", err)
			}
			return nil, err
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// trackQueue sits before the muxer on each track of a single output with
// audio, so that either track may run ahead of the other by the
// frames-ahead bound (and a second more) before it waits: a muxer takes
// buffers in time order, and without it one track's producer would wait
// on the other's within a few frames.
func trackQueue(c Config) gstpipe.Element {
	return gstpipe.Element{Factory: "queue", Props: []gstpipe.Prop{
		{Name: "max-size-buffers", Value: "0"}, {Name: "max-size-bytes", Value: "0"},
		{Name: "max-size-time", Value: strconv.FormatInt(int64(aheadTime(c)+time.Second), 10)},
	}}
}

// aheadTime is the frames-ahead bound as time: FrameAhead frame periods.
func aheadTime(c Config) time.Duration {
	return time.Duration(int64(c.Ahead()) * int64(c.FrameRate.Den) * int64(time.Second) / int64(c.FrameRate.Num))
}

// addAudio adds the audio chain to a description whose video is built:
//
//	appsrc ! <served caps> ! audioresample ! <48 kHz caps> ! queue ! audioconvert ! <encoder> [! <parser>] ! <output>.
//
// and with several outputs a tee after the 48 kHz caps, and a queue,
// errorignore and encoder of its own per output (a WebM record takes
// Opus beside an RTMP stream's AAC).
func (d *description) addAudio(c Config, ins []audioIn, installed func(string) bool) {
	a := c.Audio
	ch := strconv.Itoa(a.channels())
	d.audio.caps = "audio/x-raw,format=S16LE,layout=interleaved,rate=" + strconv.Itoa(a.rate()) + ",channels=" + ch
	period := framePeriod(c.FrameRate)
	// As the video's: one frame period more than the frames-ahead rule
	// allows, so the rule binds first; twice that (and a frame) is where
	// ServeAudio refuses.
	soft := aheadTime(c) + 2*period
	d.audio.hard = 2*soft + period
	els := []gstpipe.Element{
		{Factory: "appsrc", Props: []gstpipe.Prop{
			{Name: "is-live", Value: strconv.FormatBool(d.live())},
			{Name: "format", Value: "time"},
			{Name: "do-timestamp", Value: "false"},
			{Name: "block", Value: "false"},
			{Name: "max-bytes", Value: "0"},
			{Name: "max-buffers", Value: "0"},
			{Name: "max-time", Value: strconv.FormatInt(int64(soft), 10)},
			{Name: "min-percent", Value: "90"},
		}},
		{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps", Value: d.audio.caps}}},
		{Factory: "audioresample"},
		{Factory: "capsfilter", Props: []gstpipe.Prop{{Name: "caps",
			Value: "audio/x-raw,format=S16LE,layout=interleaved,rate=" + strconv.Itoa(audioTrackRate) + ",channels=" + ch}}},
	}
	several := len(d.outputs) > 1
	d.audio.drainAt = len(els) - 1
	if several {
		els = append(els, gstpipe.Element{Factory: "tee", Props: []gstpipe.Prop{{Name: "name", Value: "at"}}})
	}
	for k, o := range d.outputs {
		j := gstpipe.Join{First: len(els), Into: o.join, Pad: ins[k].pad}
		// Offline the muxer waits for every track anyway, and a latency
		// would let it hold that much of one track (past the frames'
		// end at Close, where the track is cut).
		if into := &d.elements[o.join]; d.live() && slices.Contains(liveMuxers, into.Factory) {
			into.Props = append(slices.Clone(into.Props), gstpipe.Prop{Name: "latency",
				Value: strconv.FormatInt(int64(audioSlack(c)+muxerMargin), 10)})
		}
		if several {
			els = append(els, branchHead(o.out.facts().network)...)
		} else {
			els = append(els, trackQueue(c))
			d.audio.drainAt = j.First
		}
		enc, delay := encodeAudio(ins[k].codec, a.bitRate(), installed)
		if k == 0 {
			d.audio.delay = samplesDuration(int64(delay), audioTrackRate)
		}
		els = append(els, enc...)
		j.End = len(els)
		d.audio.joins = append(d.audio.joins, j)
	}
	d.audio.elements = els
}

// encodeAudio is audioconvert (each encoder takes its own sample format),
// the codec's first installed encoder (or its first, for checkInstalled to
// name) and its parser; and the encoder's delay in samples.
func encodeAudio(codec string, kbps int, installed func(string) bool) ([]gstpipe.Element, int) {
	cands := audioEncoders[codec]
	enc := cands.encoders[0]
	for _, e := range cands.encoders {
		if installed(e.element) {
			enc = e
			break
		}
	}
	// Every encoder here takes bit/s.
	out := []gstpipe.Element{{Factory: "audioconvert"},
		{Factory: enc.element, Props: []gstpipe.Prop{{Name: "bitrate", Value: strconv.Itoa(kbps * 1000)}}}}
	if cands.parser != "" {
		out = append(out, gstpipe.Element{Factory: cands.parser})
	}
	return out, enc.delay
}

// audioSharedEnd is the index, after the video's, of the first audio
// element that belongs to one output; those before are shared.
func (d description) audioSharedEnd() int {
	if len(d.audio.joins) == 0 {
		return 0
	}
	return d.audio.joins[0].First
}

// joinName is the name the launch line gives an element the audio goes
// into, "" for one it does not.
func (d description) joinName(i int) string {
	for k, j := range d.audio.joins {
		if j.Into == i {
			return "m" + strconv.Itoa(k)
		}
	}
	return ""
}

// audioLaunch renders the audio chain for the launch line: the shared
// part as a chain of its own, then each output's part from the tee,
// ending in the named element it goes into ("m0." or "m0.audio").
func (d description) audioLaunch(b *strings.Builder) {
	a := d.audio
	if len(a.elements) == 0 {
		return
	}
	shared := a.joins[0].First
	for i, e := range a.elements[:shared] {
		if i > 0 {
			b.WriteString(" !")
		}
		writeElement(b, e, "")
	}
	for k, j := range a.joins {
		if len(a.joins) > 1 {
			b.WriteString(" at.")
		}
		for _, e := range a.elements[j.First:j.End] {
			b.WriteString(" !")
			writeElement(b, e, "")
		}
		b.WriteString(" ! m" + strconv.Itoa(k) + "." + j.Pad)
	}
}
