package httpapi

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/settle-agent/settle-agent/workflow"
)

// The Server-Timing header says how much of an answer's latency was the platform's
// (platform;dur=<ms>), from the engine's per-request platform timer; the benchmark
// uses it for overhead_p99_ms.

// timingWriter sets the Server-Timing header just before the status line goes out.
type timingWriter struct {
	http.ResponseWriter
	t     *atomic.Int64
	wrote bool
}

func (w *timingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if n := w.t.Load(); n > 0 {
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
		ctx, t := workflow.WithPlatformTimer(r.Context())
		next.ServeHTTP(&timingWriter{ResponseWriter: w, t: t}, r.WithContext(ctx))
	})
}
