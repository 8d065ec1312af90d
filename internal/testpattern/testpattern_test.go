package testpattern

import (
	"testing"
	"time"
)

func TestDrawDecodeRoundTrip(t *testing.T) {
	for _, sz := range [][2]int{{640, 360}, {1280, 720}, {320, 240}, {MinWidth, MinHeight}} {
		w, h := sz[0], sz[1]
		b := make([]byte, w*h*3)
		for _, i := range []int{0, 1, 2, 255, 256, 12345, Mask, Mask + 7} {
			Draw(b, w, h, i, time.Now())
			got, ok := Decode(b, w, h)
			if !ok || got != i&Mask {
				t.Errorf("%dx%d index %d: decoded %d, %v", w, h, i, got, ok)
			}
		}
	}
}

func TestDecodeRejectsNoise(t *testing.T) {
	w, h := 640, 360
	b := make([]byte, w*h*3)
	if _, ok := Decode(b, w, h); ok {
		t.Error("black frame decoded")
	}
	Draw(b, w, h, 4242, time.Now())
	// Flip one data block: the check bits must catch it.
	bw, bh := codeGeometry(w, h)
	for y := 0; y < bh; y++ {
		for x := 5 * bw; x < 6*bw; x++ {
			o := (y*w + x) * 3
			for c := 0; c < 3; c++ {
				b[o+c] = 255 - b[o+c]
			}
		}
	}
	if i, ok := Decode(b, w, h); ok {
		t.Errorf("corrupted code decoded as %d", i)
	}
	if _, ok := Decode(b[:10], w, h); ok {
		t.Error("short buffer decoded")
	}
}

func TestTimeCodeRoundTrip(t *testing.T) {
	for _, sz := range [][2]int{{640, 360}, {1280, 720}, {MinWidth, MinHeight}} {
		w, h := sz[0], sz[1]
		b := make([]byte, w*h*3)
		for _, at := range []time.Time{time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 28, 23, 59, 59, 999e6, time.UTC),
			time.Date(2026, 11, 28, 16, 41, 7, 123e6, time.FixedZone("x", 3600))} {
			Draw(b, w, h, 77, at)
			ms, ok := DecodeTime(b, w, h)
			if want := MillisOfDay(at); !ok || ms != want {
				t.Errorf("%dx%d %v: decoded %d %v, want %d", w, h, at, ms, ok, want)
			}
			if i, ok := Decode(b, w, h); !ok || i != 77 {
				t.Errorf("index with the time code: %d %v", i, ok)
			}
		}
	}
	if _, ok := DecodeTime(make([]byte, 640*360*3), 640, 360); ok {
		t.Error("black frame gave a time")
	}
}
