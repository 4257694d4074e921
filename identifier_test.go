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
