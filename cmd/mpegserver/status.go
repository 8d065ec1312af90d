package main

import (
	"fmt"
	"io"
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

// startStatus reads the stream's events and, unless quiet, prints its
// figures, a line rewritten in place on a terminal, a plain line every few
// seconds otherwise, and the events as they come (lost, reconnecting,
// back). An output lost for good (no reconnection) is handed to lost.
func startStatus(s *mpegserver.Server, w io.Writer, quiet bool, lost func(error)) *status {
	st := &status{done: make(chan struct{})}
	if quiet {
		w = io.Discard
	}
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
		var prev mpegserver.Stats
		state := "up"
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
				switch ev.Kind {
				case mpegserver.Disconnected:
					state = "down"
					fmt.Fprintf(w, "connection lost: %v\nreconnecting; frames are dropped (and counted) until the stream is back\n", ev.Err)
				case mpegserver.Reconnecting:
					if ev.Attempt > 1 && (ev.Attempt <= 3 || ev.Attempt%10 == 0) {
						fmt.Fprintf(w, "reconnecting: attempt %d\n", ev.Attempt)
					}
				case mpegserver.OutputFailed:
					if !s.Config().Reconnect && mpegserver.IsLoss(ev.Err) {
						lost(ev.Err)
						continue
					}
					fmt.Fprintf(w, "output dropped, the others go on: %v\n", ev.Err)
				case mpegserver.Reconnected:
					state = "up"
					cur := s.Stats()
					fmt.Fprintf(w, "reconnected (attempt %d); %d frames dropped so far, down %v in all\n",
						ev.Attempt, cur.Dropped, cur.Down.Round(time.Millisecond))
				}
			case <-ticks:
				cur := s.Stats()
				dt := (cur.Elapsed - prev.Elapsed).Seconds()
				fps, kbps := 0.0, 0.0
				if dt > 0 {
					fps = float64(cur.Pushed-prev.Pushed) / dt
					kbps = float64(cur.Bytes-prev.Bytes) * 8 / 1000 / dt
				}
				line := fmt.Sprintf("%s  frames %d  %.1f fps  %.0f kb/s  ahead %d  queued %d  refused %d  dropped %d  reconnects %d",
					state, cur.Pushed, fps, kbps, cur.Ahead, cur.Queued, cur.Refused, cur.Dropped, cur.Reconnects)
				if tty {
					fmt.Fprint(w, "\r\033[K"+line)
				} else {
					fmt.Fprintln(w, "status: "+line)
				}
				prev = cur
			}
		}
	}()
	return st
}

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
	fmt.Fprintln(w)
	for _, o := range st.Outputs {
		state := "ok"
		if o.Err != nil {
			state = "failed: " + o.Err.Error()
		}
		fmt.Fprintf(w, "  %s: %d frames, %d bytes, %s\n", o.Address, o.Frames, o.Bytes, state)
	}
}
