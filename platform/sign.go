package platform

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Gateway signing headers (the province decides whether they are required).
const (
	HeaderPaasid    = "x-tif-paasid"
	HeaderTimestamp = "x-tif-timestamp"
	HeaderNonce     = "x-tif-nonce"
	HeaderSignature = "x-tif-signature"
)

// DefaultMaxSkew is how far a signature's timestamp may be from the verifier's clock.
const DefaultMaxSkew = 300 * time.Second

// Sign returns the gateway signature: lower-case hex SHA-256 of
// timestamp + token + nonce + timestamp.
func Sign(timestamp, token, nonce string) string {
	sum := sha256.Sum256([]byte(timestamp + token + nonce + timestamp))
	return hex.EncodeToString(sum[:])
}

// SignHeaders sets the four signing headers on h for a request made at now, with a fresh
// random nonce.
func SignHeaders(h http.Header, paasid, token string, now time.Time) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	nonce := hex.EncodeToString(b[:])
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(HeaderPaasid, paasid)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderNonce, nonce)
	h.Set(HeaderSignature, Sign(ts, token, nonce))
}

// VerifySignature checks the signing headers of a request against paasid and token, and
// that the timestamp is within maxSkew of now (DefaultMaxSkew when maxSkew <= 0). Every
// error wraps ErrUnauthorized; the gateway answers it with HTTP 401.
func VerifySignature(h http.Header, paasid, token string, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	gotPaasid, ts, nonce, sig := h.Get(HeaderPaasid), h.Get(HeaderTimestamp), h.Get(HeaderNonce), h.Get(HeaderSignature)
	if gotPaasid == "" || ts == "" || nonce == "" || sig == "" {
		return fmt.Errorf("signature headers missing: %w", ErrUnauthorized)
	}
	if subtle.ConstantTimeCompare([]byte(gotPaasid), []byte(paasid)) != 1 {
		return fmt.Errorf("unknown paasid %q: %w", clip(gotPaasid), ErrUnauthorized)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not unix seconds: %w", clip(ts), ErrUnauthorized)
	}
	skew := now.Sub(time.Unix(sec, 0))
	if skew > maxSkew || skew < -maxSkew {
		return fmt.Errorf("timestamp %d is %s from the gateway clock (at most %s): %w", sec, skew.Round(time.Second), maxSkew, ErrUnauthorized)
	}
	if subtle.ConstantTimeCompare([]byte(sig), []byte(Sign(ts, token, nonce))) != 1 {
		return fmt.Errorf("signature does not match: %w", ErrUnauthorized)
	}
	return nil
}
