package workflow

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"
)

// syncLoop drains the durable queue while the platform is online: oldest first, bills
// of different visits concurrently (bounded by SyncConcurrency) and at a bounded rate,
// so that the windows' own online bills keep priority. Each job is driven to its goal
// by advance, resuming from the bill's stored step.
func (e *Queue) syncLoop(ctx context.Context) {
	conc := e.o.SyncConcurrency
	limit := rate.Inf
	if e.o.SyncRate > 0 {
		limit = rate.Limit(e.o.SyncRate)
	}
	limiter := rate.NewLimiter(limit, conc)
	slots := make(chan struct{}, conc)
	done := make(chan struct{}, conc)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	inflight := 0
	defer func() {
		for ; inflight > 0; inflight-- {
			<-done
		}
	}()
	for {
		if ctx.Err() != nil {
			return
		}
		e.hastenBacklog(ctx)
		free := conc - inflight
		var jobs []Job
		if free > 0 && e.link.breaker.Online() {
			var err error
			jobs, err = e.st.Lease(ctx, free)
			if err != nil && ctx.Err() == nil {
				e.log.Error("lease from queue", "err", err)
			}
		}
		for _, j := range jobs {
			if err := limiter.Wait(ctx); err != nil {
				// Shutting down: the lease runs out and the job comes back.
				return
			}
			inflight++
			slots <- struct{}{}
			go func() {
				defer func() { <-slots; done <- struct{}{} }()
				e.SyncJob(ctx, j)
			}()
		}
		if len(jobs) > 0 && len(jobs) == free {
			// There may be more: lease again as soon as a slot frees.
			select {
			case <-ctx.Done():
				return
			case <-done:
				inflight -= 1 + drain(done)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-done:
			inflight -= 1 + drain(done)
		case <-e.st.Ready():
		case <-tick.C:
		}
	}
}

// hastenBacklog makes the backlog due at once after the platform came back: no bill
// waits out a backoff it took while the platform was away.
func (e *Queue) hastenBacklog(ctx context.Context) {
	if !e.link.hasten.CompareAndSwap(true, false) {
		return
	}
	if n, err := e.st.Hasten(ctx); err != nil {
		e.log.Warn("hasten the queue", "err", err)
	} else if n > 0 {
		e.log.Info("platform back: the backlog is due now", "jobs", n)
	}
}

// drain takes every value already waiting in ch and says how many there were.
func drain(ch chan struct{}) int {
	n := 0
	for {
		select {
		case <-ch:
			n++
		default:
			return n
		}
	}
}

// lostLease reports a queue move refused because this worker's lease ran out and the
// job moved on: the bill's new state must be stored all the same, since it records
// what the platform did.
func lostLease(err error) bool {
	return errors.Is(err, ErrJobMoved)
}

// SyncOnce leases up to n due jobs and syncs them one after the other (tests and
// tools; the engine's Run drains concurrently). It returns how many it synced.
func (e *Queue) SyncOnce(ctx context.Context, n int) (int, error) {
	e.hastenBacklog(ctx)
	jobs, err := e.st.Lease(ctx, n)
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		e.SyncJob(ctx, j)
	}
	return len(jobs), nil
}
