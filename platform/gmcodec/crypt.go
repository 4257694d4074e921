package gmcodec

import (
	gocipher "crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/cipher"
	"github.com/emmansun/gmsm/padding"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
	"github.com/emmansun/gmsm/smx509"
)

// DeriveKey is the SM4 data key of app_id and app_secret, as public provincial SDKs
// derive it: k = SM4-ECB-PKCS7(key = the first 16 characters of appID, plaintext =
// appSecret as UTF-8); the data key is the first 16 characters of UPPER(hex(k)),
// taken as 16 ASCII bytes.
func DeriveKey(appID, appSecret string) ([]byte, error) {
	if len(appID) < 16 {
		return nil, fmt.Errorf("app_id: must be at least 16 characters, not %d: %w", len(appID), ErrSettings)
	}
	if appSecret == "" {
		return nil, fmt.Errorf("app_secret: required: %w", ErrSettings)
	}
	k, err := EncryptECB([]byte(appID[:16]), []byte(appSecret))
	if err != nil {
		return nil, err
	}
	return []byte(strings.ToUpper(hex.EncodeToString(k))[:16]), nil
}

// EncryptECB is SM4-ECB with PKCS#7 padding (gmsm's sm4, cipher and padding).
func EncryptECB(key, plain []byte) ([]byte, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sm4 key: %v: %w", err, ErrSettings)
	}
	return crypt(cipher.NewECBEncrypter(b), plain), nil
}

// DecryptECB reverses EncryptECB; a wrong key is ErrDecrypt (the padding does not hold).
func DecryptECB(key, ct []byte) ([]byte, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sm4 key: %v: %w", err, ErrSettings)
	}
	return uncrypt(cipher.NewECBDecrypter(b), ct)
}

var pkcs7 = padding.NewPKCS7Padding(sm4.BlockSize)

func crypt(m gocipher.BlockMode, plain []byte) []byte {
	p := pkcs7.Pad(plain)
	out := make([]byte, len(p))
	m.CryptBlocks(out, p)
	return out
}

func uncrypt(m gocipher.BlockMode, ct []byte) ([]byte, error) {
	if len(ct) == 0 || len(ct)%m.BlockSize() != 0 {
		return nil, fmt.Errorf("ciphertext of %d bytes is not whole SM4 blocks: %w", len(ct), ErrDecrypt)
	}
	out := make([]byte, len(ct))
	m.CryptBlocks(out, ct)
	pt, err := pkcs7.Unpad(out)
	if err != nil {
		return nil, fmt.Errorf("padding does not hold (a wrong app_id or app_secret): %w", ErrDecrypt)
	}
	return pt, nil
}

// mode returns the block mode of c's cipher setting.
func (c *Codec) mode(encrypt bool) (gocipher.BlockMode, error) {
	b, err := sm4.NewCipher(c.key)
	if err != nil {
		return nil, fmt.Errorf("sm4 key: %v: %w", err, ErrSettings)
	}
	switch {
	case c.s.Cipher == CipherCBC && encrypt:
		return gocipher.NewCBCEncrypter(b, c.iv), nil
	case c.s.Cipher == CipherCBC:
		return gocipher.NewCBCDecrypter(b, c.iv), nil
	case encrypt:
		return cipher.NewECBEncrypter(b), nil
	}
	return cipher.NewECBDecrypter(b), nil
}

// encrypt is the text of plain's ciphertext under c (hex upper case or base64).
func (c *Codec) encrypt(plain []byte) (string, error) {
	m, err := c.mode(true)
	if err != nil {
		return "", err
	}
	ct := crypt(m, plain)
	if c.s.Encoding == EncodingBase64 {
		return base64.StdEncoding.EncodeToString(ct), nil
	}
	return strings.ToUpper(hex.EncodeToString(ct)), nil
}

