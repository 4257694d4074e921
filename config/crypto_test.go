package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/platform/gmcodec"
)

func TestPlatformCrypto_ValidateNamesEveryBadFieldAtOnce(t *testing.T) {
	dir := t.TempDir()
	notKey := writeFile(t, dir, "hosp.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0o600)
	data := strings.Replace(validTOML, "[store]", `[platform.crypto]
mode = "sm4"
app_id = "short"
sign = "sm2"
private_key_file = '`+notKey+`'
platform_public_key_file = '`+filepath.Join(dir, "missing.pem")+`'
cipher = "cbc"
encoding = "base32"

[store]`, 1)
	_, err := Parse([]byte(data), "s.toml", envMap(nil))
	ps := problemsOf(t, err)
	for _, f := range []string{"platform.crypto.app_id", "platform.crypto.app_secret", "platform.crypto.private_key_file",
		"platform.crypto.platform_public_key_file", "platform.crypto.iv", "platform.crypto.encoding"} {
		if _, ok := findProblem(ps, f); !ok {
			t.Errorf("no problem named %s; got %s", f, fields(ps))
		}
	}
}

func TestPlatformCrypto_ValidConfigurationGivesTheCodecItsSettings(t *testing.T) {
	dir := t.TempDir()
	priv, pub, err := gmcodec.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := writeFile(t, dir, "hosp.pem", string(priv), 0o600)
	pubFile := writeFile(t, dir, "platform.pem", string(pub), 0o644)
	data := strings.Replace(validTOML, "[store]", `[platform.crypto]
mode = "sm4"
app_id = "H33010200001GMAPPID"
app_secret = "env:APP_SECRET"
sign = "sm2"
private_key_file = '`+keyFile+`'
platform_public_key_file = '`+pubFile+`'

[store]`, 1)
	c := mustParse(t, data, map[string]string{"APP_SECRET": "the-secret"})
	s := c.Platform.Crypto.Settings()
	if s.AppSecret != "the-secret" || s.PrivateKeyFile != keyFile {
		t.Fatalf("settings: got secret set %v, key %q; want the resolved secret and %s", s.AppSecret != "", s.PrivateKeyFile, keyFile)
	}
	codec, err := gmcodec.New(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := codec.Describe(); got != "sm4+sm2" {
		t.Fatalf("mode: got %s; want sm4+sm2", got)
	}
	if strings.Contains(c.Redacted(), "the-secret") {
		t.Fatal("the app secret shows in Redacted")
	}
}
