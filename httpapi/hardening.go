package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// Limits the API keeps on its own (SECURITY.md).
const (
	// MaxIdempotencyKeyBytes is the longest Idempotency-Key taken; a longer one (or
	// one with other than visible ASCII characters) is a 400 before anything is
	// stored or sent to the platform.
	MaxIdempotencyKeyBytes = 128

	// MaxIdempotencyKeysPerDay is how many distinct Idempotency-Keys (other than the
	// bill number itself) one window may use in one day (Beijing time); beyond it a
	// request with a new key is a 429. A window settles a few hundred bills a day.
	MaxIdempotencyKeysPerDay = 5000

	// globalRateFactor: the limit over all clients together is this many clients'
	// worth of api.rate_limit, so that many source addresses (127.0.0.2, 127.0.0.3,
	// …) cannot multiply the per-address limit without end.
	globalRateFactor = 20
)

// hardening is the API's defence beside authentication: the Host check of the open
// pages, the per-token and global rate limits, and the Idempotency-Key bounds.
type hardening struct {
	hosts  hostGuard
	tokens *rateLimiter  // per caller (window or admin)
	global *rate.Limiter // all requests together; nil: no limit
	keys   keyBudget
}

func newHardening(listen string, hostNames []string, rateLimit float64, now func() time.Time) *hardening {
	h := &hardening{hosts: newHostGuard(listen, hostNames...), tokens: newRateLimiter(rateLimit, now)}
	h.keys = keyBudget{now: now, max: MaxIdempotencyKeysPerDay, seen: map[string]map[string]struct{}{}}
	if r := rateLimit; r > 0 {
		h.global = rate.NewLimiter(rate.Limit(r*globalRateFactor), max(int(r*globalRateFactor*2), 10))
	}
	return h
}

// secure sets the headers every answer carries: no MIME sniffing (a JSON error can
// never be read as HTML or script), no framing, no referrer.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// clip cuts a message that carries request text to at most n bytes (never inside a
// character).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// quoted is a value from the request as an error message may show it: Go-quoted
// (control and direction characters escaped) and cut to 40 bytes, so an answer never
// carries back more than a glimpse of what was sent.
func quoted(s string) string {
	if c := clip(s, 40); c != s {
		return strconv.Quote(c[:len(c)-len("…")]) + "…"
	}
	return strconv.Quote(s)
}

// notFound answers an unknown endpoint without repeating the path or the method: an
// error never echoes what the client sent.
func notFound(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody("not_found", "no such endpoint; see /v1/openapi.json", nil))
}

// hostGuard knows the names the agent answers to on its open pages (/, /metrics,
// /readyz): the address it listens on, its host name, and the loopback names. A page
// asked for under any other Host is a page a browser fetched for another site that
// resolved its name to this machine (DNS rebinding): it is refused.
type hostGuard struct {
	names map[string]bool
}

func newHostGuard(listen string, extra ...string) hostGuard {
	g := hostGuard{names: map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}}
	for _, n := range extra {
		g.names[normalHost(n)] = true
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	host = normalHost(host)
	if hn, err := os.Hostname(); err == nil && hn != "" {
		hn = normalHost(hn)
		g.names[hn] = true
		if i := strings.IndexByte(hn, '.'); i > 0 {
			g.names[hn[:i]] = true
		}
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.IsUnspecified():
		// Every address of the machine.
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					g.names[normalHost(n.IP.String())] = true
				}
			}
		}
	default:
		g.names[host] = true
	}
	return g
}

// normalHost lowercases a host and drops a port, IPv6 brackets and a trailing dot.
func normalHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return strings.ToLower(h)
}

func (g hostGuard) allows(host string) bool { return g.names[normalHost(host)] }

