package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/gmcodec"
	"github.com/settle-agent/settle-agent/platform/sim"
)

const (
	gmAppID  = "H33010200001APP0001"
	gmSecret = "app-secret-of-330100-秘钥"
)

// gmPair writes an SM2 key pair into dir and returns the files.
func gmPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	p, u, err := gmcodec.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".key.pem"), filepath.Join(dir, name+".pub.pem")
	if err := os.WriteFile(priv, p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, u, 0o600); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// gmSim starts the simulator requiring s (the platform's side).
func gmSim(t *testing.T, s gmcodec.Settings) (*sim.Platform, string) {
	t.Helper()
	c, err := gmcodec.New(s)
	if err != nil {
		t.Fatal(err)
	}
	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1, Codec: c})
	url, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	return p, url
}

func gmClient(t *testing.T, url string, s gmcodec.Settings) *platform.Client {
	t.Helper()
	c, err := platform.NewClient(platform.Options{BaseURL: url, FixmedinsCode: "H33010200001", MdtrtareaAdmvs: "330100",
		Timeout: 10 * time.Second, Crypto: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

var gmSeq int

func gmCall(c *platform.Client, infno string, in, out any) error {
	gmSeq++
	msgid := "H33010200001" + time.Now().In(settle.Beijing).Format("20060102150405") + strings.Repeat("0", 4-len(itoa(gmSeq))) + itoa(gmSeq)
	_, err := c.Call(context.Background(), infno, platform.Meta{Msgid: msgid, Opter: "W01", OpterName: "w"}, in, out)
	return err
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func signIn() platform.SignInInput {
	return platform.SignInInput{SignIn: platform.SignInData{OpterNo: "W01", IP: "127.0.0.1"}}
}

func TestGM_SimulatorRefusesPlainWronglyEncryptedAndWronglySignedEnvelopes(t *testing.T) {
	dir := t.TempDir()
	hospKey, hospPub := gmPair(t, dir, "hospital")
	platKey, _ := gmPair(t, dir, "platform")
	otherKey, _ := gmPair(t, dir, "other")
	p, url := gmSim(t, gmcodec.Settings{Mode: "sm4", Sign: "sm2", AppID: gmAppID, AppSecret: gmSecret, PrivateKeyFile: platKey, PeerPublicKeyFile: hospPub})
	right := gmcodec.Settings{Mode: "sm4", Sign: "sm2", AppID: gmAppID, AppSecret: gmSecret, PrivateKeyFile: hospKey}
	for _, tc := range []struct {
		name    string
		s       gmcodec.Settings
		errMsg  string
		setting string
	}{
		{"plain", gmcodec.Settings{}, "解密失败", "set [platform.crypto]"},
		{"wrong app_id", func() gmcodec.Settings { s := right; s.AppID = "H33010200002APP0001"; return s }(), "解密失败", "[platform.crypto] app_id and app_secret"},
		{"signed with another key", func() gmcodec.Settings { s := right; s.PrivateKeyFile = otherKey; return s }(), "验签失败", "[platform.crypto] app_secret, sign, private_key_file"},
		{"another secret", func() gmcodec.Settings { s := right; s.AppSecret = "x"; return s }(), "验签失败", "[platform.crypto] app_secret"},
		{"unsigned", func() gmcodec.Settings { s := right; s.Sign, s.PrivateKeyFile = "", ""; return s }(), "验签失败", "[platform.crypto] app_secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := gmClient(t, url, tc.s)
			err := gmCall(c, platform.InfnoSignIn, signIn(), &platform.SignInOutput{})
			var refusal *platform.EnvelopeRefusal
			if !errors.As(err, &refusal) || refusal.ErrMsg != tc.errMsg || refusal.Infcode != -2 {
				t.Fatalf("got %v; want an EnvelopeRefusal, infcode -2, %s", err, tc.errMsg)
			}
			if got := platform.Classify(err); got != platform.OutcomeNotSent {
				t.Fatalf("outcome: got %s; want not_sent (nothing was processed)", got)
			}
			if !strings.Contains(err.Error(), tc.setting) {
				t.Fatalf("error %q does not name %q", err, tc.setting)
			}
		})
	}
	if n := len(p.Ledger()); n != 0 {
		t.Fatalf("ledger after refused envelopes: got %d entries; want 0", n)
	}
	if got := p.Stats()[platform.InfnoSignIn]; got != 0 {
		t.Fatalf("sign-ins processed: got %d; want 0", got)
	}
	// The right settings go through the same platform.
	c := gmClient(t, url, right)
	var out platform.SignInOutput
	if err := gmCall(c, platform.InfnoSignIn, signIn(), &out); err != nil || out.Signinoutb.SignNo == "" {
		t.Fatalf("sign-in with the issued settings: got %v, sign_no %q; want a session", err, out.Signinoutb.SignNo)
	}
}

func TestGM_SimulatorAnswersEncryptedAndSigned(t *testing.T) {
	dir := t.TempDir()
	hospKey, hospPub := gmPair(t, dir, "hospital")
	platKey, platPub := gmPair(t, dir, "platform")
	_, otherPub := gmPair(t, dir, "other")
	_, url := gmSim(t, gmcodec.Settings{Mode: "sm4", Sign: "sm2", AppID: gmAppID, AppSecret: gmSecret, PrivateKeyFile: platKey, PeerPublicKeyFile: hospPub})
	hosp := gmcodec.Settings{Mode: "sm4", Sign: "sm2", AppID: gmAppID, AppSecret: gmSecret, PrivateKeyFile: hospKey, PeerPublicKeyFile: platPub}

	// On the wire: output is ciphertext, enctype SM4, signtype SM2.
	codec, err := gmcodec.New(hosp)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(map[string]any{"infno": "9001", "msgid": "H33010200001202612070000009999", "input": signIn()})
	sealed, err := codec.Seal(env, gmcodec.FieldInput)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+sim.DefaultPath, "application/json", bytes.NewReader(sealed))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var wire map[string]any
	if err := json.Unmarshal(body, &wire); err != nil {
		t.Fatal(err)
	}
	if out, isText := wire["output"].(string); !isText || strings.Contains(out, "sign_no") || wire["enctype"] != "SM4" || wire["signtype"] != "SM2" || wire["cainfo"] == "" {
		t.Fatalf("answer on the wire: %s; want output as SM4 ciphertext, enctype SM4, signtype SM2, cainfo", body)
	}
	plain, signed, err := codec.Open(body, gmcodec.FieldOutput, false)
	if err != nil || !signed || !strings.Contains(string(plain), "sign_no") {
		t.Fatalf("opening the answer: signed %v, err %v, %s; want the signed sign-in output", signed, err, plain)
	}

	// A client holding another platform key does not trust the answer: its outcome
	// is unknown (the platform did answer), and the error names the setting.
	wrong := hosp
	wrong.PeerPublicKeyFile = otherPub
	err = gmCall(gmClient(t, url, wrong), platform.InfnoSignIn, signIn(), &platform.SignInOutput{})
	if !errors.Is(err, platform.ErrBadResponse) || !strings.Contains(err.Error(), "platform_public_key_file") {
		t.Fatalf("answer signed by another key: got %v; want ErrBadResponse naming platform_public_key_file", err)
	}
}

// Every mode round-trips a sign-in and a person lookup through the simulator.
func TestGM_EveryModeRoundTripsThroughTheSimulator(t *testing.T) {
	dir := t.TempDir()
	hospKey, hospPub := gmPair(t, dir, "hospital")
	platKey, platPub := gmPair(t, dir, "platform")
	for _, tc := range []struct{ name, mode, sign, encoding, cipher, iv string }{
		{name: "sm4", mode: "sm4"},
		{name: "sm3", sign: "sm3"},
		{name: "sm2", sign: "sm2"},
		{name: "sm4+sm3", mode: "sm4", sign: "sm3"},
		{name: "sm4+sm2", mode: "sm4", sign: "sm2"},
		{name: "base64", mode: "sm4", encoding: "base64"},
		{name: "cbc", mode: "sm4", cipher: "cbc", iv: "00112233445566778899aabbccddeeff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := gmcodec.Settings{Mode: tc.mode, Sign: tc.sign, AppID: gmAppID, AppSecret: gmSecret, Encoding: tc.encoding, Cipher: tc.cipher, IV: tc.iv}
			ps, hs := base, base
			if tc.sign == "sm2" {
				ps.PrivateKeyFile, ps.PeerPublicKeyFile = platKey, hospPub
				hs.PrivateKeyFile, hs.PeerPublicKeyFile = hospKey, platPub
			}
			p, url := gmSim(t, ps)
			c := gmClient(t, url, hs)
			var out platform.SignInOutput
			if err := gmCall(c, platform.InfnoSignIn, signIn(), &out); err != nil {
				t.Fatal(err)
			}
			c.SetSignNo(out.Signinoutb.SignNo)
			fp := p.Fixture().Persons[0]
			var info platform.PersonInfoOutput
			if err := gmCall(c, platform.InfnoPersonInfo, platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: fp.CardNo, CardSN: fp.CardSN}}, &info); err != nil {
				t.Fatal(err)
			}
			if got := info.Person().PsnNo; got != fp.PsnNo {
				t.Fatalf("1101 psn_no: got %s; want %s", got, fp.PsnNo)
			}
		})
	}
}
