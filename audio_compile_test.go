package mpegserver

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// TestCompileAudio: with an audio track, each output that carries one
// gets a second chain from its own appsrc into its first element (the
// muxer, or the sink that takes several streams), with the codec its
// container wants; a queue before that element on each track; a live
// muxer's latency covering the time served audio may lag.
func TestCompileAudio(t *testing.T) {
	shared := []string{"appsrc", "capsfilter", "audioresample", "capsfilter"}
	aac := []string{"queue", "audioconvert", "voaacenc", "aacparse"}
	opus := []string{"queue", "audioconvert", "opusenc"}
	for _, tc := range []struct {
		addr, codec string
		tail        []string // the join's elements
		into, pad   string
		latency     bool
	}{
		{"rtsp://127.0.0.1:8554/x", "", aac, "rtspclientsink", "", false},
		{"rtmp://127.0.0.1/live/x", "", aac, "flvmux", "", true},
		{"srt://127.0.0.1:9000", "", aac, "mpegtsmux", "", true},
		{"udp://127.0.0.1:5000", "", aac, "mpegtsmux", "", true},
		{"/tmp/live.m3u8", "", aac, "hlssink2", "audio", false},
		{"/tmp/out.mp4", "", aac, "mp4mux", "", false}, // offline: no latency
		{"/tmp/out.mkv", "", aac, "matroskamux", "", false},
		{"/tmp/out.ts", "", aac, "mpegtsmux", "", false},
		{"/tmp/out.webm", "libvpx", opus, "webmmux", "", false},
	} {
		opts := []Option{Address(tc.addr), Audio(Silence())}
		if tc.codec != "" {
			opts = append(opts, Codec(tc.codec))
		}
		d, err := compileWith(t, everything, opts...)
		if err != nil {
			t.Errorf("%s: %v", tc.addr, err)
			continue
		}
		a := d.audio
		if got, want := factories(a.elements), append(slices.Clone(shared), tc.tail...); !slices.Equal(got, want) {
			t.Errorf("%s: audio %v, want %v", tc.addr, got, want)
		}
		if len(a.joins) != 1 || a.joins[0].First != len(shared) || a.joins[0].End != len(a.elements) || a.joins[0].Pad != tc.pad {
			t.Errorf("%s: joins %+v", tc.addr, a.joins)
			continue
		}
		into := d.elements[a.joins[0].Into]
		if into.Factory != tc.into || a.joins[0].Into != d.outputs[0].first {
			t.Errorf("%s: audio goes into %s (element %d), output starts at %d", tc.addr, into.Factory, a.joins[0].Into, d.outputs[0].first)
		}
		if q := d.elements[d.outputs[0].first-1]; q.Factory != "queue" || a.videoDrainAt != d.outputs[0].first-1 || a.drainAt != len(shared) {
			t.Errorf("%s: before the output %s; drains at video %d, audio %d", tc.addr, q.Factory, a.videoDrainAt, a.drainAt)
		}
		if got := prop(into, "latency") != ""; got != tc.latency {
			t.Errorf("%s: latency on %s: %v, want %v", tc.addr, into.Factory, got, tc.latency)
		}
		if prop(a.elements[0], "is-live") != prop(d.elements[0], "is-live") {
			t.Errorf("%s: audio is-live %s, video %s", tc.addr, prop(a.elements[0], "is-live"), prop(d.elements[0], "is-live"))
		}
		line := d.launchLine()
		if !strings.Contains(line, " "+tc.into+" name=m0 ") || !strings.HasSuffix(line, " ! m0."+tc.pad) {
			t.Errorf("%s: launch line %s", tc.addr, line)
		}
	}
}

