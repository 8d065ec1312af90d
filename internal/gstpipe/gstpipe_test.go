package gstpipe

import (
	"errors"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

func appsrcChain(extra ...Element) []Element {
	return append([]Element{{Factory: "appsrc", Props: []Prop{{Name: "format", Value: "time"}}}}, extra...)
}

const caps = "video/x-raw,format=I420,width=64,height=48,framerate=30/1"

// rgbFrame is a black packed RGB frame.
func rgbFrame(w, h int) Frame {
	return Frame{Format: RGB24, W: w, H: h, Planes: [3][]byte{make([]byte, w*h*3)}, Strides: [3]int{w * 3}}
}

// TestBuildErrors: each bad spec is an error naming its cause, and a
// password never appears in it.
func TestBuildErrors(t *testing.T) {
	var pe *PropertyError
	for name, tc := range map[string]struct {
		spec Spec
		want string
		prop bool
	}{
		"no appsrc first":    {Spec{Elements: []Element{{Factory: "fakesink"}}}, "first element must be appsrc", false},
		"no such element":    {Spec{Elements: appsrcChain(Element{Factory: "nosuchelement"}), CountAt: 0}, "nosuchelement", false},
		"count out of range": {Spec{Elements: appsrcChain(), CountAt: 3}, "CountAt 3", false},
		"bad caps":           {Spec{Elements: appsrcChain(Element{Factory: "fakesink"}), SourceCaps: "not caps"}, "do not parse", false},
		"no such property": {Spec{Elements: appsrcChain(Element{Factory: "fakesink", Props: []Prop{{Name: "nope", Value: "1"}}})},
			`no property "nope"`, true},
		"bad enum value": {Spec{Elements: appsrcChain(Element{Factory: "fakesink", Props: []Prop{{Name: "sync", Value: "maybe"}}})},
			`"maybe" is not a valid`, true},
		"secret redacted": {Spec{Elements: appsrcChain(Element{Factory: "fakesink", Props: []Prop{{Name: "sync", Value: "hunter2", Secret: true}}})},
			"REDACTED", true},
	} {
		p, err := Build(tc.spec, func(bool) {})
		if err == nil {
			p.Release()
			t.Errorf("%s: built", name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v, want it to say %q", name, err, tc.want)
		}
		if errors.As(err, &pe) != tc.prop {
			t.Errorf("%s: PropertyError %v, want %v", name, errors.As(err, &pe), tc.prop)
		}
	}
}

// TestPushCountsAndDrains: frames pushed into appsrc ! fakesink are
// counted at the counted element, and end-of-stream reports drained and
// EOS.
func TestPushCountsAndDrains(t *testing.T) {
	spec := Spec{Elements: appsrcChain(Element{Factory: "identity"}, Element{Factory: "fakesink"}),
		SourceCaps: caps, CountAt: 1, PoolBuffers: 4}
	p, err := Build(spec, func(bool) {})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	events := make(chan Event, 16)
	if err := p.Start(func(e Event) { events <- e }); err != nil {
		t.Fatal(err)
	}
	f := rgbFrame(64, 48)
	for i := 0; i < 5; i++ {
		if err := p.Push(f, time.Duration(i)*time.Second/30, time.Second/30, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	p.EndOfStream()
	drained, eos := false, false
	timeout := time.After(10 * time.Second)
	for !drained || !eos {
		select {
		case e := <-events:
			switch e.Kind {
			case EventDrained:
				drained = true
			case EventEOS:
				eos = true
			case EventError:
				t.Fatalf("error: %s: %s", e.Source, e.Message)
			}
		case <-timeout:
			t.Fatalf("drained %v, eos %v after 10 s", drained, eos)
		}
	}
	if frames, bytes := p.Encoded(); frames != 5 || bytes != 5*64*48*3/2 {
		t.Errorf("counted %d frames, %d bytes; want 5, %d", frames, bytes, 5*64*48*3/2)
	}
	if err := p.Push(f, time.Second, time.Second/30, 5); !errors.Is(err, ErrFlushing) {
		t.Errorf("push after EOS: %v, want ErrFlushing", err)
	}
	p.Release()
	p.Release() // twice is fine
}

// TestReleaseFreesWithoutGC: Release frees what Build made at once. With
// the garbage collector off, 40 build/start/push/release cycles leave no
// file descriptor behind (each pipeline's bus holds two until freed).
func TestReleaseFreesWithoutGC(t *testing.T) {
	fds := func() map[string]string {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		m := map[string]string{}
		for _, e := range ents {
			m[e.Name()], _ = os.Readlink("/proc/self/fd/" + e.Name())
		}
		return m
	}
	cycle := func() {
		// No clock waits (sync=false): the first wait on the system clock
		// opens its wake-up sockets for good, and whether a cycle waits
		// depends on the machine's load (fds grew 10 -> 12 once, beside a
		// busy core).
		p, err := Build(Spec{Elements: appsrcChain(Element{Factory: "identity"},
			Element{Factory: "fakesink", Props: []Prop{{Name: "sync", Value: "false"}}}),
			SourceCaps: caps, CountAt: 1, PoolBuffers: 4}, func(bool) {})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(func(Event) {}); err != nil {
			t.Fatal(err)
		}
		f := rgbFrame(64, 48)
		if err := p.Push(f, 0, time.Second/30, 0); err != nil {
			t.Fatal(err)
		}
		p.Release()
		if n, _ := p.Encoded(); n > 1 {
			t.Fatalf("encoded %d after release", n)
		}
	}
	cycle() // warm up: plugins load, GStreamer starts its threads
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := fds()
	for i := 0; i < 40; i++ {
		cycle()
	}
	// The last pipeline's bus can outlive Release by a moment (two
	// sockets, 2 runs in 30 failed without this wait): wait for it; a
	// leak stays.
	after := fds()
	for deadline := time.Now().Add(5 * time.Second); len(after) > len(before) && time.Now().Before(deadline); after = fds() {
		time.Sleep(time.Millisecond)
	}
	if len(after) > len(before) {
		t.Errorf("open file descriptors grew from %d to %d over 40 cycles without GC: %v then %v", len(before), len(after), before, after)
	}
}

// TestFlowReportsChanges: appsrc signals enough-data for every frame pushed
// past its bound (and, in a live stream, need-data for nearly every frame
// it hands on), but Go hears only the changes, in order: enough first (Go
// starts out "need data"), then alternating.
func TestFlowReportsChanges(t *testing.T) {
	var mu sync.Mutex
	var got []bool
	last := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return 0, false
		}
		return len(got), got[len(got)-1]
	}
	spec := Spec{Elements: []Element{
		{Factory: "appsrc", Props: []Prop{{Name: "format", Value: "time"}, {Name: "block", Value: "false"},
			{Name: "max-buffers", Value: "4"}, {Name: "min-percent", Value: "50"}, {Name: "max-bytes", Value: "0"}, {Name: "max-time", Value: "0"}}},
		// 20 ms a frame: a burst of pushes outruns it and fills the queue.
		{Factory: "identity", Props: []Prop{{Name: "sleep-time", Value: "20000"}}},
		{Factory: "fakesink"}},
		SourceCaps: caps, CountAt: 1, PoolBuffers: 4}
	p, err := Build(spec, func(enough bool) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, enough)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	if err := p.Start(func(Event) {}); err != nil {
		t.Fatal(err)
	}
	f := rgbFrame(64, 48)
	const bursts, per = 5, 8
	for b := 0; b < bursts; b++ {
		for i := 0; i < per; i++ {
			k := int64(b*per + i)
			if err := p.Push(f, time.Duration(k)*time.Second/30, time.Second/30, k); err != nil {
				t.Fatal(err)
			}
		}
		// The burst filled the queue; wait for appsrc to ask again.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			if n, enough := last(); n > 0 && !enough {
				break
			}
			if time.Now().After(deadline) {
				mu.Lock()
				t.Fatalf("burst %d: no need-data reported within 10 s; reports %v", b, got)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d frames in %d bursts, %d reports: %v", bursts*per, bursts, len(got), got)
	if len(got) < 2 {
		t.Fatalf("reports %v: the queue never filled, nothing was tested", got)
	}
	for i, enough := range got {
		if want := i%2 == 0; enough != want {
			t.Fatalf("report %d is enough=%v, want %v: %v", i, enough, want, got)
		}
	}
}

// TestBusWaitsInPoller: between messages the bus watcher waits in Go's
// poller, not in a C call: a goroutine blocked in C holds one of the
// process's Ps until the runtime takes it back, and with a watcher per
// stream that cost many-stream processes CPU (docs/design.md).
func TestBusWaitsInPoller(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the bus is waited for in the poller on Linux only")
	}
	p, err := Build(Spec{Elements: appsrcChain(Element{Factory: "fakesink"}), SourceCaps: caps}, func(bool) {})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	if err := p.Start(func(Event) {}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		all := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(all, "\n\n") {
			if !strings.Contains(g, "(*Pipeline).watch(") {
				continue
			}
			last = g
			if strings.Contains(strings.SplitN(g, "\n", 2)[0], "[IO wait") {
				return
			}
		}
	}
	t.Fatalf("the bus watcher never waited in the poller; last seen:\n%s", last)
}
