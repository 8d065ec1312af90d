package mpegserver

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Rational is a frame rate as numerator/denominator (the original's
// AVRational), e.g. {30000, 1001} for 29.97 fps.
type Rational struct {
	Num, Den int
}

// Float returns Num/Den.
func (r Rational) Float() float64 { return float64(r.Num) / float64(r.Den) }

// String returns "Num/Den", the form ParseRational reads.
func (r Rational) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// ParseRational reads "30", "30/1", "30000/1001" or "29.97".
func ParseRational(s string) (Rational, error) {
	s = strings.TrimSpace(s)
	if n, d, ok := strings.Cut(s, "/"); ok {
		num, err1 := strconv.Atoi(strings.TrimSpace(n))
		den, err2 := strconv.Atoi(strings.TrimSpace(d))
		if err1 != nil || err2 != nil {
			return Rational{}, fmt.Errorf("%w: frame rate %q is not num/den", ErrBadParameter, s)
		}
		return Rational{num, den}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Rational{}, fmt.Errorf("%w: frame rate %q is not a number or num/den", ErrBadParameter, s)
	}
	return rationalFromFloat(f)
}

// rationalFromFloat keeps whole rates exact, maps the NTSC family
// (23.976, 29.97, 59.94) to their exact /1001 forms, reads other decimals
// to the millihertz (12.5 → 25/2), and approximates slower rates by a
// continued fraction (0.0002778 → 1/3600).
func rationalFromFloat(f float64) (Rational, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < minFPS || f > maxFPS {
		return Rational{}, fmt.Errorf("%w: frame rate %v fps out of range [1/3600, %d]", ErrBadParameter, f, maxFPS)
	}
	if f == math.Trunc(f) {
		return Rational{int(f), 1}, nil
	}
	if n := math.Round(f * 1001); n > 0 && math.Abs(n/1001-f) < 5e-3 && int(n)%1000 == 0 {
		return Rational{int(n), 1001}, nil
	}
	if n := math.Round(f * 1000); n > 0 && math.Abs(n/1000-f) < 1e-9 {
		g := gcd(int(n), 1000)
		return Rational{int(n) / g, 1000 / g}, nil
	}
	return continuedFraction(f, 1_000_000), nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// continuedFraction is the closest convergent of f with a denominator up
// to maxDen; f is positive.
func continuedFraction(f float64, maxDen int) Rational {
	h0, h1, k0, k1 := 0, 1, 1, 0 // convergents h/k
	x := f
	for {
		a := int(math.Floor(x))
		h2, k2 := a*h1+h0, a*k1+k0
		if k2 > maxDen {
			break
		}
		h0, h1, k0, k1 = h1, h2, k1, k2
		if r := x - float64(a); r < 1e-12 || math.Abs(float64(h1)/float64(k1)-f) < 1e-12*f {
			break
		} else {
			x = 1 / r
		}
	}
	return Rational{h1, k1}
}
