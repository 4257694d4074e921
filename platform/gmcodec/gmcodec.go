// Package gmcodec is the 国密 (GM/T) envelope codec some provinces require on the
// platform's JSON envelope: the business part (input of a request, output of an
// answer) encrypted with SM4 (enctype "SM4") and the envelope signed with SM3 or
// SM3withSM2 (signtype, cainfo), as docs/platform.md ("国密 envelopes") describes.
//
// It works on envelope JSON, so that the platform client and the simulator use the
// same code in both directions: a client seals its requests' input and opens its
// answers' output; the simulator opens input and seals output. Every cryptographic
// step is a call into github.com/emmansun/gmsm; nothing here is written by hand but
// the envelope's text.
package gmcodec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emmansun/gmsm/sm2"
)

// Errors of this package. Every error New, Seal and Open return wraps one of them.
var (
	// ErrSettings marks settings that cannot work: an unknown mode, a mode without its
	// secret, an app_id too short for the key, an SM2 key that does not parse.
	ErrSettings = errors.New("国密 settings unusable")

	// ErrDecrypt marks an envelope whose encrypted part cannot be read with these
	// settings: not encrypted where it must be, not hex/base64, a wrong key (the
	// padding or the JSON inside does not hold), or not an envelope at all.
	ErrDecrypt = errors.New("envelope cannot be decrypted (解密失败)")

	// ErrSignature marks an envelope whose signature is missing where it is required
	// or does not verify (验签失败).
	ErrSignature = errors.New("envelope signature does not verify (验签失败)")
)

// Modes, signing kinds and transforms of Settings.
const (
	ModeSM4 = "sm4" // input/output encrypted with SM4

	SignSM3 = "sm3" // cainfo = hex SM3 of the signed text
	SignSM2 = "sm2" // cainfo = base64 SM3withSM2 signature of the signed text

	EncodingHex    = "hex"    // upper-case hex (the default)
	EncodingBase64 = "base64" // standard base64 with padding

	CipherECB = "ecb" // the default
	CipherCBC = "cbc" // with IV

	// DefaultUserID is the SM2 user ID (GM/T 0009) unless a province names another.
	DefaultUserID = "1234567812345678"
)

// The envelope fields the codec reads and writes.
const (
	fieldEnctype  = "enctype"
	fieldSigntype = "signtype"
	fieldCainfo   = "cainfo"
	// FieldInput is a request's business part, FieldOutput an answer's.
	FieldInput  = "input"
	FieldOutput = "output"
)

// Settings are one side's 国密 configuration ([platform.crypto]).
type Settings struct {
	// Mode is "" (input/output in plain JSON) or ModeSM4.
	Mode string
	// AppID and AppSecret are what the province issued the hospital. The SM4 key is
	// derived from both (DeriveKey); the secret also closes the signed text.
	AppID, AppSecret string
	// Sign is "" (unsigned), SignSM3 or SignSM2.
	Sign string
	// PrivateKeyFile is this side's SM2 private key (PKCS#8 or SEC 1 PEM), for
	// SignSM2; PrivateKeyPEM, when set, is its content and the file is not read.
	PrivateKeyFile string
	PrivateKeyPEM  []byte
	// PeerPublicKeyPEM is the other side's SM2 public key (PKIX PEM, or a certificate):
	// the platform's for a client (its answers are verified when it is set), the
	// hospital's for the simulator. PeerPublicKeyPEM, when set, is its content.
	PeerPublicKeyFile string
	PeerPublicKeyPEM  []byte
	// UserID is the SM2 user ID (DefaultUserID when empty).
	UserID string
	// Encoding is how ciphertext is written: EncodingHex (default) or EncodingBase64.
	Encoding string
	// Cipher is the SM4 mode: CipherECB (default) or CipherCBC with IV.
	Cipher string
	// IV is the CBC initialisation vector: 16 characters taken as bytes, or 32 hex digits.
	IV string
}

// Codec seals and opens envelopes under one side's Settings. It is safe for
// concurrent use. A Codec of empty Settings is the identity (Plain).
type Codec struct {
	s       Settings
	key     []byte // SM4 data key
	iv      []byte
	priv    *sm2.PrivateKey
	peer    *ecdsa.PublicKey
	userID  []byte
	signTag string // the signtype written: "SM3" or "SM2"
}

