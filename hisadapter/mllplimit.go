package hisadapter

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Intake bounds how fast bills from the HIS reach the Sink, over every MLLP
// connection and the drop folder together, so that a flood is taken at the pace the
// platform can bear (each bill is several platform calls) instead of all at once. The
// agent makes one at [hl7] message_rate and gives it to both inputs. An MLLP message
// waits for its turn at most the listener's RateWait (longer: AE "resend later"); a
// drop folder bill waits as long as it takes (the file stays where it is meanwhile).
type Intake struct {
	lim *rate.Limiter // nil: no limit
}

// NewIntake returns an intake of perSecond bills a second, burst at once (0: twice
// perSecond); a negative perSecond means no limit.
func NewIntake(perSecond float64, burst int) *Intake {
	if perSecond < 0 {
		return &Intake{}
	}
	if burst <= 0 {
		burst = max(int(2*perSecond), 1)
	}
	return &Intake{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// take waits for one bill's turn; false means it must be refused (it would wait
// longer than wait, or ctx ended).
func (in *Intake) take(ctx context.Context, wait time.Duration) bool {
	if in == nil || in.lim == nil {
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
	if d > wait {
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

// await waits for one bill's turn as long as ctx lasts.
func (in *Intake) await(ctx context.Context) error {
	if in == nil || in.lim == nil {
		return ctx.Err()
	}
	return in.lim.Wait(ctx)
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
