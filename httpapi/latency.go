package httpapi

import (
	"slices"
	"sync"
	"time"
)

// latencyWindow keeps the last n platform call times for the status's p99.
type latencyWindow struct {
	mu   sync.Mutex
	buf  []time.Duration
	next int
	full bool
}

func newLatencyWindow(n int) *latencyWindow { return &latencyWindow{buf: make([]time.Duration, n)} }

func (l *latencyWindow) add(d time.Duration) {
	l.mu.Lock()
	l.buf[l.next] = d
	l.next++
	if l.next == len(l.buf) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// p99 is the 99th percentile of the kept times (0 when none).
func (l *latencyWindow) p99() time.Duration {
	l.mu.Lock()
	n := l.next
	if l.full {
		n = len(l.buf)
	}
	s := slices.Clone(l.buf[:n])
	l.mu.Unlock()
	if len(s) == 0 {
		return 0
	}
	slices.Sort(s)
	return s[(len(s)*99)/100-boolInt(len(s)*99%100 == 0)]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
