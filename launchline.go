package mpegserver

import (
	"strings"

	"github.com/mpegcoder-go/mpegserver/internal/gstpipe"
)

// launchLine renders the description as a gst-launch-1.0 command line that
// runs in a POSIX shell as printed. Passwords are replaced by REDACTED.
func (d description) launchLine() string {
	var b strings.Builder
	b.WriteString("gst-launch-1.0 -e")
	for i, e := range d.elements {
		if i > 0 {
			b.WriteString(" !")
		}
		if e.Factory == "capsfilter" && len(e.Props) == 1 && e.Props[0].Name == "caps" {
			// Bare caps are gst-launch's own shorthand for a capsfilter.
			b.WriteString(" " + shellWord(e.Props[0].Value))
			continue
		}
		b.WriteString(" " + e.Factory)
		for _, p := range e.Props {
			b.WriteString(" " + launchWord(p))
		}
	}
	return b.String()
}

// launchWord is one property as one shell word.
func launchWord(p gstpipe.Prop) string {
	v := p.Value
	if p.Secret {
		v = redacted
	}
	if !p.User {
		return shellWord(p.Name + "=" + v)
	}
	// gst-launch-1.0 keeps each argument whole, so one shell word is one
	// value whatever it holds; the inner quotes make that visible and
	// protect a value that starts with a quote.
	q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	w := p.Name + "=" + q
	if plain(v) {
		return w // the shell strips the quotes; gst-launch sees the plain value
	}
	return shellQuote(w)
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
