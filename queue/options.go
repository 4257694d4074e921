package queue

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Options tunes a Store. A nil *Options, or a zero field, means the default.
type Options struct {
	// LeaseTime is how long a leased record stays with its consumer; after it the
	// record is leasable again (crash recovery). Default 30s.
	LeaseTime time.Duration
	// MinBackoff is the first retry delay after a Nack; it doubles per attempt,
	// with jitter, up to MaxBackoff. Default 1s.
	MinBackoff time.Duration
	// MaxBackoff caps the retry delay. Default 5m.
	MaxBackoff time.Duration
	// Horizon: a record not done this long after enqueue (or after its last Retry)
	// goes to StateDead on its next Nack (an expired lease hands it out again: its
	// consumer moves it, with whatever it keeps beside it). Default 168h.
	Horizon time.Duration
	// Retention: done records are removed this long after done, by a background
	// sweep that Close stops. Default 720h.
	Retention time.Duration
	// RemoveDone removes a record at its Ack instead of keeping it done for
	// Retention: for a consumer whose own records keep the history (the agent's bills
	// keep every message). Sweep then removes every done record an earlier build kept.
	RemoveDone bool
	// NoSweep turns the background retention sweep off: for tools that open the
	// file briefly and must not apply a retention of their own (the agent sweeps).
	NoSweep bool
	// OpenTimeout is how long Open waits for the file lock before ErrLocked. Default 1s.
	OpenTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives one line per notable event. Nil discards.
	Logger *slog.Logger
	// Jitter picks the retry delay in [0, n) added to half the backoff; nil means a
	// random draw. Deterministic tests pass a seeded source.
	Jitter func(n time.Duration) time.Duration
	// BeforeCommit, when set, runs inside every write transaction just before it
	// commits; an error aborts the transaction and is every caller's error (a test's
	// stand-in for a full disk or a crash before the fsync).
	BeforeCommit func() error
	// AfterCommit, when set, runs after every committed write transaction, before its
	// callers learn of it (a test's crash point after the fsync).
	AfterCommit func()
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&r.LeaseTime, 30*time.Second)
	def(&r.MinBackoff, time.Second)
	def(&r.MaxBackoff, 5*time.Minute)
	def(&r.Horizon, 168*time.Hour)
	def(&r.Retention, 720*time.Hour)
	def(&r.OpenTimeout, time.Second)
	if r.MaxBackoff < r.MinBackoff {
		r.MaxBackoff = r.MinBackoff
	}
	if r.Jitter == nil {
		r.Jitter = func(n time.Duration) time.Duration { return rand.N(n) }
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return r
}
