package cardreader

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/internal/golden"
)

// checkGolden compares got with testdata/name, or rewrites it under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), got)
}

// parseCase is one string a card parser is shown, and the sentinel it must answer
// (nil: the string parses).
type parseCase struct {
	name, in string
	want     error
}

// checkParseGolden runs parse on every case, checks each answer's sentinel, and
// compares what came out (the card, with suffix(card) after it, or the error) with
// testdata/name.
func checkParseGolden(t *testing.T, name string, cases []parseCase, parse func(string) (settle.Card, error), suffix func(settle.Card) string) {
	t.Helper()
	var out strings.Builder
	for _, c := range cases {
		card, err := parse(c.in)
		if c.want == nil && err != nil {
			t.Errorf("%s: got %v; want no error", c.name, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: got %v; want %v", c.name, err, c.want)
		}
		fmt.Fprintf(&out, "%s\n  in:  %q\n", c.name, c.in)
		if err != nil {
			fmt.Fprintf(&out, "  err: %v\n", err)
		} else {
			fmt.Fprintf(&out, "  card: %+v%s\n", card, suffix(card))
		}
	}
	checkGolden(t, name, []byte(out.String()))
}
