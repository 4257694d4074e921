// Package poll waits for a condition in tests: it asks again at a short interval
// until the condition holds or a deadline passes. Tests poll for what they expect
// instead of sleeping for a fixed time (CONTRIBUTING.md), and they do it here, in
// one place.
package poll

import (
	"testing"
	"time"
)

// Every is the interval Until asks at.
const Every = 10 * time.Millisecond

// Until asks cond every Every until it holds; past timeout it fails tb with
// "timed out after TIMEOUT waiting for WHAT".
func Until(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Within(timeout, Every, cond) {
		tb.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// Within asks cond every interval until it holds (true) or timeout passes (false),
// for callers that say themselves what went wrong.
func Within(timeout, every time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
			if cond() {
				return true
			}
		}
	}
}
