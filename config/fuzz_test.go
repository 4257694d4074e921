package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary documents: it must never panic, and it must either
// accept the document or explain it in a *ValidationError whose problems all have a
// reason; an accepted configuration must pass Validate again and print as TOML.
func FuzzParse(f *testing.F) {
	f.Add(validTOML)
	f.Add(Example())
	f.Add("[[window]]\nid = \"W01\"\n[window.reader]\nport = 1\n")
	f.Add("window = [{ id = \"W01\", reader = { port = \"COM3\" } }]\n[offline]\nmax_bill_amount = 2000\n")
	f.Add("[platform]\ntiemout = \"3s\"\n[[window]]\n[[window]]\ntoken = \"env:X\"\n")
	f.Add("a.b.c = 1\n[window]\nid = 1\n")
	f.Fuzz(func(t *testing.T, doc string) {
		c, err := Parse([]byte(doc), "f.toml", func(string) string { return "" })
		if err != nil {
			var v *ValidationError
			if !errors.As(err, &v) || len(v.Problems) == 0 {
				t.Fatalf("got %v (%T); want a *ValidationError with problems", err, err)
			}
			for _, p := range v.Problems {
				if p.Reason == "" {
					t.Fatalf("problem %+v has no reason", p)
				}
			}
			_ = c
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted it but Validate says %v", err)
		}
		if !strings.HasPrefix(c.Redacted(), "# effective configuration") {
			t.Fatal("Redacted: want the header line")
		}
	})
}
