package gmcodec

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// The known answers of the standards, through the same library calls the codec makes.

func TestSM4KnownAnswerOfGBT32907(t *testing.T) {
	key, _ := hex.DecodeString("0123456789abcdeffedcba9876543210")
	b, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	b.Encrypt(out, key) // the standard encrypts the key's own 16 bytes
	if got, want := hex.EncodeToString(out), "681edf34d206965e86b3e94f536e4246"; got != want {
		t.Fatalf("SM4 known answer: got %s; want %s", got, want)
	}
	// The codec's ECB path on one block (the padding adds a second block).
	ct, err := EncryptECB(key, key)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(ct[:16]), "681edf34d206965e86b3e94f536e4246"; got != want {
		t.Fatalf("EncryptECB first block: got %s; want %s", got, want)
	}
}

func TestSM3KnownAnswerOfGBT32905(t *testing.T) {
	want := "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	if got := SM3Hex([]byte("abc")); got != want {
		t.Fatalf("SM3(abc): got %s; want %s", got, want)
	}
	sum := sm3.Sum([]byte("abc"))
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("sm3.Sum(abc): got %s; want %s", got, want)
	}
}

// Golden values below were computed with OpenSSL 3 (openssl enc -sm4-ecb/-sm4-cbc,
// openssl dgst -sm3), an implementation independent of gmsm.
const (
	goldenAppID   = "H33010200001GMAPPID"
	goldenSecret  = "Zx9-app-secret-秘钥"
	goldenDataKey = "2D23E84CDA12D858"
	goldenInput   = `{"data":{"psn_no":"33000000000001"}}`
	goldenECBHex  = "793031E71738ECFC67C186CF36B26BC8D4D79995549A6A9970ED1755954A90DB86170930E8F9178390C3CA86A5E65A38"
	goldenECB64   = "eTAx5xc47PxnwYbPNrJryNTXmZVUmmqZcO0XVZVKkNuGFwkw6PkXg5DDyoal5lo4"
	goldenIV      = "GMIV20261207ABCD"
	goldenCBC64   = "2jZHIYGEqw4TLnwe1aKC0jvxV4ZeSTsGuSq3L+3laJgk95Yij3G/H4U2MqGiUTvu"
	goldenMsgid   = "H33010200001202612071200000001"
	goldenSM3Sign = "b9d95573513d9b54137625e12c02a7813b6fd69f20164faf5f600adf11035724"
)

func TestDeriveKeyIsTheFirst16HexOfSecretUnderAppID(t *testing.T) {
	k, err := DeriveKey(goldenAppID, goldenSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(k); got != goldenDataKey {
		t.Fatalf("data key: got %s; want %s", got, goldenDataKey)
	}
	if _, err := DeriveKey("SHORT", goldenSecret); !errors.Is(err, ErrSettings) {
		t.Fatalf("app_id of 5 characters: got %v; want ErrSettings", err)
	}
}

func goldenEnvelope() []byte {
	return []byte(`{"infno":"1101","msgid":"` + goldenMsgid + `","fixmedins_code":"H33010200001","cainfo":"","signtype":"","dev_no":"","sign_no":null,"input":` + goldenInput + `}`)
}

func TestSealEncryptsInputAndSignsTheSortedTextWithTheSecret(t *testing.T) {
	c, err := New(Settings{Mode: ModeSM4, AppID: goldenAppID, AppSecret: goldenSecret, Sign: SignSM3})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Seal(goldenEnvelope(), FieldInput)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(sealed, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"input": goldenECBHex, "enctype": "SM4", "signtype": "SM3", "cainfo": goldenSM3Sign} {
		if got[k] != want {
			t.Errorf("%s: got %v; want %s", k, got[k], want)
		}
	}
	m, _ := fields(sealed)
	text, _ := SignedText(m, goldenSecret)
	wantText := "enctype=SM4&fixmedins_code=H33010200001&infno=1101&input=" + goldenECBHex + "&msgid=" + goldenMsgid + "&key=" + goldenSecret
	if string(text) != wantText {
		t.Errorf("signed text:\n got %s\nwant %s", text, wantText)
	}
	plain, signed, err := c.Open(sealed, FieldInput, true)
	if err != nil || !signed {
		t.Fatalf("Open of a sealed envelope: signed %v, err %v; want signed, nil", signed, err)
	}
	var back struct{ Input json.RawMessage }
	_ = json.Unmarshal(plain, &back)
	if string(back.Input) != goldenInput {
		t.Fatalf("input after a round trip: got %s; want %s", back.Input, goldenInput)
	}
}

func TestSignedTextOfPlainInputIsItsCompactJSON(t *testing.T) {
	m := map[string]json.RawMessage{
		"input": json.RawMessage("{ \"a\" : [1, 2] }"), "infno": json.RawMessage(`"9001"`),
		"cainfo": json.RawMessage(`"x"`), "signtype": json.RawMessage(`"SM3"`), "warn_msg": json.RawMessage(`null`),
		"err_msg": json.RawMessage(`""`), "infcode": json.RawMessage(`0`),
	}
	text, err := SignedText(m, "s")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(text), `infcode=0&infno=9001&input={"a":[1,2]}&key=s`; got != want {
		t.Fatalf("signed text: got %s; want %s", got, want)
	}
}

func TestTransformsMatchOpenSSL(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		want string
	}{
		{"ecb hex", Settings{Mode: ModeSM4}, goldenECBHex},
		{"ecb base64", Settings{Mode: ModeSM4, Encoding: EncodingBase64}, goldenECB64},
		{"cbc base64", Settings{Mode: ModeSM4, Encoding: EncodingBase64, Cipher: CipherCBC, IV: goldenIV}, goldenCBC64},
		{"cbc base64, iv in hex", Settings{Mode: ModeSM4, Encoding: EncodingBase64, Cipher: CipherCBC, IV: hex.EncodeToString([]byte(goldenIV))}, goldenCBC64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.AppID, tc.s.AppSecret = goldenAppID, goldenSecret
			c, err := New(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.encrypt([]byte(goldenInput))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("ciphertext: got %s; want %s", got, tc.want)
			}
			pt, err := c.decrypt(tc.want)
			if err != nil || string(pt) != goldenInput {
				t.Fatalf("decrypt: got %q, %v; want %s", pt, err, goldenInput)
			}
		})
	}
}