// New checks s and prepares its keys. Every problem is named at once, wrapped in
// ErrSettings; messages name the [platform.crypto] key to fix and never hold a secret.
func New(s Settings) (*Codec, error) {
	s.Mode = strings.ToLower(strings.TrimSpace(s.Mode))
	s.Sign = strings.ToLower(strings.TrimSpace(s.Sign))
	s.Encoding = strings.ToLower(strings.TrimSpace(s.Encoding))
	s.Cipher = strings.ToLower(strings.TrimSpace(s.Cipher))
	if s.Encoding == "" {
		s.Encoding = EncodingHex
	}
	if s.Cipher == "" {
		s.Cipher = CipherECB
	}
	if s.UserID == "" {
		s.UserID = DefaultUserID
	}
	var probs []string
	for _, p := range Check(s) {
		probs = append(probs, p.Key+": "+p.Reason)
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%s: %w", strings.Join(probs, "; "), ErrSettings)
	}
	s, _ = s.load() // Check read them
	c := &Codec{s: s, userID: []byte(s.UserID)}
	if s.Mode == ModeSM4 {
		k, err := DeriveKey(s.AppID, s.AppSecret)
		if err != nil {
			return nil, err
		}
		c.key = k
		if s.Cipher == CipherCBC {
			c.iv, _ = parseIV(s.IV) // Check accepted it
		}
	}
	switch s.Sign {
	case SignSM3:
		c.signTag = "SM3"
	case SignSM2:
		c.signTag = "SM2"
		c.priv, _ = ParsePrivateKey(s.PrivateKeyPEM) // Check parsed it
	}
	if len(s.PeerPublicKeyPEM) > 0 {
		c.peer, _ = ParsePublicKey(s.PeerPublicKeyPEM)
	}
	return c, nil
}

// Plain is the codec of a province without 国密: every envelope passes unchanged.
var Plain = &Codec{}

// Problem is one unusable setting: the [platform.crypto] key and why.
type Problem struct{ Key, Reason string }

// load reads the key files whose content is not given.
func (s Settings) load() (Settings, []Problem) {
	var out []Problem
	read := func(key, path string, dst *[]byte) {
		if path == "" || len(*dst) > 0 {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			out = append(out, Problem{key, "cannot be read: " + err.Error()})
			return
		}
		*dst = b
	}
	read("private_key_file", s.PrivateKeyFile, &s.PrivateKeyPEM)
	read("platform_public_key_file", s.PeerPublicKeyFile, &s.PeerPublicKeyPEM)
	return s, out
}

// Check lists every problem of s, by [platform.crypto] key, reading the key files
// but preparing nothing. config's Validate and New both use it.
func Check(s Settings) []Problem {
	s, out := s.load()
	add := func(key, reason string) { out = append(out, Problem{key, reason}) }
	mode, sign := strings.ToLower(s.Mode), strings.ToLower(s.Sign)
	switch mode {
	case "", ModeSM4:
	default:
		add("mode", fmt.Sprintf("%q is not a mode: write \"\" (plain) or \"sm4\"", s.Mode))
	}
	switch sign {
	case "", SignSM3, SignSM2:
	default:
		add("sign", fmt.Sprintf("%q is not a signing kind: write \"\", \"sm3\" or \"sm2\"", s.Sign))
	}
	if mode == ModeSM4 || sign != "" {
		if len(s.AppID) < 16 {
			add("app_id", fmt.Sprintf("must be at least 16 characters (its first 16 are the SM4 key's key), not %d: the app id the province issued", len(s.AppID)))
		}
		if s.AppSecret == "" {
			add("app_secret", "required with mode \"sm4\" or a sign: the app secret the province issued, e.g. \"file:/etc/settle-agent/app_secret\"")
		}
	}
	switch strings.ToLower(s.Encoding) {
	case "", EncodingHex, EncodingBase64:
	default:
		add("encoding", fmt.Sprintf("%q is not an encoding: write \"hex\" (the default) or \"base64\"", s.Encoding))
	}
	switch strings.ToLower(s.Cipher) {
	case "", CipherECB:
		if s.IV != "" {
			add("iv", "only with cipher = \"cbc\"")
		}
	case CipherCBC:
		if _, err := parseIV(s.IV); err != nil {
			add("iv", err.Error())
		}
	default:
		add("cipher", fmt.Sprintf("%q is not an SM4 mode: write \"ecb\" (the default) or \"cbc\"", s.Cipher))
	}
	if sign == SignSM2 {
		if len(s.PrivateKeyPEM) == 0 && s.PrivateKeyFile == "" {
			add("private_key_file", "required with sign = \"sm2\": the hospital's SM2 private key (PEM)")
		} else if _, err := ParsePrivateKey(s.PrivateKeyPEM); err != nil && len(s.PrivateKeyPEM) > 0 {
			add("private_key_file", err.Error())
		}
	}
	if len(s.PeerPublicKeyPEM) > 0 {
		if _, err := ParsePublicKey(s.PeerPublicKeyPEM); err != nil {
			add("platform_public_key_file", err.Error())
		}
	}
	return out
}

