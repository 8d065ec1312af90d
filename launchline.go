package mpegserver

import (
	"fmt"
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// launchLine renders the description as a gst-launch-1.0 command line that
// runs in a POSIX shell as printed. Passwords are replaced by REDACTED.
func (d description) launchLine() string {
	var b strings.Builder
	b.WriteString("gst-launch-1.0 -e")
	branch := map[int]bool{}
	if d.teeAt >= 0 {
		for _, o := range d.outputs {
			branch[o.first] = true
		}
	}
	for i, e := range d.elements {
		switch {
		case branch[i]:
			// Each output starts from the tee, named t.
			b.WriteString(" t. !")
		case i > 0:
			b.WriteString(" !")
		}
		// An element the audio track goes into is named, for the audio
		// chain to end in ("! m0.").
		writeElement(&b, e, d.joinName(i))
	}
	d.audioLaunch(&b)
	return b.String()
}

// writeElement writes one element, named name unless that is "".
func writeElement(b *strings.Builder, e gstpipe.Element, name string) {
	if e.Factory == "capsfilter" && len(e.Props) == 1 && e.Props[0].Name == "caps" && name == "" {
		// Bare caps are gst-launch's own shorthand for a capsfilter.
		b.WriteString(" " + shellWord(e.Props[0].Value))
		return
	}
	b.WriteString(" " + e.Factory)
	if name != "" {
		b.WriteString(" name=" + name)
	}
	for _, p := range e.Props {
		b.WriteString(" " + launchWord(p))
	}
}

// launchWord is one property as one shell word.
func launchWord(p gstpipe.Prop) string {
	v := p.Value
	switch {
	case p.Secret:
		v = redacted
	case p.Shown != "":
		v = p.Shown
	}
	if !p.User {
		return shellWord(p.Name + "=" + v)
	}
	// gst-launch-1.0 keeps each argument whole, so one shell word is one
	// value whatever it holds; the inner quotes make that visible and
	// protect a value that starts with a quote.
	if gstSpecial(v) {
		v = gstWrap(v)
	}
	q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	w := p.Name + "=" + q
	if plain(v) {
		return w // the shell strips the quotes; gst-launch sees the plain value
	}
	return shellQuote(w)
}

// gstSpecial reports whether GStreamer's string deserializer, which
// gst-launch-1.0 applies after its own unquoting, would not take v as it
// is: "NULL" means no string, and a value in double quotes is unwrapped.
// (Values are UTF-8: parseAddress refuses others.)
func gstSpecial(v string) bool {
	return v == "NULL" || len(v) > 0 && v[0] == '"' && v[len(v)-1] == '"'
}

// gstWrap writes v as GStreamer's deserializer unwraps it: in double
// quotes, with quote and backslash escaped and other bytes outside
// printable ASCII in octal (gst_string_wrap's form).
func gstWrap(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plain reports whether s needs no quoting for the shell or gst-launch.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_@%+=:,./-", r):
		default:
			return false
		}
	}
	return true
}

func shellWord(s string) string {
	if plain(s) {
		return s
	}
	return shellQuote(s)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
