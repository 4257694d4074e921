package config

import (
	"testing"

	"github.com/settle-agent/settle-agent/cardreader"
)

// The configuration checks baud rates without importing cardreader; the two
// lists must agree on every rate a device could be set to.
func TestStandardBaud_MatchesCardreader(t *testing.T) {
	for b := 0; b <= 4_000_000; b++ {
		if got, want := standardBaud(b), cardreader.StandardBaud(b); got != want {
			t.Fatalf("standardBaud(%d): got %v; want %v (as cardreader.StandardBaud)", b, got, want)
		}
	}
}