// decrypt reads the text of a ciphertext (hex of either case, or base64).
func (c *Codec) decrypt(text string) ([]byte, error) {
	var ct []byte
	var err error
	if c.s.Encoding == EncodingBase64 {
		ct, err = base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	} else {
		ct, err = hex.DecodeString(strings.TrimSpace(text))
	}
	if err != nil {
		return nil, fmt.Errorf("ciphertext is not %s: %w", c.s.Encoding, ErrDecrypt)
	}
	m, err := c.mode(false)
	if err != nil {
		return nil, err
	}
	return uncrypt(m, ct)
}

// SM3Hex is the lower-case hex SM3 digest of text (gmsm's sm3).
func SM3Hex(text []byte) string {
	sum := sm3.Sum(text)
	return hex.EncodeToString(sum[:])
}

func (c *Codec) sign(text []byte) (string, error) {
	if c.signTag == "SM3" {
		return SM3Hex(text), nil
	}
	sig, err := c.priv.Sign(rand.Reader, text, sm2.NewSM2SignerOption(true, c.userID))
	if err != nil {
		return "", fmt.Errorf("sm2 sign: %v: %w", err, ErrSettings)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func (c *Codec) verify(text []byte, cainfo string) error {
	if c.signTag == "SM3" {
		if !strings.EqualFold(strings.TrimSpace(cainfo), SM3Hex(text)) {
			return fmt.Errorf("SM3 cainfo does not match the envelope (a wrong app_secret, or the envelope was changed): %w", ErrSignature)
		}
		return nil
	}
	if c.peer == nil {
		return fmt.Errorf("no public key to verify an SM2 signature with: %w", ErrSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cainfo))
	if err != nil {
		return fmt.Errorf("SM2 cainfo is not base64: %w", ErrSignature)
	}
	if !sm2.VerifyASN1WithSM2(c.peer, c.userID, text, sig) {
		return fmt.Errorf("SM2 signature does not verify with the public key (a wrong key pair, user id or app_secret): %w", ErrSignature)
	}
	return nil
}

// parseIV reads a CBC IV: 16 characters as bytes, or 32 hex digits.
func parseIV(s string) ([]byte, error) {
	switch len(s) {
	case 16:
		return []byte(s), nil
	case 32:
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("required with cipher = \"cbc\": 16 characters or 32 hex digits, not %d characters", len(s))
}

// ParsePrivateKey reads an SM2 private key from PEM: PKCS#8 ("PRIVATE KEY") or SEC 1
// ("EC PRIVATE KEY" / "SM2 PRIVATE KEY"), with gmsm's smx509.
func ParsePrivateKey(pemBytes []byte) (*sm2.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("holds no PEM block: want an SM2 private key in PEM (-----BEGIN PRIVATE KEY-----)")
	}
	if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck // only to say so plainly
		return nil, errors.New("is an encrypted PEM key: store it unencrypted, readable by the service account only")
	}
	if k, err := smx509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if sk, ok := k.(*sm2.PrivateKey); ok {
			return sk, nil
		}
		return nil, fmt.Errorf("holds a %T, not an SM2 private key", k)
	}
	if k, err := smx509.ParseSM2PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("PEM block %q is not an SM2 private key (PKCS#8 or SEC 1)", block.Type)
}

// ParsePublicKey reads an SM2 public key from PEM: PKIX ("PUBLIC KEY") or a
// certificate, with gmsm's smx509.
func ParsePublicKey(pemBytes []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("holds no PEM block: want an SM2 public key in PEM (-----BEGIN PUBLIC KEY-----) or a certificate")
	}
	var pub any
	if block.Type == "CERTIFICATE" {
		cert, err := smx509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate does not parse: %v", err)
		}
		pub = cert.PublicKey
	} else {
		k, err := smx509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %q is not a PKIX public key: %v", block.Type, err)
		}
		pub = k
	}
	ek, ok := pub.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(ek) {
		return nil, fmt.Errorf("holds a %T, not an SM2 public key", pub)
	}
	return ek, nil
}

func marshalKeyPair(k *sm2.PrivateKey) (privPEM, pubPEM []byte, err error) {
	der, err := smx509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	pub, err := smx509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), nil
}
