package hisadapter

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// intake bounds how fast messages reach the Sink over all connections together, so
// that a flood is taken at the pace the platform can bear (each bill is several
// platform calls) instead of all at once. A message waits for its turn at most wait;
// one that would wait longer is answered AE "resend later" at once.
type intake struct {
	lim  *rate.Limiter // nil: no limit
	wait time.Duration
}

func newIntake(perSecond float64, burst int, wait time.Duration) *intake {
	if perSecond < 0 {
		return &intake{}
	}
	if burst <= 0 {
		burst = max(int(2*perSecond), 1)
	}
	return &intake{lim: rate.NewLimiter(rate.Limit(perSecond), burst), wait: wait}
}

// take waits for the message's turn; false means it must be refused (it would wait
// longer than allowed, or ctx ended).
func (in *intake) take(ctx context.Context) bool {
	if in.lim == nil {
		return true
	}
	now := time.Now()
	r := in.lim.ReserveN(now, 1)
	if !r.OK() {
		return false
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return true
	}
	if d > in.wait {
		r.CancelAt(now)
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		r.Cancel()
		return false
	}
}

// quietLog writes a warning at most once per interval, saying how many were held
// back since: a flood of refused connections or messages must not flood the log.
type quietLog struct {
	mu         sync.Mutex
	interval   time.Duration
	last       time.Time
	suppressed int
}

func (q *quietLog) warn(log *slog.Logger, msg string, args ...any) {
	q.mu.Lock()
	now := time.Now()
	if !q.last.IsZero() && now.Sub(q.last) < q.interval {
		q.suppressed++
		q.mu.Unlock()
		return
	}
	n := q.suppressed
	q.last, q.suppressed = now, 0
	q.mu.Unlock()
	if n > 0 {
		args = append(args, "similar_since_last", n)
	}
	log.Warn(msg, args...)
}
