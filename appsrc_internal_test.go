package mpegserver

import (
	"path/filepath"
	"testing"
)

// TestFileProducerWakesPerBatch: a producer faster than its encoder, into a
// file, is let go by appsrc once a few frames have left its queue, not
// after every frame (each wake-up costs the encoder a share of its cores;
// docs/design.md). A stream's appsrc keeps asking as soon as there is room.
func TestFileProducerWakesPerBatch(t *testing.T) {
	t.Parallel()
	const w, h, n = 640, 360, 90
	s := New()
	if err := s.SetParameter(Size(w, h), FrameRate(30, 1), Preset("medium")); err != nil {
		t.Fatal(err)
	}
	if err := s.Setup(filepath.Join(t.TempDir(), "out.mp4")); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, w*h*3)
	for i := range frame {
		frame[i] = byte(i * 7)
	}
	for i := 0; i < n; i++ {
		if err := s.ServeFrameBlock(frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	st, err := s.stream()
	if err != nil {
		t.Fatal(err)
	}
	st.src.flow.mu.Lock()
	wakes := st.src.flow.wakes
	st.src.flow.mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames, the producer woken %d times", n, wakes)
	// A wake-up comes with at most one frame queued, and the next with
	// four: three frames at least between two. (Asking at 90%, 43 of 90.)
	if wakes > n/3+1 {
		t.Errorf("the producer was woken %d times for %d frames: appsrc asks for each frame", wakes, n)
	}
	if wakes == 0 {
		t.Errorf("the encoder kept up with the producer: nothing was measured")
	}
}
