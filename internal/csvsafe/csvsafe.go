// Package csvsafe writes CSV that a spreadsheet opens as data, never as formulas
// (CSV/formula injection, CWE-1236). Every CSV file or spreadsheet cell the agent
// writes (the reconciliation export, mapping exports, reports) goes through Cell or
// through a Writer.
//
// A cell starting with '=', '+', '-', '@', a tab or a carriage return is taken by
// Excel, WPS and LibreOffice as the start of a formula (or, for tab and CR, hides
// one); Cell puts a single quote before it, which the spreadsheet shows as text and
// does not display. A plain decimal number such as "-12.50" is left alone: it is a
// number to every spreadsheet, never a formula, and negative amounts must stay numbers.
package csvsafe

import (
	"encoding/csv"
	"io"
	"regexp"
)

// plainNumber is a decimal a spreadsheet reads as a number and nothing else.
var plainNumber = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// Cell returns s made safe to be one spreadsheet cell: s itself, or s with a leading
// single quote when it starts with = + - @ TAB or CR and is not a plain number.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if s[0] == '-' && plainNumber.MatchString(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// Row returns a copy of record with every cell made safe (Cell).
func Row(record []string) []string {
	out := make([]string, len(record))
	for i, s := range record {
		out[i] = Cell(s)
	}
	return out
}

// Writer is an encoding/csv Writer whose every cell goes through Cell.
type Writer struct {
	w *csv.Writer
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record, every cell made safe.
func (w *Writer) Write(record []string) error { return w.w.Write(Row(record)) }

// Flush writes any buffered data to the underlying io.Writer.
func (w *Writer) Flush() { w.w.Flush() }

// Error reports any error of a previous Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }
