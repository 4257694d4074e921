package agent

import (
	"sync"
	"time"
)

// breaker decides whether the platform is online. Consecutive calls that end without
// a definite answer (transport failures, infcode -1) past a threshold open it: the agent
// is offline and stops waiting on the platform at the windows. A probe that succeeds
// closes it again. A business error is a definite answer: the platform is there.
type breaker struct {
	mu        sync.Mutex
	now       func() time.Time
	threshold int
	fails     int
	online    bool
	since     time.Time
	lastOK    time.Time
	onChange  func(online bool)
}

func newBreaker(threshold int, now func() time.Time) *breaker {
	if threshold <= 0 {
		threshold = 3
	}
	return &breaker{threshold: threshold, now: now, online: true, since: now()}
}

// ok records a definite answer.
func (b *breaker) ok() {
	b.mu.Lock()
	b.fails = 0
	b.lastOK = b.now()
	changed := !b.online
	if changed {
		b.online = true
		b.since = b.lastOK
	}
	f := b.onChange
	b.mu.Unlock()
	if changed && f != nil {
		f(true)
	}
}

// fail records a call that ended without a definite answer.
func (b *breaker) fail() {
	b.mu.Lock()
	b.fails++
	changed := b.online && b.fails >= b.threshold
	if changed {
		b.online = false
		b.since = b.now()
	}
	f := b.onChange
	b.mu.Unlock()
	if changed && f != nil {
		f(false)
	}
}

// trip opens the breaker at once (sign-in failed at start, for instance).
func (b *breaker) trip() {
	b.mu.Lock()
	changed := b.online
	b.online = false
	b.fails = b.threshold
	if changed {
		b.since = b.now()
	}
	f := b.onChange
	b.mu.Unlock()
	if changed && f != nil {
		f(false)
	}
}

// state returns whether the platform is online, since when, and the last definite answer.
func (b *breaker) state() (online bool, since, lastOK time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.online, b.since, b.lastOK
}

func (b *breaker) isOnline() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.online
}
