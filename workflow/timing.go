package workflow

import (
	"context"
	"sync/atomic"
	"time"
)

// platformTimer adds up the time one API request spends waiting on the platform, so
// that the answer can say how much of its latency was the agent's own
// (Server-Timing: platform;dur=<ms>). The benchmark uses it for overhead_p99_ms.
type platformTimer struct{ nanos atomic.Int64 }

type timerKey struct{}

// WithPlatformTimer returns a context whose platform calls add their time to the
// returned counter (nanoseconds).
func WithPlatformTimer(ctx context.Context) (context.Context, *atomic.Int64) {
	t := &platformTimer{}
	return context.WithValue(ctx, timerKey{}, t), &t.nanos
}

// addPlatformTime records d against the request ctx belongs to, if any.
func addPlatformTime(ctx context.Context, d time.Duration) {
	if t, ok := ctx.Value(timerKey{}).(*platformTimer); ok {
		t.nanos.Add(int64(d))
	}
}
