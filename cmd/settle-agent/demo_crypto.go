package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform/gmcodec"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// The demo province's issued 国密 credentials (made up; a real province issues its own).
const (
	demoAppID     = "H33010200001DEMOAPP01"
	demoAppSecret = "demo-app-secret-杭州-330100"
)

// demoCrypto makes the demo's 国密 province of modes ("plain", "sm4+sm3", …): the
// simulator's codec and the hospital's [platform.crypto], with fresh SM2 key pairs
// for both sides written into dir. Plain: nil and an empty section.
func demoCrypto(modes, dir string) (*gmcodec.Codec, config.PlatformCrypto, error) {
	mode, sign, err := gmcodec.ParseModes(modes)
	if err != nil || mode == "" && sign == "" {
		if err != nil {
			err = fmt.Errorf("%w: --crypto %v", errUsage, err)
		}
		return nil, config.PlatformCrypto{}, err
	}
	hosp := config.PlatformCrypto{Mode: mode, Sign: sign, AppID: demoAppID, AppSecret: config.NewSecret(demoAppSecret)}
	ps := gmcodec.Settings{Mode: mode, Sign: sign, AppID: demoAppID, AppSecret: demoAppSecret}
	if sign == gmcodec.SignSM2 {
		write := func(name string, b []byte) (string, error) {
			p := filepath.Join(dir, name)
			return p, os.WriteFile(p, b, 0o600)
		}
		hp, hu, err := gmcodec.GenerateKeyPair()
		if err != nil {
			return nil, hosp, err
		}
		pp, pu, err := gmcodec.GenerateKeyPair()
		if err != nil {
			return nil, hosp, err
		}
		files := map[string][]byte{"hospital-sm2.key.pem": hp, "hospital-sm2.pub.pem": hu, "platform-sm2.key.pem": pp, "platform-sm2.pub.pem": pu}
		paths := map[string]string{}
		for name, b := range files {
			if paths[name], err = write(name, b); err != nil {
				return nil, hosp, err
			}
		}
		hosp.PrivateKeyFile, hosp.PlatformPublicKeyFile = paths["hospital-sm2.key.pem"], paths["platform-sm2.pub.pem"]
		ps.PrivateKeyFile, ps.PeerPublicKeyFile = paths["platform-sm2.key.pem"], paths["hospital-sm2.pub.pem"]
	}
	c, err := gmcodec.New(ps)
	return c, hosp, err
}

// gmStory opens the story in a 国密 province: what the agent sends, and the platform
// refusing an envelope sent plain (nothing booked).
func (d *demo) gmStory(ctx context.Context) error {
	if d.crypto == "" {
		return nil
	}
	d.headline("The province requires 国密 envelopes (%s): [platform.crypto] as the province issued it", d.crypto)
	d.say("  every request's input goes SM4-encrypted (enctype SM4) and/or signed (signtype, cainfo);")
	d.say("  the platform answers the same way and the agent opens and checks every answer.")
	env, _ := json.Marshal(map[string]any{"infno": "9001", "msgid": "H33010200001" + time.Now().In(settle.Beijing).Format("20060102150405") + "9999",
		"fixmedins_code": "H33010200001", "input": map[string]any{"signIn": map[string]string{"opter_no": "demo", "mac": "", "ip": "127.0.0.1"}}})
	before := len(d.sim.Ledger())
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.simURL+sim.DefaultPath, bytes.NewReader(env))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("plain envelope to the 国密 platform: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	var ans struct {
		Infcode int    `json:"infcode"`
		ErrMsg  string `json:"err_msg"`
	}
	_ = json.Unmarshal(body, &ans)
	if ans.Infcode != -2 || (ans.ErrMsg != "解密失败" && ans.ErrMsg != "验签失败") || len(d.sim.Ledger()) != before {
		return fmt.Errorf("the 国密 platform took a plain envelope: %s", body)
	}
	d.say("  a sign-in sent plain, as an agent without [platform.crypto] would: infcode %d, %s — nothing booked.", ans.Infcode, ans.ErrMsg)
	d.say("  (with a wrong app_secret or key the agent names the setting on its status page and keeps bills queued)")
	return nil
}