// Enabled reports whether c changes envelopes at all.
func (c *Codec) Enabled() bool { return c != nil && (c.key != nil || c.signTag != "") }

// VerifiesAnswers reports whether Open can check the other side's signature (SM3
// always can; SM2 with the peer's public key).
func (c *Codec) VerifiesAnswers() bool {
	return c != nil && (c.signTag == "SM3" || c.signTag == "SM2" && c.peer != nil)
}

// Describe names the mode for people: "plain", "sm4", "sm4+sm3", "sm3", ….
func (c *Codec) Describe() string {
	if !c.Enabled() {
		return "plain"
	}
	var parts []string
	if c.key != nil {
		p := "sm4"
		if c.s.Cipher == CipherCBC {
			p += "-cbc"
		}
		if c.s.Encoding == EncodingBase64 {
			p += "/base64"
		}
		parts = append(parts, p)
	}
	if c.signTag != "" {
		parts = append(parts, c.s.Sign)
	}
	return strings.Join(parts, "+")
}

// Seal turns a plain envelope into the one sent: field (FieldInput or FieldOutput)
// encrypted with enctype "SM4" in sm4 mode, then signed (signtype, cainfo). With
// neither it returns env unchanged.
func (c *Codec) Seal(env []byte, field string) ([]byte, error) {
	if !c.Enabled() {
		return env, nil
	}
	m, err := fields(env)
	if err != nil {
		return nil, fmt.Errorf("seal: %v: %w", err, ErrSettings)
	}
	if c.key != nil {
		plain := bytes.TrimSpace(m[field])
		if len(plain) == 0 {
			plain = []byte("{}")
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, plain); err != nil {
			return nil, fmt.Errorf("seal %s: %v: %w", field, err, ErrSettings)
		}
		text, err := c.encrypt(compact.Bytes())
		if err != nil {
			return nil, err
		}
		m[field] = jsonString(text)
		m[fieldEnctype] = jsonString("SM4")
	}
	delete(m, fieldCainfo)
	delete(m, fieldSigntype)
	if c.signTag != "" {
		text, err := SignedText(m, c.s.AppSecret)
		if err != nil {
			return nil, fmt.Errorf("seal: %v: %w", err, ErrSettings)
		}
		ca, err := c.sign(text)
		if err != nil {
			return nil, err
		}
		m[fieldCainfo] = jsonString(ca)
		m[fieldSigntype] = jsonString(c.signTag)
	}
	return marshal(m)
}

