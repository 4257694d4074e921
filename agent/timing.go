package agent

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// platformTimer adds up the time one API request spends waiting on the platform, so
// that the answer can say how much of its latency was the agent's own
// (Server-Timing: platform;dur=<ms>). The benchmark uses it for overhead_p99_ms.
type platformTimer struct{ nanos atomic.Int64 }

type timerKey struct{}

func withPlatformTimer(ctx context.Context) (context.Context, *platformTimer) {
	t := &platformTimer{}
	return context.WithValue(ctx, timerKey{}, t), t
}

// addPlatformTime records d against the request ctx belongs to, if any.
func addPlatformTime(ctx context.Context, d time.Duration) {
	if t, ok := ctx.Value(timerKey{}).(*platformTimer); ok {
		t.nanos.Add(int64(d))
	}
}

// timingWriter sets the Server-Timing header just before the status line goes out.
type timingWriter struct {
	http.ResponseWriter
	t     *platformTimer
	wrote bool
}

func (w *timingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if n := w.t.nanos.Load(); n > 0 {
			w.Header().Set("Server-Timing", fmt.Sprintf("platform;dur=%.3f", float64(n)/1e6))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *timingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps streaming handlers (pprof) working through the wrapper.
func (w *timingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *timingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func timed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, t := withPlatformTimer(r.Context())
		next.ServeHTTP(&timingWriter{ResponseWriter: w, t: t}, r.WithContext(ctx))
	})
}
