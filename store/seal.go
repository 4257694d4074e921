package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// sealer encrypts the records that hold personal data (bills, cached persons) with
// AES-256-GCM before they reach the store file. The key comes from the configuration
// ([store] key); older keys ([store] old_keys) still open what they sealed, so a key
// can be rotated without rewriting the store. Without a key, records are stored in
// clear with a one-byte marker, and sealing can be switched on later.
type sealer struct {
	current *sealKey
	byID    map[[4]byte]*sealKey
	// macKey keys the hash that names cached persons (derived from the current key);
	// nil without a key.
	macKey []byte
}

type sealKey struct {
	id   [4]byte
	aead cipher.AEAD
}

const (
	sealPlain byte = 0
	sealGCM   byte = 1
)

func newSealer(current string, old []string) (*sealer, error) {
	s := &sealer{byID: map[[4]byte]*sealKey{}}
	add := func(field, v string) (*sealKey, error) {
		raw, err := decodeKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		sum := sha256.Sum256(raw)
		k := &sealKey{aead: aead}
		copy(k.id[:], sum[:4])
		s.byID[k.id] = k
		return k, nil
	}
	if current != "" {
		k, err := add("store.key", current)
		if err != nil {
			return nil, err
		}
		s.current = k
		raw, _ := decodeKey(current)
		mk := sha256.Sum256(append([]byte("settle-agent person cache key\x00"), raw...))
		s.macKey = mk[:]
	}
	for i, v := range old {
		if _, err := add(fmt.Sprintf("store.old_keys[%d]", i), v); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// decodeKey accepts a 32-byte key as base64 or hex.
func decodeKey(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, errors.New("a store key is 32 random bytes written as base64 (openssl rand -base64 32) or 64 hex digits")
}

// Name returns a keyed hash (HMAC-SHA256, 16 bytes) of b: a store key that does not
// give away b, nor lets anyone without the store key test guesses against it. Without
// a store key it is a plain SHA-256.
func (s *sealer) Name(b []byte) []byte {
	if s == nil || s.macKey == nil {
		sum := sha256.Sum256(b)
		return sum[:16]
	}
	m := hmac.New(sha256.New, s.macKey)
	m.Write(b)
	return m.Sum(nil)[:16]
}

// Seal returns data ready for the store; aad binds it to its key in the bucket.
func (s *sealer) Seal(data, aad []byte) ([]byte, error) {
	if s == nil || s.current == nil {
		return append([]byte{sealPlain}, data...), nil
	}
	k := s.current
	out := make([]byte, 1+4+k.aead.NonceSize(), 1+4+k.aead.NonceSize()+len(data)+k.aead.Overhead())
	out[0] = sealGCM
	copy(out[1:5], k.id[:])
	nonce := out[5:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return k.aead.Seal(out, nonce, data, aad), nil
}

// Open reverses Seal.
func (s *sealer) Open(v, aad []byte) ([]byte, error) {
	if len(v) == 0 {
		return nil, errors.New("empty record")
	}
	switch v[0] {
	case sealPlain:
		return v[1:], nil
	case sealGCM:
		if len(v) < 5 {
			return nil, errors.New("sealed record too short")
		}
		var id [4]byte
		copy(id[:], v[1:5])
		var k *sealKey
		if s != nil {
			k = s.byID[id]
		}
		if k == nil {
			return nil, ErrSealKey
		}
		ns := k.aead.NonceSize()
		if len(v) < 5+ns {
			return nil, errors.New("sealed record too short")
		}
		out, err := k.aead.Open(nil, v[5:5+ns], v[5+ns:], aad)
		if err != nil {
			return nil, fmt.Errorf("open sealed record: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown record format %#x", v[0])
}
