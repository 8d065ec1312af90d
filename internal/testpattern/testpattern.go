// Package testpattern draws the command's test picture: moving colour
// bands and a bouncing square (so motion is visible), the frame number and
// wall-clock time as text, and, along the top, the frame index as a row of
// black and white blocks that survives compression, so a reader can decode
// it to find lost frames and measure latency. A second row of blocks holds
// the wall-clock time the frame was drawn (milliseconds of the UTC day), so
// a viewer on a machine with the same clock reads latency off the picture.
package testpattern

import "time"

// Code layout: 24 bits of frame index and 8 check bits, one block each,
// left to right, most significant first, between a white block at each end.
const (
	indexBits = 24
	checkBits = 8
	blocks    = indexBits + checkBits + 2
	// Mask is the largest index the code holds; indexes wrap around it.
	Mask = 1<<indexBits - 1
)

const (
	black = 16 // video-range black and white: no clipping after YUV round trips
	white = 235
)

// MinWidth and MinHeight are the smallest frame the code fits legibly in.
const (
	MinWidth  = blocks * 6
	MinHeight = 48
)

func check(index int) int {
	i := index & Mask
	return (i ^ i>>8 ^ i>>16 ^ 0xA5) & 0xff
}

func codeGeometry(w, h int) (bw, bh int) {
	return w / blocks, max(8, h/24)
}

// Draw paints frame index into b, packed RGB of w×h, stamped with now.
func Draw(b []byte, w, h, index int, now time.Time) {
	// Diagonal colour bands drifting with the index.
	for y := 0; y < h; y++ {
		row := b[y*w*3 : (y+1)*w*3]
		for x := 0; x < w; x++ {
			v := x + y + index*3
			row[x*3] = byte(v)
			row[x*3+1] = byte(v/2 + 64)
			row[x*3+2] = byte(255 - v)
		}
	}
	// A square bouncing across the middle.
	side := max(8, h/6)
	span := max(1, w-side)
	x0 := index * 5 % (2 * span)
	if x0 >= span {
		x0 = 2*span - x0
	}
	fill(b, w, h, x0, h/2-side/2, side, side, [3]byte{255, 220, 0})

	// Text: "#123456" and "15:04:05.000", on a dark band.
	scale := max(1, h/120)
	bw, bh := codeGeometry(w, h)
	ty := 2*bh + 2*scale + 2
	fill(b, w, h, 0, ty-scale, w, 2*(glyphH+2)*scale+scale, [3]byte{black, black, black})
	text(b, w, h, 2*scale, ty, scale, "#"+pad(index&Mask, 7))
	text(b, w, h, 2*scale, ty+(glyphH+2)*scale, scale, now.Format("15:04:05.000"))

	// The index code along the top, the time code under it.
	drawCode(b, w, h, 0, bw, bh, (index&Mask)<<checkBits|check(index))
	ms := MillisOfDay(now)
	drawCode(b, w, h, bh, bw, bh, ms<<timeCheckBits|timeCheck(ms))
}

// Time code layout: 27 bits of milliseconds since UTC midnight (a day has
// 86 400 000 < 2^27) and 5 check bits: the same 32 bits as the index code.
const (
	timeBits      = 27
	timeCheckBits = 5
	// DayMillis is the length of the day the time code counts in.
	DayMillis = 86_400_000
)

// MillisOfDay is t as the time code holds it.
func MillisOfDay(t time.Time) int {
	t = t.UTC()
	y, m, d := t.Date()
	return int(t.Sub(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)).Milliseconds())
}

func timeCheck(ms int) int {
	return (ms ^ ms>>5 ^ ms>>10 ^ ms>>15 ^ ms>>20 ^ ms>>25 ^ 0x15) & 0x1f
}

// drawCode paints 32 bits as blocks between two white ones at row y0.
func drawCode(b []byte, w, h, y0, bw, bh, code int) {
	fill(b, w, h, 0, y0, w, bh, [3]byte{black, black, black})
	for i := 0; i < blocks; i++ {
		if i == 0 || i == blocks-1 || code>>(indexBits+checkBits-i)&1 == 1 {
			fill(b, w, h, i*bw, y0, bw, bh, [3]byte{white, white, white})
		}
	}
}

// Decode reads the frame index from a decoded packed RGB frame of w×h. ok
// is false when the code is not there or its check bits do not match.
func Decode(b []byte, w, h int) (index int, ok bool) {
	code, ok := readCode(b, w, h, 0)
	if !ok {
		return 0, false
	}
	index = code >> checkBits
	if code&0xff != check(index) {
		return 0, false
	}
	return index, true
}

// DecodeTime reads the time code: when the frame was drawn, in
// milliseconds of the UTC day.
func DecodeTime(b []byte, w, h int) (ms int, ok bool) {
	_, bh := codeGeometry(w, h)
	code, ok := readCode(b, w, h, bh)
	if !ok {
		return 0, false
	}
	ms = code >> timeCheckBits
	if code&0x1f != timeCheck(ms) || ms >= DayMillis {
		return 0, false
	}
	return ms, true
}

// readCode reads the 32 bits of the code row at y0.
func readCode(b []byte, w, h, y0 int) (code int, ok bool) {
	if w < MinWidth || h < MinHeight || len(b) < w*h*3 {
		return 0, false
	}
	bw, bh := codeGeometry(w, h)
	bit := func(i int) (one, sure bool) {
		// Average the middle half of the block.
		var sum, n int
		for y := y0 + bh/4; y < y0+3*bh/4; y++ {
			for x := i*bw + bw/4; x < i*bw+3*bw/4; x++ {
				o := (y*w + x) * 3
				sum += int(b[o]) + int(b[o+1]) + int(b[o+2])
				n += 3
			}
		}
		v := sum / max(n, 1)
		return v > 128, v < 80 || v > 176
	}
	if one, sure := bit(0); !one || !sure {
		return 0, false
	}
	if one, sure := bit(blocks - 1); !one || !sure {
		return 0, false
	}
	for i := 1; i < blocks-1; i++ {
		one, sure := bit(i)
		if !sure {
			return 0, false
		}
		code <<= 1
		if one {
			code |= 1
		}
	}
	return code, true
}

func fill(b []byte, w, h, x0, y0, fw, fh int, c [3]byte) {
	for y := max(y0, 0); y < min(y0+fh, h); y++ {
		for x := max(x0, 0); x < min(x0+fw, w); x++ {
			o := (y*w + x) * 3
			b[o], b[o+1], b[o+2] = c[0], c[1], c[2]
		}
	}
}

func pad(n, width int) string {
	s := []byte{}
	for ; n > 0 || len(s) == 0; n /= 10 {
		s = append([]byte{byte('0' + n%10)}, s...)
	}
	for len(s) < width {
		s = append([]byte{'0'}, s...)
	}
	return string(s)
}

const glyphW, glyphH = 5, 7

// glyphs is a 5×7 font for the characters the pattern prints.
var glyphs = map[byte][glyphH]string{
	'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	':': {".....", "..#..", "..#..", ".....", "..#..", "..#..", "....."},
	'.': {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	'#': {".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."},
}

func text(b []byte, w, h, x, y, scale int, s string) {
	for _, ch := range []byte(s) {
		g, ok := glyphs[ch]
		if ok {
			for gy, row := range g {
				for gx := 0; gx < glyphW; gx++ {
					if row[gx] == '#' {
						fill(b, w, h, x+gx*scale, y+gy*scale, scale, scale, [3]byte{white, white, white})
					}
				}
			}
		}
		x += (glyphW + 1) * scale
	}
}
