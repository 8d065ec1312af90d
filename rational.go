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

// rationalFromFloat keeps whole rates exact and maps the NTSC family
// (23.976, 29.97, 59.94) to their exact /1001 forms.
func rationalFromFloat(f float64) (Rational, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > maxFPS {
		return Rational{}, fmt.Errorf("%w: frame rate %v out of range (0, %d]", ErrBadParameter, f, maxFPS)
	}
	if f == math.Trunc(f) {
		return Rational{int(f), 1}, nil
	}
	if n := math.Round(f * 1001); math.Abs(n/1001-f) < 5e-3 && int(n)%1000 == 0 {
		return Rational{int(n), 1001}, nil
	}
	n, d := int(math.Round(f*1000)), 1000
	for a, b := n, d; b != 0; a, b = b, a%b {
		if a%b == 0 {
			n, d = n/b, d/b
			break
		}
	}
	return Rational{n, d}, nil
}
