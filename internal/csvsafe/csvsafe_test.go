package csvsafe

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

func TestCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=powershell|'-c calc'!A1", "'=powershell|'-c calc'!A1"},
		{"+1+1", "'+1+1"},
		{"-1+1", "'-1+1"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-", "'-"},
		{"-12.50", "-12.50"},
		{"-3", "-3"},
		{"-1e3", "'-1e3"},
		{"12.50", "12.50"},
		{"MZ20261123000123", "MZ20261123000123"},
		{"张伟", "张伟"},
		{"", ""},
		{"a=b", "a=b"},
	} {
		if got := Cell(tc.in); got != tc.want {
			t.Errorf("Cell(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write([]string{"=HYPERLINK(\"http://x\")", "-5.00", "W01"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	rec, err := csv.NewReader(strings.NewReader(buf.String())).Read()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"'=HYPERLINK(\"http://x\")", "-5.00", "W01"}; strings.Join(rec, "|") != strings.Join(want, "|") {
		t.Errorf("got %q; want %q", rec, want)
	}
}

// FuzzCell: no output starts a formula, and the original is always recoverable.
func FuzzCell(f *testing.F) {
	for _, s := range []string{"=1", "-1", "-1.5", "+", "@", "\t", "\r\n", "abc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Cell(s)
		if got != s && got != "'"+s {
			t.Fatalf("Cell(%q) = %q: neither the input nor the input quoted", s, got)
		}
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) && !plainNumber.MatchString(got) {
			t.Fatalf("Cell(%q) = %q starts a formula", s, got)
		}
	})
}
