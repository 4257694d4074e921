package httpapi

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestHostGuard(t *testing.T) {
	hn, _ := os.Hostname()
	for _, tc := range []struct {
		listen string
		host   string
		want   bool
	}{
		{"127.0.0.1:8420", "127.0.0.1:8420", true},
		{"127.0.0.1:8420", "LOCALHOST:8420", true},
		{"127.0.0.1:8420", "[::1]:8420", true},
		{"127.0.0.1:8420", "localhost.", true},
		{"127.0.0.1:8420", "evil.example:8420", false},
		{"127.0.0.1:8420", "127.0.0.1.evil.example", false},
		{"127.0.0.1:8420", "", false},
		{"10.1.2.5:8420", "10.1.2.5:8420", true},
		{"10.1.2.5:8420", "10.1.2.6:8420", false},
		{"settle.hospital.example:8420", "settle.hospital.example:8420", true},
		{":8420", "127.0.0.1:8420", true},
		{"0.0.0.0:8420", "evil.example", false},
	} {
		if got := newHostGuard(tc.listen).allows(tc.host); got != tc.want {
			t.Errorf("listen %s, Host %q: got %v; want %v", tc.listen, tc.host, got, tc.want)
		}
	}
	if g := newHostGuard("0.0.0.0:8420", "Settle.Hospital.Local"); !g.allows("settle.hospital.local:8420") || g.allows("hospital.local") {
		t.Error("host_names: the configured name refused, or another allowed")
	}
	if hn != "" && !newHostGuard("127.0.0.1:8420").allows(hn+":8420") {
		t.Errorf("the machine's own name %q is refused", hn)
	}
}

func TestIdempotencyKeyProblem(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		ok   bool
	}{
		{nil, true},
		{[]string{"3f2a-9c1e"}, true},
		{[]string{strings.Repeat("a", MaxIdempotencyKeyBytes)}, true},
		{[]string{strings.Repeat("a", MaxIdempotencyKeyBytes+1)}, false},
		{[]string{"a b"}, false},
		{[]string{"a\u202eb"}, false},
		{[]string{"a", "b"}, false},
	} {
		r, _ := http.NewRequest("POST", "/v1/bills", nil)
		for _, k := range tc.keys {
			r.Header.Add("Idempotency-Key", k)
		}
		if p := idempotencyKeyProblem(r); (p == "") != tc.ok {
			t.Errorf("keys %q: got problem %q; want ok %v", tc.keys, p, tc.ok)
		}
	}
}

func TestWindowKey(t *testing.T) {
	if windowKey("W01", "") != "" {
		t.Error("no key sent: want the default (bill number) kept")
	}
	a, b := windowKey("W01", "k"), windowKey("W02", "k")
	if a == b || a != windowKey("W01", "k") {
		t.Errorf("got %q and %q; want per-window and deterministic", a, b)
	}
	if long := windowKey("W01", strings.Repeat("x", 128)); len(long) != len(a) || strings.Contains(long, "xxxx") {
		t.Errorf("stored key %q: want a fixed-size digest, not the client's text", long)
	}
}

func TestKeyBudget(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	k := keyBudget{now: func() time.Time { return now }, max: 2, seen: map[string]map[string]struct{}{}}
	for i, tc := range []struct {
		window, key string
		want        bool
	}{
		{"W01", "a", true}, {"W01", "b", true}, {"W01", "a", true}, {"W01", "c", false}, {"W02", "c", true},
	} {
		if got := k.take(tc.window, tc.key); got != tc.want {
			t.Errorf("take %d (%s %s): got %v; want %v", i, tc.window, tc.key, got, tc.want)
		}
	}
	now = now.Add(24 * time.Hour) // the next day starts over
	if !k.take("W01", "c") {
		t.Error("the next day: a new key refused")
	}
}

// FuzzIdempotencyKey: an accepted key is short visible ASCII, and its stored form is
// a fixed-size digest.
func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range []string{"abc", strings.Repeat("k", 129), "a\x00b", "键", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		r, _ := http.NewRequest("POST", "/v1/bills", nil)
		r.Header["Idempotency-Key"] = []string{key}
		if idempotencyKeyProblem(r) != "" {
			return
		}
		if len(key) > MaxIdempotencyKeyBytes || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			t.Fatalf("accepted %q", key)
		}
		if got := windowKey("W01", key); key != "" && len(got) != len(windowKey("W01", "x")) {
			t.Fatalf("stored %q", got)
		}
	})
}

func TestQuoted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"W01", `"W01"`},
		{"a\u202eb", `"a\u202eb"`},
		{strings.Repeat("x", 100), `"` + strings.Repeat("x", 40) + `"…`},
		{strings.Repeat("x", 39) + "键", `"` + strings.Repeat("x", 39) + `"…`}, // never half a character
	} {
		if got := quoted(tc.in); got != tc.want {
			t.Errorf("quoted(%q): got %s; want %s", tc.in, got, tc.want)
		}
	}
}
