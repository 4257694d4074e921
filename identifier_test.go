package settle

import (
	"errors"
	"testing"
	"time"
)

func TestValidIdentifier(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"B20261201-0001", true},
		{"a.b_c-9", true},
		{"123456789012345678901234567890", true},
		{"1234567890123456789012345678901", false},
		{"", false},
		{"=powershell|'-c calc'!A1", false},
		{"B 1", false},
		{"B\u202e1", false},
		{"账单1", false},
		{"B/1", false},
	} {
		if got := ValidIdentifier(tc.in); got != tc.want {
			t.Errorf("ValidIdentifier(%q) = %v; want %v", tc.in, got, tc.want)
		}
	}
	if err := CheckIdentifier("bill_no", "=1+1"); !errors.Is(err, ErrInvalid) {
		t.Errorf("CheckIdentifier: got %v; want ErrInvalid", err)
	}
}

func TestDay_Beijing(t *testing.T) {
	// 2026-12-01 16:30 UTC is already 2026-12-02 00:30 in Beijing.
	got := Day(time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC))
	if got != "2026-12-02" {
		t.Errorf("Day: got %s; want 2026-12-02", got)
	}
}

// Issue 29 finding 3: the same rule cleans what a reader host sends for display.
func TestCleanText_DropsWhatPlainTextRefusesAndCaps(t *testing.T) {
	for in, want := range map[string]string{
		"\u202eFW":                     "FW",
		"a\u2028b\u0085c\u2066d\u2069": "abcd",
		"x\x1b[2Jy\x7f":                "x[2Jy",
		"bad\xffutf8":                  "badutf8",
		"张伟":                           "张伟",
		"0123456789abc":                "0123456789",
		"一二三四":                         "一二三",
	} {
		if got := CleanText(in, 10); got != want || !PlainText(got) {
			t.Errorf("CleanText(%q, 10) = %q; want %q", in, got, want)
		}
	}
}
