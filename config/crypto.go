package config

import (
	"github.com/settle-agent/settle-agent/platform/gmcodec"
)

// PlatformCrypto is [platform.crypto]: the 国密 envelope of provinces that encrypt
// input/output with SM4 (enctype "SM4") or sign the envelope with SM3 or SM2
// (signtype, cainfo), as the province issued it (docs/platform.md, "国密 envelopes").
// Empty: plain JSON.
type PlatformCrypto struct {
	Mode      string `toml:"mode"`       // "" (plain) | "sm4"
	AppID     string `toml:"app_id"`     // the app id the province issued (16 characters or more)
	AppSecret Secret `toml:"app_secret"` // the app secret it issued
	Sign      string `toml:"sign"`       // "" | "sm3" | "sm2"
	// PrivateKeyFile is the hospital's SM2 private key (PEM), with sign = "sm2".
	PrivateKeyFile string `toml:"private_key_file"`
	// PlatformPublicKeyFile is the platform's SM2 public key (PEM or certificate); when
	// set, every successful answer must carry its valid signature.
	PlatformPublicKeyFile string `toml:"platform_public_key_file"`
	SM2UserID             string `toml:"sm2_user_id"` // default "1234567812345678"
	Encoding              string `toml:"encoding"`    // ciphertext as "hex" (default) or "base64"
	Cipher                string `toml:"cipher"`      // SM4 "ecb" (default) or "cbc"
	IV                    string `toml:"iv"`          // with cbc: 16 characters or 32 hex digits
}

// Settings are the codec's settings of c (the secret resolved).
func (c PlatformCrypto) Settings() gmcodec.Settings {
	return gmcodec.Settings{
		Mode: c.Mode, AppID: c.AppID, AppSecret: c.AppSecret.Value(), Sign: c.Sign,
		PrivateKeyFile: c.PrivateKeyFile, PeerPublicKeyFile: c.PlatformPublicKeyFile,
		UserID: c.SM2UserID, Encoding: c.Encoding, Cipher: c.Cipher, IV: c.IV,
	}
}

// validateCrypto names every unusable [platform.crypto] setting: a mode without its
// secret, sm2 without a key file, a key file that does not parse as an SM2 key,
// an app_id shorter than 16 characters.
func (c *Config) validateCrypto(v *ValidationError) {
	p := c.Platform.Crypto
	for _, pr := range gmcodec.Check(p.Settings()) {
		value := ""
		switch pr.Key {
		case "mode":
			value = p.Mode
		case "sign":
			value = p.Sign
		case "app_id":
			value = p.AppID
		case "app_secret":
			value = p.AppSecret.Ref()
		case "private_key_file":
			value = p.PrivateKeyFile
		case "platform_public_key_file":
			value = p.PlatformPublicKeyFile
		case "encoding":
			value = p.Encoding
		case "cipher":
			value = p.Cipher
		}
		c.problem(v, "platform.crypto."+pr.Key, value, pr.Reason)
	}
}
