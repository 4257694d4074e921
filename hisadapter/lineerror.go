package hisadapter

import (
	"fmt"
	"strings"

	settle "github.com/settle-agent/settle-agent"
)

// LineError is one problem on one line of a CSV file (mapping or drop folder).
// Line counts from 1 and includes the header row, as a text editor shows it.
type LineError struct {
	Line   int    `json:"line"`
	BillNo string `json:"bill_no,omitempty"` // the drop folder bill the line belongs to
	Field  string `json:"field,omitempty"`   // column or bill field path ("items[0].qty")
	Reason string `json:"reason"`
}

func (e LineError) String() string { return e.Say(settle.LangEn) }

// Say is the problem as staff read it in lang ("第 3 行：…" or "line 3: …").
func (e LineError) Say(lang string) string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, settle.Say(lang, "line %d: ", "第 %d 行："), e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// LinesError lists every problem found in a file at once.
type LinesError struct {
	What     string // "mapping file", "drop folder file"
	Problems []LineError
	Kind     error // ErrMapping, …: what errors.Is matches
}

func (e *LinesError) Error() string {
	const show = 5
	parts := make([]string, 0, show)
	for i, p := range e.Problems {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Problems)-show))
			break
		}
		parts = append(parts, p.String())
	}
	return fmt.Sprintf("%s has %d problem(s): %s", e.What, len(e.Problems), strings.Join(parts, "; "))
}

// Unwrap lets errors.Is match the kind of file (ErrMapping).
func (e *LinesError) Unwrap() error { return e.Kind }
