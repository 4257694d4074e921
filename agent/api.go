package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
)

// apiError is every error the API answers: {"error": {"code", "message", "details"}}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func errorBody(code, msg string, details any) map[string]apiError {
	return map[string]apiError{"error": {Code: code, Message: msg, Details: details}}
}

type ctxKey int

const ctxWindow ctxKey = 1

// caller is who made a request: one window, or an administrator.
type caller struct {
	window string // empty for the admin
	admin  bool
}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(ctxWindow).(caller)
	return c
}

func (a *Agent) routes() http.Handler {
	mux := http.NewServeMux()
	win := func(h http.HandlerFunc) http.Handler { return a.auth(false, h) }
	adm := func(h http.HandlerFunc) http.Handler { return a.auth(true, h) }

	mux.HandleFunc("GET /healthz", a.handleHealthz)
	mux.HandleFunc("GET /readyz", a.handleReadyz)
	mux.HandleFunc("GET /v1/openapi.json", a.handleOpenAPI)
	mux.HandleFunc("GET /{$}", a.handleStatusPage)
	mux.Handle("GET /metrics", a.metrics.handler())

	mux.Handle("GET /v1/status", win(a.handleStatus))
	mux.Handle("GET /v1/windows/{window}/card", win(a.handleCard))
	mux.Handle("POST /v1/persons/lookup", win(a.handleLookup))
	mux.Handle("POST /v1/bills", win(a.handleCreateBill))
	mux.Handle("GET /v1/bills", win(a.handleListBills))
	mux.Handle("GET /v1/bills/{bill_no}", win(a.handleGetBill))
	mux.Handle("POST /v1/bills/{bill_no}/settle", win(a.handleSettle))
	mux.Handle("POST /v1/bills/{bill_no}/cancel", win(a.handleCancel))

	mux.Handle("GET /v1/queue", adm(a.handleQueueList))
	mux.Handle("GET /v1/queue/{id}", adm(a.handleQueueGet))
	mux.Handle("POST /v1/queue/{id}/retry", adm(a.handleQueueRetry))
	mux.Handle("POST /v1/queue/{id}/dead", adm(a.handleQueueDead))
	mux.Handle("GET /v1/reconciliation", adm(a.handleReconciliation))
	a.debugRoutes(mux, adm)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody("not_found", "no such endpoint: "+r.Method+" "+r.URL.Path+"; see /v1/openapi.json", nil))
	})
	return a.limits(timed(mux))
}

// limits applies the body size limit and the per-client rate limit to every request.
func (a *Agent) limits(next http.Handler) http.Handler {
	max := a.cfg.API.MaxBodyBytes
	if max <= 0 {
		max = 1 << 20
	}
	rl := newRateLimiter(a.cfg.API.RateLimit, a.now)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rl.allow(clientIP(r)) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, errorBody("rate_limited", "too many requests from this client; slow down and retry", nil))
			return
		}
		if r.ContentLength > max {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody("too_large", fmt.Sprintf("request body over %d bytes", max), nil))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// auth checks the bearer token: a window's token acts for that window only; the admin
// token reaches everything. Comparisons are constant-time.
func (a *Agent) auth(adminOnly bool, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="settle-agent"`)
			writeJSON(w, http.StatusUnauthorized, errorBody("unauthorized", "missing bearer token: send Authorization: Bearer <window token>", nil))
			return
		}
		var c caller
		if a.cfg.API.AdminToken.Equal(tok) {
			c.admin = true
		} else if win, found := a.cfg.WindowByToken(tok); found {
			c.window = win.ID
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="settle-agent", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, errorBody("unauthorized", "unknown token: check the window's token in the configuration", nil))
			return
		}
		if adminOnly && !c.admin {
			writeJSON(w, http.StatusForbidden, errorBody("forbidden", "this endpoint needs the admin token", nil))
			return
		}
		if pw := r.PathValue("window"); pw != "" && !c.admin && pw != c.window {
			writeJSON(w, http.StatusForbidden, errorBody("forbidden", fmt.Sprintf("the token of window %s may not act for window %s", c.window, pw), nil))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxWindow, c)))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if raw, ok := v.(json.RawMessage); ok {
		_, _ = w.Write(raw)
		_, _ = w.Write([]byte("\n"))
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeBody decodes a JSON body strictly: unknown fields, trailing data, wrong types
// and float money are errors that name the problem.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value in the body")
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody("too_large", fmt.Sprintf("request body over %d bytes", mbe.Limit), nil))
	case errors.As(err, &ute):
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", fmt.Sprintf("field %s: expected %s, got JSON %s", ute.Field, ute.Type, ute.Value), nil))
	case errors.As(err, &se):
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err), nil))
	case errors.Is(err, io.EOF):
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", "empty body: a JSON object is expected", nil))
	case errors.Is(err, settle.ErrDecimal):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("invalid_bill", err.Error(), nil))
	default:
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", err.Error(), nil))
	}
	return false
}

// writeErr answers an error from a workflow with the right status and a sentence.
func (a *Agent) writeErr(w http.ResponseWriter, err error) {
	var ve *settle.ValidationError
	switch {
	case errors.Is(err, ErrUnmapped) && errors.As(err, &ve):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("unmapped_items", "item codes without a mapping to national codes (目录对照): fix the mapping file or the bill", ve.Fields))
	case errors.As(err, &ve) && ve.What == "bill":
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("invalid_bill", ve.Error(), ve.Fields))
	case errors.As(err, &ve):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("invalid_request", ve.Error(), ve.Fields))
	case errors.Is(err, settle.ErrConflict):
		writeJSON(w, http.StatusConflict, errorBody("conflict", err.Error(), nil))
	case errors.Is(err, settle.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody("not_found", err.Error(), nil))
	case errors.Is(err, ErrClosed):
		writeJSON(w, http.StatusServiceUnavailable, errorBody("shutting_down", "the agent is stopping; retry in a moment", nil))
	case errors.Is(err, errSealKey):
		a.log.Error("store record unreadable", "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody("store_key_missing", "the store holds records sealed with a key the configuration lacks: add that key to [store] old_keys and restart; call hospital IT", nil))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusServiceUnavailable, errorBody("busy", "the bill is busy with another request; retry in a moment", nil))
	default:
		a.log.Error("request failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody("internal", "the agent could not complete the request: "+err.Error()+"; call hospital IT", nil))
	}
}

func (a *Agent) newServer() *http.Server {
	c := a.cfg.API
	srv := &http.Server{
		Handler:           a.api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       durOr(c.ReadTimeout, 15*time.Second),
		WriteTimeout:      durOr(c.WriteTimeout, 75*time.Second), // card long polls wait up to 60 s
		IdleTimeout:       durOr(c.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    64 << 10,
		// TLS handshake failures and the like go to the agent's log, not stderr.
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	return srv
}

func (a *Agent) serve(srv *http.Server, ln net.Listener) error {
	c := a.cfg.API
	var err error
	if c.TLSCert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.ClientCA != "" {
			pem, rerr := os.ReadFile(c.ClientCA)
			if rerr != nil {
				return fmt.Errorf("api.client_ca: %w", rerr)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("api.client_ca %s: no PEM certificates", c.ClientCA)
			}
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		srv.TLSConfig = tc
		err = srv.ServeTLS(ln, c.TLSCert, c.TLSKey)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func durOr(d config.Duration, def time.Duration) time.Duration {
	if d.Duration > 0 {
		return d.Duration
	}
	return def
}

func queryInt(r *http.Request, name string, def, max int) int {
	v, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || v <= 0 {
		return def
	}
	return min(v, max)
}