// sameHost wraps an open page with the Host check.
func (s *Server) sameHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hard.allowsHost(r.Host) {
			s.log.Warn("api request refused: Host is not a name of this agent (DNS rebinding?)",
				"path", r.URL.Path, "remote", clientIP(r))
			writeJSON(w, http.StatusMisdirectedRequest, errorBody("wrong_host",
				"this page answers only under the agent's own address or host name (or localhost)", nil))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// idempotencyKeyProblem says what is wrong with an Idempotency-Key header, "" when
// nothing: at most one, at most MaxIdempotencyKeyBytes, visible ASCII only.
func idempotencyKeyProblem(r *http.Request) string {
	vals := r.Header.Values("Idempotency-Key")
	switch {
	case len(vals) == 0:
		return ""
	case len(vals) > 1:
		return "send one Idempotency-Key header, not several"
	case len(vals[0]) > MaxIdempotencyKeyBytes:
		return fmt.Sprintf("Idempotency-Key is longer than %d bytes", MaxIdempotencyKeyBytes)
	}
	for i := 0; i < len(vals[0]); i++ {
		if c := vals[0][i]; c < 0x21 || c > 0x7e {
			return "Idempotency-Key may hold visible ASCII characters only (a UUID, the bill number)"
		}
	}
	return ""
}

// windowKey is the idempotency key as stored: the window's own namespace and a
// digest of the client's key, so one window's keys can never answer (or block)
// another's, and a key costs the same few bytes however long the client made it.
// The default key (none sent) stays the bill number itself.
func windowKey(window, key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return "k/" + window + "/" + hex.EncodeToString(sum[:16])
}

// keyBudget counts the distinct Idempotency-Keys each window used today (in memory:
// the count starts over when the agent restarts or the day changes).
type keyBudget struct {
	mu   sync.Mutex
	now  func() time.Time
	max  int
	day  string
	seen map[string]map[string]struct{} // window -> stored keys
}

// take records key for window and reports whether the window is within its budget
// (a key already seen today is always within it).
func (k *keyBudget) take(window, key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if d := settle.Day(k.now()); d != k.day {
		k.day, k.seen = d, map[string]map[string]struct{}{}
	}
	m := k.seen[window]
	if m == nil {
		m = map[string]struct{}{}
		k.seen[window] = m
	}
	if _, ok := m[key]; ok {
		return true
	}
	if len(m) >= k.max {
		return false
	}
	m[key] = struct{}{}
	return true
}

// callerKey names a caller for the per-token rate limit.
func callerKey(c caller) string {
	if c.admin {
		return "admin"
	}
	return "window " + c.window
}

// allowGlobal reports whether the limit over all clients together lets one more
// request in. A Server built without hardening (nil) has no global limit.
func (h *hardening) allowGlobal() bool {
	return h == nil || h.global == nil || h.global.AllowN(h.tokens.now(), 1)
}

// allowToken reports whether the caller's own limit lets one more request in (a
// Server built without New has no hardening and no limit).
func (h *hardening) allowToken(caller string) bool { return h == nil || h.tokens.allow(caller) }

// allowsHost reports whether host is one of the agent's own names.
func (h *hardening) allowsHost(host string) bool { return h == nil || h.hosts.allows(host) }

// billKey turns the client's Idempotency-Key into the stored one (windowKey) and
// keeps the window's daily budget; false means the answer is written.
func (s *Server) billKey(w http.ResponseWriter, window, key string) (string, bool) {
	k := windowKey(window, key)
	if configured := s.window(window); k == "" || s.hard == nil || !configured {
		return k, true // no key, or a bill refused anyway (unknown window): nothing to count
	}
	if !s.hard.keys.take(window, k) {
		s.log.Warn("api bill refused: the window used too many idempotency keys today", "window", window, "max", s.hard.keys.max)
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, http.StatusTooManyRequests, errorBody("too_many_keys", fmt.Sprintf(
			"window %s has used %d different Idempotency-Keys today; retry with the key of the bill's first request, or without one (the bill number is the default key)", window, s.hard.keys.max), nil))
		return "", false
	}
	return k, true
}

// recordLookup writes the access record of one person lookup (by ID number or
// e-voucher typed at a window, or by a card read at its reader): which window asked,
// for which certificate (masked), and what came of it. One line per lookup, at info
// level, whatever the outcome; SECURITY.md names it.
func (s *Server) recordLookup(r *http.Request, how string, pt settle.Patient, source string, err error) {
	outcome := source
	if err != nil {
		outcome = "error"
		switch {
		case errors.Is(err, settle.ErrNotFound):
			outcome = "not_found"
		case errors.Is(err, platform.ErrBusiness):
			outcome = "refused_by_platform"
		}
	}
	s.log.Info("person lookup", "caller", callerKey(callerOf(r)), "how", how, "remote", clientIP(r),
		"mdtrt_cert_type", pt.MdtrtCertType, "mdtrt_cert_no", settle.MaskID(pt.MdtrtCertNo), "outcome", outcome)
}

// noteConflict writes, for hospital IT, that a bill number a window posted is held by
// another window's bill (posted by that window, or over HL7 or the drop folder naming
// it): bill numbers are one namespace for the hospital (SECURITY.md), so the line is
// how a number taken by the wrong window is found.
func (s *Server) noteConflict(b settle.Bill) {
	rec, err := s.o.Bills.Bill(b.BillNo)
	if err == nil && rec.Bill.Window != b.Window {
		s.log.Warn("bill number already taken by another window's bill", "bill_no", b.BillNo, "window", b.Window,
			"held_by", rec.Bill.Window, "held_source", rec.Source)
	}
}
