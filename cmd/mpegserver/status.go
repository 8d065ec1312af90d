package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/mpegcoder-go/mpegserver"
)

type status struct {
	done chan struct{}
	wg   sync.WaitGroup
}

func (st *status) stop() {
	close(st.done)
	st.wg.Wait()
}

// startStatus reads the stream's events (the library logs them) and
// shows the stream's figures: on a terminal a line rewritten in place,
// otherwise a "status" log record every few seconds. An output lost for
// good (no reconnection) is handed to lost.
func startStatus(s *mpegserver.Server, w io.Writer, quiet bool, log *slog.Logger, lost func(error)) *status {
	st := &status{done: make(chan struct{})}
	tty := !quiet && isTerminal(w)
	every := 5 * time.Second
	if tty {
		every = 500 * time.Millisecond
	}
	st.wg.Add(1)
	go func() {
		defer st.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		ticks := t.C
		if quiet {
			ticks = nil
		}
		flapping, since := false, time.Now()
		clear := func() {
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
		}
		for {
			select {
			case <-st.done:
				clear()
				return
			case ev := <-s.Events():
				clear()
				switch {
				case ev.Kind == mpegserver.OutputFailed && !s.Config().Reconnect && mpegserver.IsLoss(ev.Err):
					lost(ev.Err)
				case ev.Kind == mpegserver.Flapping:
					flapping = true
				case ev.Kind == mpegserver.Reconnected:
					since = time.Now()
				}
			case <-ticks:
				cur := s.Stats()
				state := cur.State.String()
				if flapping && time.Since(since) < time.Minute {
					state += " (replaced or refused repeatedly)"
				}
				if !tty {
					log.Info("status", "state", state, "frames", cur.Pushed, "fps", round1(cur.FPS), "kbps", round1(cur.BitRate/1000),
						"ahead", cur.Ahead, "queued", cur.Queued, "refused", cur.Refused, "dropped", cur.Dropped, "reconnects", cur.Reconnects)
					continue
				}
				fmt.Fprintf(w, "\r\033[K%s  frames %d  %.1f fps  %.0f kb/s  ahead %d  queued %d  refused %d  dropped %d  reconnects %d",
					state, cur.Pushed, cur.FPS, cur.BitRate/1000, cur.Ahead, cur.Queued, cur.Refused, cur.Dropped, cur.Reconnects)
			}
		}
	}()
	return st
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func printSummary(w io.Writer, st mpegserver.Stats, wall time.Duration) {
	secs := wall.Seconds()
	fps, kbps := 0.0, 0.0
	if secs > 0 {
		fps = float64(st.Pushed) / secs
		kbps = float64(st.Bytes) * 8 / 1000 / secs
	}
	fmt.Fprintf(w, "Summary: %d frames in %.2f s (%.1f fps), %.0f kb/s, %d refused, %d dropped, at most %d frames ahead, %d time-line slips",
		st.Pushed, secs, fps, kbps, st.Refused, max(st.Pushed-st.Encoded, 0)+st.Dropped, st.MaxAhead, st.Slips)
	if st.Reconnects > 0 || st.Dropped > 0 {
		fmt.Fprintf(w, ", %d reconnects, down %.2f s (%d frames dropped while down)", st.Reconnects, st.Down.Seconds(), st.Dropped)
	}
	if st.AudioServed > 0 || st.AudioFilled > 0 {
		fmt.Fprintf(w, "; audio: %.2f s served, %.2f s of silence filled in", st.AudioServed.Seconds(), st.AudioFilled.Seconds())
	}
	fmt.Fprintln(w)
	for _, o := range st.Outputs {
		state := "ok"
		if o.Err != nil {
			state = "failed: " + o.Err.Error()
		}
		fmt.Fprintf(w, "  %s: %d frames, %d bytes, %s\n", o.Address, o.Frames, o.Bytes, state)
	}
}