// TestCompileAudioRecord: with a record, the samples are shared up to a
// tee, and each output encodes them as its container wants (an RTMP
// stream's AAC beside a WebM record's Opus would need two codecs).
func TestCompileAudioRecord(t *testing.T) {
	d, err := compileWith(t, everything, Address("rtmp://127.0.0.1/live/x"), Record("/tmp/rec.mp4"), Audio(Samples(44100, 1)))
	if err != nil {
		t.Fatal(err)
	}
	a := d.audio
	want := []string{"appsrc", "capsfilter", "audioresample", "capsfilter", "tee",
		"queue", "errorignore", "audioconvert", "voaacenc", "aacparse",
		"queue", "errorignore", "audioconvert", "voaacenc", "aacparse"}
	if got := factories(a.elements); !slices.Equal(got, want) {
		t.Fatalf("%v\nwant %v", got, want)
	}
	if len(a.joins) != 2 || a.joins[0] != (gstpipe.Join{First: 5, End: 10, Into: d.outputs[0].join}) ||
		a.joins[1] != (gstpipe.Join{First: 10, End: 15, Into: d.outputs[1].join}) {
		t.Errorf("joins %+v, outputs %+v", a.joins, d.outputs)
	}
	if d.elements[d.outputs[0].join].Factory != "flvmux" || d.elements[d.outputs[1].join].Factory != "mp4mux" || a.drainAt != 3 || a.videoDrainAt != 0 {
		t.Errorf("joins into %s and %s; drains at %d", d.elements[d.outputs[0].join].Factory, d.elements[d.outputs[1].join].Factory, a.drainAt)
	}
	if a.caps != "audio/x-raw,format=S16LE,layout=interleaved,rate=44100,channels=1" || prop(a.elements[3], "caps") != "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1" {
		t.Errorf("caps %s, then %s", a.caps, prop(a.elements[3], "caps"))
	}
	line := d.launchLine()
	for _, w := range []string{" flvmux name=m0 ", " mp4mux name=m1 ", " ! tee name=at at. ! queue", "aacparse ! m0. at. ! queue", "aacparse ! m1."} {
		if !strings.Contains(line, w) {
			t.Errorf("launch line lacks %q: %s", w, line)
		}
	}
	s := d.spec()
	if len(s.Audio) != len(a.elements) || len(s.AudioJoins) != 2 || s.AudioDrainAt != 3 || s.AudioCaps != a.caps {
		t.Errorf("spec: %+v", s)
	}

	d, err = compileWith(t, everything, Codec("libvpx"), Address("rtsp://127.0.0.1/x"), Record("/tmp/rec.webm"), Audio(Silence()))
	if err != nil {
		t.Fatal(err)
	}
	if got := factories(d.audio.elements); !slices.Contains(got, "voaacenc") || !slices.Contains(got, "opusenc") {
		t.Errorf("RTSP and WebM: %v", got)
	}
	// Samples are stamped early by the first output's encoder delay.
	if d.audio.delay != samplesDuration(1600, 48000) {
		t.Errorf("delay %v", d.audio.delay)
	}
}

// TestCompileAudioRefusals: an output with no room for audio, or a bad
// audio setting, is refused before anything starts.
func TestCompileAudioRefusals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		installed func(string) bool
		opts      []Option
		want      error
		says      string
	}{
		{"raw file", everything, []Option{Address("/tmp/x.h264"), Audio(Silence())}, ErrUnsupportedAddress, "one elementary stream"},
		{"raw record", everything, []Option{Record("/tmp/x.h264"), Audio(Silence())}, ErrUnsupportedAddress, "record: "},
		{"no LATM payloader", without("rtpmp4apay"), []Option{Audio(Silence())}, ErrNotInstalled, "rtpmp4apay"},
	} {
		_, err := compileWith(t, tc.installed, tc.opts...)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.want, tc.says)
		}
	}
	for _, a := range []AudioConfig{Samples(7999, 2), Samples(96001, 2), Samples(48000, 3), {Source: SilentAudio, BitRate: 321},
		{Source: ServedAudio, Channels: -1}, {Source: 7}} {
		if _, err := DefaultConfig().with([]Option{Audio(a)}); !errors.Is(err, ErrBadParameter) {
			t.Errorf("%+v: %v, want ErrBadParameter", a, err)
		}
	}
	if c, err := DefaultConfig().with([]Option{Audio(Samples(0, 0))}); err != nil || c.Audio.rate() != 48000 || c.Audio.channels() != 2 {
		t.Errorf("defaults: %v %+v", err, c.Audio)
	}
}

// TestCompileAudioEncoder: AAC from voaacenc, else avenc_aac, each with
// its own delay; one missing everywhere is named at Setup.
func TestCompileAudioEncoder(t *testing.T) {
	d, err := compileWith(t, without("voaacenc"), Address("/tmp/x.mp4"), Audio(Silence()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(factories(d.audio.elements), "avenc_aac") || d.audio.delay != samplesDuration(1024, 48000) {
		t.Errorf("%v, delay %v", factories(d.audio.elements), d.audio.delay)
	}
	d, err = compileWith(t, without("voaacenc", "avenc_aac"), Address("/tmp/x.mp4"), Audio(Silence()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(factories(d.audio.elements), "voaacenc") {
		t.Errorf("none installed: %v, want the first, for checkInstalled to name", factories(d.audio.elements))
	}
}
