package main

import (
	"flag"
	"fmt"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform/gmcodec"
)

// simCryptoFlags are `sim platform`'s 国密 settings: the province's side of what a
// hospital writes in [platform.crypto].
type simCryptoFlags struct {
	modes, appID, appSecret, key, hospitalKey, userID, encoding, cipher, iv *string
}

func addSimCryptoFlags(fs *flag.FlagSet) simCryptoFlags {
	return simCryptoFlags{
		modes:       fs.String("crypto", "", "国密 envelope the platform requires: plain, sm4, sm3, sm2, sm4+sm3 or sm4+sm2 (docs/platform.md)"),
		appID:       fs.String("crypto-app-id", "", "the app id issued to the hospital (16 characters or more)"),
		appSecret:   fs.String("crypto-app-secret", "", "the app secret issued to the hospital: the value, file:PATH or env:NAME"),
		key:         fs.String("crypto-key", "", "sm2: the platform's own SM2 private key (PEM) it signs answers with"),
		hospitalKey: fs.String("crypto-hospital-public-key", "", "sm2: the hospital's SM2 public key (PEM) requests must be signed with"),
		userID:      fs.String("crypto-sm2-user-id", gmcodec.DefaultUserID, "SM2 user id"),
		encoding:    fs.String("crypto-encoding", gmcodec.EncodingHex, "ciphertext as hex or base64"),
		cipher:      fs.String("crypto-cipher", gmcodec.CipherECB, "SM4 mode: ecb or cbc"),
		iv:          fs.String("crypto-iv", "", "cbc: the IV, 16 characters or 32 hex digits"),
	}
}

// codec is the simulator's codec of the flags (nil: plain).
func (f simCryptoFlags) codec(getenv func(string) string) (*gmcodec.Codec, error) {
	mode, sign, err := gmcodec.ParseModes(*f.modes)
	if err != nil {
		return nil, fmt.Errorf("%w: --crypto %v", errUsage, err)
	}
	if mode == "" && sign == "" {
		return nil, nil
	}
	secret, err := config.ResolveSecret(*f.appSecret, getenv)
	if err != nil {
		return nil, fmt.Errorf("%w: --crypto-app-secret: %v", errUsage, err)
	}
	if sign == gmcodec.SignSM2 && (*f.key == "" || *f.hospitalKey == "") {
		return nil, fmt.Errorf("%w: --crypto %s needs --crypto-key (the platform's private key) and --crypto-hospital-public-key", errUsage, *f.modes)
	}
	c, err := gmcodec.New(gmcodec.Settings{Mode: mode, Sign: sign, AppID: *f.appID, AppSecret: secret,
		PrivateKeyFile: *f.key, PeerPublicKeyFile: *f.hospitalKey, UserID: *f.userID,
		Encoding: *f.encoding, Cipher: *f.cipher, IV: *f.iv})
	if err != nil {
		return nil, fmt.Errorf("%w: --crypto: %v", errUsage, err)
	}
	return c, nil
}
