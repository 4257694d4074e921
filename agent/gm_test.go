package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform/gmcodec"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// gmProvince is one province's 国密 envelope rule, as the simulator enforces it and
// as the hospital configures it in [platform.crypto].
type gmProvince struct {
	name                      string
	mode, sign                string
	encoding, cipherMode, iv  string
	appID, secret             string
	hospKey, hospPub, platKey string // PEM files
	platPub                   string
}

const (
	gmAppID  = "H33010200001APP0001"
	gmSecret = "app-secret-of-330100-秘钥"
)

// gmProvinces are the modes the agent speaks: each must settle a bill end to end.
func gmProvinces() []gmProvince {
	return []gmProvince{
		{name: "sm4", mode: "sm4"},
		{name: "sm3", sign: "sm3"},
		{name: "sm2", sign: "sm2"},
		{name: "sm4+sm3", mode: "sm4", sign: "sm3"},
		{name: "sm4+sm2", mode: "sm4", sign: "sm2"},
		{name: "sm4 base64", mode: "sm4", sign: "sm3", encoding: "base64"},
		{name: "sm4 cbc", mode: "sm4", sign: "sm3", cipherMode: "cbc", iv: "0102030405060708"},
	}
}

// keys writes a hospital and a platform SM2 key pair into dir.
func (g *gmProvince) keys(t *testing.T, dir string) {
	t.Helper()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hp, hu, err := gmcodec.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	pp, pu, err := gmcodec.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	g.hospKey, g.hospPub = write("hospital.key.pem", hp), write("hospital.pub.pem", hu)
	g.platKey, g.platPub = write("platform.key.pem", pp), write("platform.pub.pem", pu)
	if g.appID == "" {
		g.appID = gmAppID
	}
	if g.secret == "" {
		g.secret = gmSecret
	}
}

// simCodec is the platform's side of g.
func (g gmProvince) simCodec(t *testing.T) *gmcodec.Codec {
	t.Helper()
	c, err := gmcodec.New(gmcodec.Settings{Mode: g.mode, Sign: g.sign, AppID: gmAppID, AppSecret: gmSecret,
		PrivateKeyFile: g.platKey, PeerPublicKeyFile: g.hospPub, Encoding: g.encoding, Cipher: g.cipherMode, IV: g.iv})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// crypto is the hospital's [platform.crypto] of g.
func (g gmProvince) crypto() config.PlatformCrypto {
	c := config.PlatformCrypto{Mode: g.mode, Sign: g.sign, AppID: g.appID, AppSecret: config.NewSecret(g.secret),
		Encoding: g.encoding, Cipher: g.cipherMode, IV: g.iv}
	if g.sign == "sm2" {
		c.PrivateKeyFile, c.PlatformPublicKeyFile = g.hospKey, g.platPub
	}
	return c
}

// mustGMSystem starts a simulator that requires g and an agent configured by hospital.
func mustGMSystem(t *testing.T, g gmProvince, hospital config.PlatformCrypto) *testSystem {
	t.Helper()
	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1, Codec: g.simCodec(t)})
	url, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	cfg := MustConfig(t, url, t.TempDir())
	cfg.Platform.Crypto = hospital
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := &testSystem{tb: t, Sim: p, SimURL: url, Cfg: cfg}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func TestAgent_GM_EveryModeSettlesABillThroughTheSimulator(t *testing.T) {
	for _, g := range gmProvinces() {
		t.Run(g.name, func(t *testing.T) {
			g.keys(t, t.TempDir())
			s := mustGMSystem(t, g, g.crypto())
			b := newBill(cardLocalEmployee)
			st, body := s.Do("POST", "/v1/bills", tokW01, b)
			if st != 201 || body["estimate"] != false {
				t.Fatalf("POST /v1/bills: got %d %v; want 201 online", st, body)
			}
			st, body = s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil)
			if st != 200 || str(body, "state") != "settled" {
				t.Fatalf("settle: got %d %v; want 200 settled", st, body)
			}
			if got := settledByBill(s.Sim)[b.BillNo]; got != 1 {
				t.Fatalf("platform bookings of %s: got %d; want 1", b.BillNo, got)
			}
			v := s.Sim.Violations()
			if n := v[sim.RuleEnvelopeUndecryptable] + v[sim.RuleEnvelopeSignature]; n != 0 {
				t.Fatalf("envelopes the platform refused: got %d; want 0 (%v)", n, v)
			}
		})
	}
}

// A wrong secret is IT's problem, told at sign-in with the setting to fix; the
// platform refused the envelopes, so nothing was booked: the bill waits in the queue
// (as while offline) and settles once the setting is right — never failed.
func TestAgent_GM_WrongSecretIsASignInErrorAndTheBillWaits(t *testing.T) {
	g := gmProvince{name: "sm4+sm3", mode: "sm4", sign: "sm3"}
	g.keys(t, t.TempDir())
	wrong := g
	wrong.secret = "not-the-issued-secret"
	s := mustGMSystem(t, g, wrong.crypto())

	var signInErr string
	s.waitFor("the status names the sign-in error", func() bool {
		_, st := s.Do("GET", "/v1/status", tokAdmin, nil)
		signInErr = str(st, "sign_in_error")
		return signInErr != ""
	})
	if !strings.Contains(signInErr, "[platform.crypto] app_secret") || !strings.Contains(signInErr, "验签失败") {
		t.Fatalf("sign_in_error: got %q; want the platform's 验签失败 and the setting [platform.crypto] app_secret", signInErr)
	}
	b := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
		t.Fatalf("POST /v1/bills: got %d %v; want 201", st, body)
	}
	st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil)
	if st != 202 || str(body, "state") != "queued" {
		t.Fatalf("settle with a wrong secret: got %d %v; want 202 queued", st, body)
	}
	if n := len(s.Sim.Ledger()); n != 0 {
		t.Fatalf("the platform booked %d entries for refused envelopes; want 0", n)
	}
	if v := s.Sim.Violations()[sim.RuleEnvelopeSignature]; v == 0 {
		t.Fatalf("the platform refused no envelope for its signature (violations %v)", s.Sim.Violations())
	}

	// IT fixes the secret: the queued bill settles, once.
	s.Stop()
	s.Cfg.Platform.Crypto = g.crypto()
	s.Start()
	s.settledOnce(t, b.BillNo)
}
