// Package psnr measures how far one 8-bit picture is from another, for the
// tests that hold conversions to ffmpeg's. It imports nothing of the
// module, so the tests of any package can use it.
package psnr

import "math"

// Of is the peak signal-to-noise ratio of a against b in dB, over every
// byte (+Inf when they are equal). a and b have the same length.
func Of(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(len(a))/se)
}
