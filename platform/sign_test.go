package platform

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestSign_Vectors(t *testing.T) {
	// Expected values computed independently: printf '%s' "$ts$token$nonce$ts" | sha256sum
	for _, tc := range []struct{ ts, token, nonce, want string }{
		{"1732406400", "s3cr3t", "n0nce", "3518f5558a221cf8fd21efabba179bc1c170d4767f27b24cb014320ccc1664ff"},
		{"", "", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	} {
		if got := Sign(tc.ts, tc.token, tc.nonce); got != tc.want {
			t.Errorf("Sign(%q, %q, %q) = %s; want %s", tc.ts, tc.token, tc.nonce, got, tc.want)
		}
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1732406400, 0)
	signed := func(at time.Time) http.Header {
		h := http.Header{}
		SignHeaders(h, "paas1", "s3cr3t", at)
		return h
	}
	t.Run("OK", func(t *testing.T) {
		if err := VerifySignature(signed(now), "paas1", "s3cr3t", now, 0); err != nil {
			t.Fatalf("got %v; want nil", err)
		}
		if err := VerifySignature(signed(now.Add(-299*time.Second)), "paas1", "s3cr3t", now, 300*time.Second); err != nil {
			t.Fatalf("299 s old: got %v; want nil", err)
		}
	})
	t.Run("NonceIsFresh", func(t *testing.T) {
		if a, b := signed(now).Get(HeaderNonce), signed(now).Get(HeaderNonce); a == b || len(a) < 16 {
			t.Fatalf("nonces %q and %q; want fresh random ones", a, b)
		}
	})
	bad := map[string]func() http.Header{
		"Stale":  func() http.Header { return signed(now.Add(-301 * time.Second)) },
		"Future": func() http.Header { return signed(now.Add(301 * time.Second)) },
		"WrongToken": func() http.Header {
			h := http.Header{}
			SignHeaders(h, "paas1", "other", now)
			return h
		},
		"WrongPaasid": func() http.Header {
			h := http.Header{}
			SignHeaders(h, "paas2", "s3cr3t", now)
			return h
		},
		"TamperedNonce": func() http.Header { h := signed(now); h.Set(HeaderNonce, "x"); return h },
		"TamperedTimestamp": func() http.Header {
			h := signed(now)
			h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
			return h
		},
		"UpperCaseHex": func() http.Header {
			h := signed(now)
			h.Set(HeaderSignature, "A"+h.Get(HeaderSignature)[1:])
			return h
		},
		"Missing":     func() http.Header { return http.Header{} },
		"NotNumeric":  func() http.Header { h := signed(now); h.Set(HeaderTimestamp, "soon"); return h },
		"NoSignature": func() http.Header { h := signed(now); h.Del(HeaderSignature); return h },
	}
	for name, mk := range bad {
		t.Run(name, func(t *testing.T) {
			err := VerifySignature(mk(), "paas1", "s3cr3t", now, 300*time.Second)
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("got %v; want ErrUnauthorized", err)
			}
		})
	}
}
