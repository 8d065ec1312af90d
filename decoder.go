package mpegserver

import (
	"errors"
	"fmt"
	"slices"
)

// A ParameterSource gives a source's settings as the original decoder's
// getParameter() dict: a *Reader, a SourceInfo (from Probe).
type ParameterSource interface {
	Parameters() map[string]any
}

// Decoder copies a source's settings, as the original's
// setParameter(decoder=...): output size, source size, frame rate, bit rate
// and, when the source says, GOP size and B-frames; frames ahead goes back
// to 2 × GOPSize. The codec is not copied (the source names its decoder).
// Explicit options in the same SetParameter call win, wherever they stand:
//
//	s.SetParameter(mpegserver.Decoder(r), mpegserver.Codec("libx265"), mpegserver.GOPSize(24))
func Decoder(src ParameterSource) Option {
	if src == nil {
		return func(c *Config) { c.optErr = fmt.Errorf("%w: Decoder(nil)", ErrBadParameter) }
	}
	return ConfigDict(src.Parameters())
}

// ConfigDict copies settings from a decoder's getParameter() dict, as the
// original's setParameter(configDict=...), for settings that crossed a
// process boundary (JSON numbers are fine). Keys it uses: width, height,
// widthDst, heightDst, frameRate, bitRate (bit/s, as the original's dict),
// GOPSize, maxBframe. Any other key (frameCount, duration, codecName,
// videoPath, ...) is ignored; a used key of the wrong type is an
// ErrBadParameter from SetParameter.
func ConfigDict(dict map[string]any) Option {
	opts, err := dictOptions(dict)
	return func(c *Config) {
		if c.copying {
			return // applied first by SetParameter already
		}
		if err != nil {
			c.optErr = err
			return
		}
		c.copied = &opts
		for _, o := range opts {
			o(c)
		}
	}
}

// dictOptions turns a decoder dict into the options it implies. Zero or
// missing values leave the setting as it is.
func dictOptions(d map[string]any) ([]Option, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: decoder settings are nil", ErrBadParameter)
	}
	var errs []error
	num := func(key string) (int, bool) {
		v, ok := d[key]
		if !ok || v == nil {
			return 0, false
		}
		n, ok := toInt(v)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: decoder %s %v (%T) is not an integer", ErrBadParameter, key, v, v))
		}
		return n, ok
	}
	var opts []Option
	w, okw := num("width")
	h, okh := num("height")
	if okw && w > 0 {
		opts = append(opts, Width(w))
	}
	if okh && h > 0 {
		opts = append(opts, Height(h))
	}
	// The frames a decoder gives are widthDst × heightDst when it resizes,
	// else the source's size: that is the size the server will be served.
	ws, hs := w, h
	if n, ok := num("widthDst"); ok && n > 0 {
		ws = n
	}
	if n, ok := num("heightDst"); ok && n > 0 {
		hs = n
	}
	if ws > 0 && hs > 0 {
		opts = append(opts, SourceSize(ws, hs))
	}
	if n, ok := num("GOPSize"); ok && n > 0 {
		opts = append(opts, GOPSize(n))
	}
	if n, ok := num("maxBframe"); ok && n >= 0 {
		opts = append(opts, MaxBFrames(n))
	}
	if v, ok := d["frameRate"]; ok && v != nil {
		r, err := toRational(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("decoder %w", err))
		case r.Num > 0 && r.Den > 0:
			opts = append(opts, FrameRate(r.Num, r.Den))
		}
	}
	if v, ok := d["bitRate"]; ok && v != nil {
		bps, ok := toFloat(v)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%w: decoder bitRate %v (%T) is not a number", ErrBadParameter, v, v))
		case bps > 0:
			opts = append(opts, BitRate(bps/1024))
		}
	}
	opts = append(opts, FrameAhead(AutoFrameAhead))
	return opts, errors.Join(errs...)
}

// copyKeys are the keys SetParameters takes for settings copied from a
// source (they are not parameters the server reports).
var copyKeys = []string{"decoder", "configDict"}

// copyOption reads SetParameters' decoder= or configDict= value.
func copyOption(key string, v any) (Option, error) {
	switch src := v.(type) {
	case map[string]any:
		return ConfigDict(src), nil // parsed now: later changes to the map do not reach it
	case ParameterSource:
		if key == "decoder" {
			return Decoder(src), nil
		}
	}
	want := "a *Reader or a SourceInfo"
	if key == "configDict" {
		want = "a map[string]any"
	}
	return nil, fmt.Errorf("%w: %s is %T, want %s", ErrBadParameter, key, v, want)
}

func isCopyKey(k string) bool { return slices.Contains(copyKeys, k) }
