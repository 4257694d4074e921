package catalogue

import (
	"context"
	"errors"
	"time"
)

// DailyOptions say when the daily sync runs.
type DailyOptions struct {
	// Hour and Minute are the time of day ([catalogue] sync_at), in Location
	// (time.Local when nil).
	Hour, Minute int
	Location     *time.Location
	// Now is the clock (time.Now); After returns a channel that delivers once d has
	// passed (time.After), so tests can drive the days.
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
	// Stale, when set, is asked at the start: true runs a sync at once (a catalogue
	// never synced, or older than max_age), not only at the next sync time.
	Stale func() bool
	// OnDone, when set, is told of every sync's end.
	OnDone func(Report, error)
	// RetryAfter is how soon a sync that failed (the platform away at 02:30) is tried
	// again, when that comes before the next day's time (1h).
	RetryAfter time.Duration
}

// NextRun is the first hour:minute in loc strictly after now.
func NextRun(now time.Time, hour, minute int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.Local
	}
	t := now.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day(), hour, minute, 0, 0, loc)
	if !next.After(t) {
		next = time.Date(t.Year(), t.Month(), t.Day()+1, hour, minute, 0, 0, loc)
	}
	return next
}

// RunDaily syncs every day at the configured time until ctx ends (it returns nil
// then); the caller owns the goroutine it runs in. A sync that failed is tried again
// after RetryAfter; a sync still running at the next time (ErrBusy) is not doubled.
func (s *Syncer) RunDaily(ctx context.Context, o DailyOptions) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Hour
	}
	failed := false
	run := func() {
		rep, err := s.Sync(ctx)
		if errors.Is(err, ErrBusy) {
			return
		}
		failed = err != nil
		if o.OnDone != nil {
			o.OnDone(rep, err)
		}
	}
	if o.Stale != nil && o.Stale() {
		run()
	}
	for {
		wait := NextRun(o.Now(), o.Hour, o.Minute, o.Location).Sub(o.Now())
		if failed {
			wait = min(wait, o.RetryAfter)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.After(wait):
		}
		if ctx.Err() != nil {
			return nil
		}
		run()
	}
}