func keyPair(t *testing.T) (priv, pub []byte) {
	t.Helper()
	priv, pub, err := GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func TestSM2SignatureVerifiesWithThePeerKeyAndUserIDOnly(t *testing.T) {
	hospPriv, hospPub := keyPair(t)
	otherPriv, _ := keyPair(t)
	base := Settings{Mode: ModeSM4, AppID: goldenAppID, AppSecret: goldenSecret, Sign: SignSM2}
	hosp := base
	hosp.PrivateKeyPEM = hospPriv
	platform := base
	platform.PrivateKeyPEM = otherPriv
	platform.PeerPublicKeyPEM = hospPub
	hc, err := New(hosp)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := New(platform)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := hc.Seal(goldenEnvelope(), FieldInput)
	if err != nil {
		t.Fatal(err)
	}
	if _, signed, err := pc.Open(sealed, FieldInput, true); err != nil || !signed {
		t.Fatalf("platform opening the hospital's envelope: signed %v, err %v; want signed, nil", signed, err)
	}
	// Signed by a key the platform does not know.
	wrong := base
	wrong.PrivateKeyPEM = otherPriv
	wc, _ := New(wrong)
	forged, _ := wc.Seal(goldenEnvelope(), FieldInput)
	if _, _, err := pc.Open(forged, FieldInput, true); !errors.Is(err, ErrSignature) {
		t.Fatalf("an envelope signed with another key: got %v; want ErrSignature", err)
	}
	// Another user ID.
	uid := platform
	uid.UserID = "0000000000000000"
	uc, _ := New(uid)
	if _, _, err := uc.Open(sealed, FieldInput, true); !errors.Is(err, ErrSignature) {
		t.Fatalf("verified under another user id: got %v; want ErrSignature", err)
	}
}

func TestOpenRefusesPlainWronglyEncryptedAndWronglySignedEnvelopes(t *testing.T) {
	strict, _ := New(Settings{Mode: ModeSM4, AppID: goldenAppID, AppSecret: goldenSecret, Sign: SignSM3})
	wrongSecret, _ := New(Settings{Mode: ModeSM4, AppID: goldenAppID, AppSecret: "not-the-secret", Sign: SignSM3})
	encOnly, _ := New(Settings{Mode: ModeSM4, AppID: goldenAppID, AppSecret: goldenSecret})
	wrongEnc, _ := New(Settings{Mode: ModeSM4, AppID: goldenAppID, AppSecret: "not-the-secret"})
	byWrongSecret, _ := wrongSecret.Seal(goldenEnvelope(), FieldInput)
	byWrongKey, _ := wrongEnc.Seal(goldenEnvelope(), FieldInput)
	for _, tc := range []struct {
		name string
		c    *Codec
		env  []byte
		want error
	}{
		{"plain to sm4+sm3", strict, goldenEnvelope(), ErrDecrypt},
		{"plain to sm4", encOnly, goldenEnvelope(), ErrDecrypt},
		{"sm3 with another secret", strict, byWrongSecret, ErrSignature},
		{"sm4 with another key", encOnly, byWrongKey, ErrDecrypt},
		{"not an envelope", encOnly, []byte("<html>"), ErrDecrypt},
		{"SM4 answer to a plain codec", Plain, byWrongKey, ErrDecrypt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := tc.c.Open(tc.env, FieldInput, true); !errors.Is(err, tc.want) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
		})
	}
}

func TestOpenOfAnAnswerLetsAPlainRefusalThrough(t *testing.T) {
	c, _ := New(Settings{Mode: ModeSM4, AppID: goldenAppID, AppSecret: goldenSecret, Sign: SignSM3})
	refusal := []byte(`{"infcode":-2,"err_msg":"解密失败","output":null,"enctype":null,"cainfo":null}`)
	out, signed, err := c.Open(refusal, FieldOutput, false)
	if err != nil || signed {
		t.Fatalf("plain refusal: signed %v, err %v; want unsigned, nil", signed, err)
	}
	if !strings.Contains(string(out), "解密失败") {
		t.Fatalf("refusal lost its message: %s", out)
	}
}

func TestCheckNamesEveryBadSetting(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	_ = os.WriteFile(bad, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600)
	b, _ := os.ReadFile(bad)
	probs := Check(Settings{Mode: "sm4", AppID: "short", Sign: "sm2", PrivateKeyPEM: b, Cipher: "cbc", Encoding: "base32", PeerPublicKeyPEM: []byte("x")})
	got := map[string]bool{}
	for _, p := range probs {
		got[p.Key] = true
	}
	for _, k := range []string{"app_id", "app_secret", "private_key_file", "iv", "encoding", "platform_public_key_file"} {
		if !got[k] {
			t.Errorf("Check did not name %s; got %v", k, probs)
		}
	}
	if _, err := New(Settings{Sign: "sm2", AppID: goldenAppID, AppSecret: "s"}); !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), "private_key_file") {
		t.Fatalf("sm2 without a key: got %v; want ErrSettings naming private_key_file", err)
	}
}
