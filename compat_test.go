package mpegserver

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite generated parts of the docs")

const (
	guideFile  = "docs/guide.md"
	tableBegin = "<!-- parameters: generated from compat.go; go test -run TestGuideParameterTable -update -->\n"
	tableEnd   = "<!-- end of parameters -->\n"
)

// parameterTable renders the parameter table for the guide.
func parameterTable() string {
	var b strings.Builder
	b.WriteString("| original key | Go | default | notes |\n|---|---|---|---|\n")
	def := view{Config: DefaultConfig()}
	for _, p := range params {
		key := "`" + p.key + "`"
		for _, a := range p.alias {
			key += " (or `" + a + "`)"
		}
		b.WriteString("| " + key + " | " + p.option + " | " + p.show(def) + " | " + p.doc + " |\n")
	}
	return b.String()
}

// TestGuideParameterTable holds the guide's parameter table to the table
// the code runs on.
func TestGuideParameterTable(t *testing.T) {
	raw, err := os.ReadFile(guideFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, tableBegin), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers of the generated table", guideFile)
	}
	want := parameterTable()
	if got := doc[i+len(tableBegin) : j]; got != want {
		if *update {
			doc = doc[:i+len(tableBegin)] + want + doc[j:]
			if err := os.WriteFile(guideFile, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's parameter table differs from compat.go's; run go test -run TestGuideParameterTable -update\ngot:\n%s\nwant:\n%s", guideFile, got, want)
	}
}

// TestParameterTableComplete: every key has a getter, a setter and a doc
// line, Parameter answers to every key and alias, and the map has every
// key but the optional source size.
func TestParameterTableComplete(t *testing.T) {
	s := New()
	m := s.Parameters()
	seen := map[string]bool{}
	for _, p := range params {
		if p.get == nil || p.set == nil || p.show == nil || p.doc == "" || p.option == "" {
			t.Errorf("%s: incomplete row", p.key)
		}
		for _, name := range append([]string{p.key}, p.alias...) {
			if seen[name] {
				t.Errorf("%s appears twice", name)
			}
			seen[name] = true
			if _, err := s.Parameter(name); err != nil {
				t.Errorf("Parameter(%q): %v", name, err)
			}
		}
		if _, ok := m[p.key]; !ok && p.omit == nil {
			t.Errorf("Parameters() lacks %s", p.key)
		}
	}
	// The unknown-name error lists every name.
	_, err := s.Parameter("nope")
	for name := range seen {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("unknown-parameter error does not list %s: %v", name, err)
		}
	}
}
