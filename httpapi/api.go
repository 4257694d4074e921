package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	settle "github.com/settle-agent/settle-agent"
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

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	win := func(h http.HandlerFunc) http.Handler { return s.auth(false, h) }
	adm := func(h http.HandlerFunc) http.Handler { return s.auth(true, h) }

	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.Handle("GET /readyz", s.sameHost(http.HandlerFunc(s.handleReadyz)))
	mux.HandleFunc("GET /v1/openapi.json", s.handleOpenAPI)
	mux.Handle("GET /{$}", s.sameHost(http.HandlerFunc(s.handleStatusPage)))
	mux.Handle("GET /metrics", s.sameHost(s.metrics.handler()))

	mux.Handle("GET /v1/status", win(s.handleStatus))
	mux.Handle("GET /v1/windows/{window}/card", win(s.handleCard))
	if s.o.RemoteReaders != nil { // the window's token, its rate limit; the hub checks the token again
		mux.Handle("POST /v1/windows/{window}/reader/heartbeat", win(s.o.RemoteReaders.ServeHTTP))
		mux.Handle("POST /v1/windows/{window}/reader/reads", win(s.o.RemoteReaders.ServeHTTP))
	}
	mux.Handle("POST /v1/persons/lookup", win(s.handleLookup))
	mux.Handle("POST /v1/bills", win(s.handleCreateBill))
	mux.Handle("GET /v1/bills", win(s.handleListBills))
	mux.Handle("GET /v1/bills/{bill_no}", win(s.handleGetBill))
	mux.Handle("POST /v1/bills/{bill_no}/settle", win(s.handleSettle))
	mux.Handle("POST /v1/bills/{bill_no}/cancel", win(s.handleCancel))
	mux.Handle("POST /v1/stays", win(s.handleCreateStay))
	mux.Handle("GET /v1/stays/{ipt_no}", win(s.handleGetStay))
	mux.Handle("POST /v1/stays/{ipt_no}/fees", win(s.handleStayFees))
	mux.Handle("DELETE /v1/stays/{ipt_no}/fees/{batch_no}", win(s.handleCancelStayFees))
	mux.Handle("POST /v1/stays/{ipt_no}/discharge", win(s.handleDischarge))
	mux.Handle("POST /v1/stays/{ipt_no}/presettle", win(s.handlePresettleStay))
	mux.Handle("POST /v1/stays/{ipt_no}/settle", win(s.handleSettleStay))
	mux.Handle("POST /v1/stays/{ipt_no}/cancel-settlement", win(s.handleCancelStaySettlement))
	mux.Handle("POST /v1/stays/{ipt_no}/cancel", win(s.handleCancelStay))

	mux.Handle("GET /v1/cluster", adm(s.handleCluster))
	mux.Handle("GET /v1/queue", adm(s.handleQueueList))
	mux.Handle("GET /v1/queue/{id}", adm(s.handleQueueGet))
	mux.Handle("POST /v1/queue/{id}/retry", adm(s.handleQueueRetry))
	mux.Handle("POST /v1/queue/{id}/dead", adm(s.handleQueueDead))
	mux.Handle("GET /v1/reconciliation", adm(s.handleReconciliation))
	mux.Handle("GET /v1/admin/store-copy", adm(s.handleStoreCopy))
	mux.Handle("GET /v1/catalogue", adm(s.handleCatalogue))
	mux.Handle("POST /v1/catalogue/sync", adm(s.handleCatalogueSync))
	mux.Handle("POST /v1/mapping/check", adm(s.handleMappingCheck))
	mux.Handle("POST /v1/mapping/upload", adm(s.handleMappingUpload))
	s.debugRoutes(mux, adm)

	mux.HandleFunc("/", notFound)
	return secure(s.limits(timed(mux)))
}

// limits applies the body size limit and the per-client rate limit to every request.
func (s *Server) limits(next http.Handler) http.Handler {
	max := s.o.MaxBodyBytes
	if max <= 0 {
		max = 1 << 20
	}
	rl := newRateLimiter(s.o.RateLimit, s.now)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rl.allow(clientIP(r)) || !s.hard.allowGlobal() {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, errorBody("rate_limited", "too many requests from this client; slow down and retry", nil))
			return
		}
		if p := idempotencyKeyProblem(r); p != "" {
			writeJSON(w, http.StatusBadRequest, errorBody("bad_idempotency_key", p, nil))
			return
		}
		if r.ContentLength > max {
			tooLarge(w, r, max)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = newLimitedBody(r.Body, max)
		}
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
func (s *Server) auth(adminOnly bool, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="settle-agent"`)
			writeJSON(w, http.StatusUnauthorized, errorBody("unauthorized", "missing bearer token: send Authorization: Bearer <window token>", nil))
			return
		}
		var c caller
		if tokenEqual(s.o.AdminToken, tok) {
			c.admin = true
		} else if win, found := s.windowByToken(tok); found {
			c.window = win.ID
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="settle-agent", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, errorBody("unauthorized", "unknown token: check the window's token in the configuration", nil))
			return
		}
		if !s.hard.allowToken(callerKey(c)) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, errorBody("rate_limited", "too many requests with this token; slow down and retry", nil))
			return
		}
		if !c.admin && s.noQuorum() {
			s.writeNoQuorum(w, r) // never settle on this node's own memory
			return
		}
		if adminOnly && !c.admin {
			writeJSON(w, http.StatusForbidden, errorBody("forbidden", "this endpoint needs the admin token", nil))
			return
		}
		if pw := r.PathValue("window"); pw != "" && !c.admin && pw != c.window {
			writeJSON(w, http.StatusForbidden, errorBody("forbidden", fmt.Sprintf("the token of window %s may not act for window %s", c.window, quoted(pw)), nil))
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

// decodeBody decodes a JSON body strictly: unknown fields, trailing data, wrong types,
// float money, invalid UTF-8 and repeated or case-variant member names (bodyProblem)
// are errors that name the problem.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		tooLarge(w, r, mbe.Limit)
		return false
	}
	if p := bodyProblem(body, v); err == nil && p != "" {
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", p, nil))
		return false
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if err == nil && dec.More() {
			err = errors.New("more than one JSON value in the body")
		}
	}
	if err == nil {
		return true
	}
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", fmt.Sprintf("field %s: expected %s, got JSON %s", ute.Field, ute.Type, ute.Value), nil))
	case errors.As(err, &se):
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err), nil))
	case errors.Is(err, io.EOF):
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", "empty body: a JSON object is expected", nil))
	case errors.Is(err, settle.ErrDecimal):
		// The decoder does not say which member; find it, so the cashier's
		// developer reads "items[0].amount", not only the value.
		// Every bad decimal is named at once, as the other rules are.
		msg := err.Error()
		fields := decimalFields(body, v)
		fields = append(fields, otherProblems(body, v)...)
		if len(fields) > 0 {
			parts := make([]string, len(fields))
			for i, f := range fields {
				parts[i] = f.Field + ": " + f.Reason
			}
			msg = strings.Join(parts, "; ")
		}
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("invalid_bill", msg, fields))
	default: // "json: unknown field ..." names what the client sent: a glimpse only
		writeJSON(w, http.StatusBadRequest, errorBody("bad_json", clip(err.Error(), 120), nil))
	}
	return false
}

func queryInt(r *http.Request, name string, def, max int) int {
	v, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || v <= 0 {
		return def
	}
	return min(v, max)
}