// Open turns a received envelope into its plain form: the signature checked, then
// field decrypted when enctype is "SM4". strict is the receiving platform's rule
// (the simulator): an envelope that is not encrypted in sm4 mode is ErrDecrypt, an
// unsigned one ErrSignature. Not strict is the client's rule for answers: a plain
// answer (a refusal of an envelope the platform could not read comes plain) passes,
// and a signature is checked when the answer carries one and c can check it; signed
// reports whether one was checked. An answer encrypted while c has no key is
// ErrDecrypt.
func (c *Codec) Open(env []byte, field string, strict bool) (plain []byte, signed bool, err error) {
	m, err := fields(env)
	if err != nil {
		if !c.Enabled() {
			return env, false, nil // not ours to judge: the caller's decoder says what is wrong
		}
		return nil, false, fmt.Errorf("%v: %w", err, ErrDecrypt)
	}
	enc := textOf(m[fieldEnctype])
	if !c.Enabled() && enc == "" {
		return env, false, nil
	}
	if c.key != nil && enc == "" && strict {
		return nil, false, fmt.Errorf("the envelope is not encrypted (enctype SM4 expected): %w", ErrDecrypt)
	}
	if c.signTag != "" {
		ca := textOf(m[fieldCainfo])
		switch {
		case ca == "" && strict:
			return nil, false, fmt.Errorf("the envelope carries no cainfo (signtype %s expected): %w", c.signTag, ErrSignature)
		case ca != "" && (strict || c.VerifiesAnswers()):
			if st := textOf(m[fieldSigntype]); st != "" && !strings.EqualFold(st, c.signTag) {
				return nil, false, fmt.Errorf("signtype %q, expected %s: %w", clip(st), c.signTag, ErrSignature)
			}
			text, err := SignedText(m, c.s.AppSecret)
			if err != nil {
				return nil, false, fmt.Errorf("%v: %w", err, ErrSignature)
			}
			if err := c.verify(text, ca); err != nil {
				return nil, false, err
			}
			signed = true
		}
	}
	switch {
	case strings.EqualFold(enc, "SM4"):
		if c.key == nil {
			return nil, signed, fmt.Errorf("the envelope is SM4-encrypted (enctype SM4) but mode is not \"sm4\": %w", ErrDecrypt)
		}
		text := textOf(m[field])
		if text == "" {
			if t := bytes.TrimSpace(m[field]); len(t) > 0 && t[0] != '"' && !bytes.Equal(t, []byte("null")) {
				return nil, signed, fmt.Errorf("%s is JSON, not ciphertext, under enctype SM4: %w", field, ErrDecrypt)
			}
			break // nothing encrypted (a refusal without output)
		}
		pt, err := c.decrypt(text)
		if err != nil {
			return nil, signed, err
		}
		if !json.Valid(pt) {
			return nil, signed, fmt.Errorf("%s decrypts to no JSON (a wrong app_id or app_secret): %w", field, ErrDecrypt)
		}
		m[field] = pt
	case enc != "":
		return nil, signed, fmt.Errorf("enctype %q is not SM4: %w", clip(enc), ErrDecrypt)
	}
	out, err := marshal(m)
	if err != nil {
		return nil, signed, fmt.Errorf("%v: %w", err, ErrDecrypt)
	}
	return out, signed, nil
}

// GenerateKeyPair makes a new SM2 key pair as PEM: the private key as PKCS#8
// ("PRIVATE KEY"), the public key as PKIX ("PUBLIC KEY"). For the simulator, the
// demo and tests; a hospital's own pair comes from its province or its CA.
func GenerateKeyPair() (privPEM, pubPEM []byte, err error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	return marshalKeyPair(k)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// RequiresSignedAnswers reports whether a successful answer must carry a signature
// that verifies: sm2 with the platform's public key configured. An SM3 signature is
// checked when an answer carries one.
func (c *Codec) RequiresSignedAnswers() bool { return c != nil && c.signTag == "SM2" && c.peer != nil }

// ParseModes reads a mode as the simulator and the demo take it on their command
// line: "plain" (or ""), "sm4", "sm3", "sm2", "sm4+sm3", "sm4+sm2".
func ParseModes(s string) (mode, sign string, err error) {
	for _, part := range strings.Split(strings.ToLower(strings.TrimSpace(s)), "+") {
		switch part {
		case "", "plain":
		case ModeSM4:
			mode = ModeSM4
		case SignSM3, SignSM2:
			if sign != "" {
				return "", "", fmt.Errorf("%q names two signatures: %w", s, ErrSettings)
			}
			sign = part
		default:
			return "", "", fmt.Errorf("%q: want plain, sm4, sm3, sm2, sm4+sm3 or sm4+sm2: %w", s, ErrSettings)
		}
	}
	return mode, sign, nil
}
