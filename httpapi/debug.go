package httpapi

import (
	"net/http"
	"net/http/pprof"
)

// debugRoutes exposes the Go profiler behind the admin token.
func (s *Server) debugRoutes(mux *http.ServeMux, adm func(http.HandlerFunc) http.Handler) {
	mux.Handle("GET /debug/pprof/", adm(pprof.Index))
	mux.Handle("GET /debug/pprof/cmdline", adm(pprof.Cmdline))
	mux.Handle("GET /debug/pprof/profile", adm(pprof.Profile))
	mux.Handle("GET /debug/pprof/symbol", adm(pprof.Symbol))
	mux.Handle("GET /debug/pprof/trace", adm(pprof.Trace))
}
