package mpegserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// encoderChecks remembers, for one Server, the encoder settings already
// brought up once, by their launch form: a check costs an encoder start
// (x265: ~0.1 s), and a program sets the same stream up again and again
// (reconnects, restarts).
type encoderChecks struct {
	m sync.Map // string → error (nil: the encoder took them)
}

// check brings the encoder up with the stream's settings on one black
// frame, so that settings it refuses fail Setup with its reason instead
// of the first frames after it (x265enc reports its refusals only when
// the first frame reaches it).
func (c *encoderChecks) check(ctx context.Context, d description) error {
	elems := append(append([]gstpipe.Element(nil), d.elements[:d.encAt+1]...), gstpipe.Element{Factory: "fakesink",
		Props: []gstpipe.Prop{{Name: "sync", Value: "false"}, {Name: "async", Value: "false"}}})
	// The key is the check's own launch line: it holds every setting the
	// encoder sees and no password (the sink is not part of it).
	key := description{elements: elems}.launchLine()
	if err, ok := c.m.Load(key); ok {
		if err == nil {
			return nil
		}
		return err.(error)
	}
	err := runEncoderCheck(ctx, d, elems)
	if ctx.Err() == nil {
		c.m.Store(key, err) // a check cut short proves nothing
	}
	return err
}

func runEncoderCheck(ctx context.Context, d description, elems []gstpipe.Element) error {
	// The encoder sees a live pipeline's settings but none of its sinks.
	spec := d.spec()
	spec.Elements, spec.Live, spec.CountAt, spec.PoolBuffers, spec.Branches = elems, false, len(elems)-2, 0, nil
	spec.DrainAt, spec.Audio, spec.AudioJoins = 0, nil, nil // the video encoder alone
	refused := func(why string) error {
		return fmt.Errorf("%w: %s (%s) refuses %s: %s", ErrBadParameter, d.enc.Element, d.codecName, encoderSummary(d), why)
	}
	p, err := buildPipeline(spec, newFlow())
	if err != nil {
		if strings.Contains(err.Error(), "link") {
			return refused("it does not take video of this size or rate")
		}
		return err
	}
	defer p.Release()
	events := make(chan gstpipe.Event, 16)
	if err := p.Start(func(ev gstpipe.Event) {
		if ev.Kind == gstpipe.EventError || ev.Kind == gstpipe.EventEOS {
			select {
			case events <- ev:
			default:
			}
		}
	}); err != nil {
		return fmt.Errorf("%w: %v", ErrPipeline, err)
	}
	w, h := d.srcW, d.srcH
	frame := gstpipe.Frame{Format: gstpipe.Gray, W: w, H: h, Planes: [3][]byte{make([]byte, w*h)}, Strides: [3]int{w}}
	if err := p.Push(frame, 0, time.Second/30, 0); err != nil && !errors.Is(err, gstpipe.ErrFlushing) {
		return fmt.Errorf("%w: %v", ErrPipeline, err)
	}
	p.EndOfStream()
	select {
	case ev := <-events:
		if ev.Kind == gstpipe.EventError {
			why := ev.Message
			if strings.Contains(ev.Debug, "not-negotiated") || strings.Contains(why, "not negotiated") {
				why = "it does not take video of this size or rate (" + why + ")"
			}
			return refused(why)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %s did not start within the setup timeout", ErrPipeline, d.enc.Element)
	}
}

// encoderSummary names the settings an encoder gets, for its errors.
func encoderSummary(d description) string {
	var parts []string
	for _, p := range d.elements[d.encAt].Props {
		parts = append(parts, p.Name+"="+p.Value)
	}
	caps := strings.TrimSuffix(strings.TrimPrefix(d.outputCaps, "video/x-raw,format=I420,"), ",pixel-aspect-ratio=1/1")
	return fmt.Sprintf("%s with %s", caps, strings.Join(parts, " "))
}
