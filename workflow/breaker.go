package workflow

import (
	"sync"
	"time"
)

// Breaker decides whether the platform is online. Consecutive calls that end without
// a definite answer (transport failures, infcode -1) past a threshold open it: the agent
// is offline and stops waiting on the platform at the windows. A probe that succeeds
// closes it again. A business error is a definite answer: the platform is there.
type Breaker struct {
	mu        sync.Mutex
	now       func() time.Time
	threshold int
	fails     int
	online    bool
	since     time.Time
	lastOK    time.Time
	// OnChange, when set, is told of every change.
	OnChange func(online bool)
}

// NewBreaker is an online breaker that opens after threshold calls without a
// definite answer in a row (3 when threshold <= 0).
func NewBreaker(threshold int, now func() time.Time) *Breaker {
	if threshold <= 0 {
		threshold = 3
	}
	return &Breaker{threshold: threshold, now: now, online: true, since: now()}
}

// OK records a definite answer.
func (b *Breaker) OK() {
	b.mu.Lock()
	b.fails = 0
	b.lastOK = b.now()
	changed := !b.online
	if changed {
		b.online = true
		b.since = b.lastOK
	}
	f := b.OnChange
	b.mu.Unlock()
	if changed && f != nil {
		f(true)
	}
}

// Fail records a call that ended without a definite answer.
func (b *Breaker) Fail() {
	b.mu.Lock()
	b.fails++
	changed := b.online && b.fails >= b.threshold
	if changed {
		b.online = false
		b.since = b.now()
	}
	f := b.OnChange
	b.mu.Unlock()
	if changed && f != nil {
		f(false)
	}
}

// Trip opens the breaker at once (sign-in failed at start, for instance).
func (b *Breaker) Trip() {
	b.mu.Lock()
	changed := b.online
	b.online = false
	b.fails = b.threshold
	if changed {
		b.since = b.now()
	}
	f := b.OnChange
	b.mu.Unlock()
	if changed && f != nil {
		f(false)
	}
}

// State returns whether the platform is online, since when, and the last definite answer.
func (b *Breaker) State() (online bool, since, lastOK time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.online, b.since, b.lastOK
}

// Online reports whether the platform is taken to be online.
func (b *Breaker) Online() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.online
}
