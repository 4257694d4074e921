package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/platform/sim"
)

func TestDoctorCommand(t *testing.T) {
	p := sim.New(nil, nil)
	url, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	dir := t.TempDir()
	conf := filepath.Join(dir, "agent.toml")
	text := `[hospital]
fixmedins_code = "H33010200001"
fixmedins_name = "Doctor Test Hospital"
admdvs = "330100"
[platform]
base_url = "` + url + `"
[api]
listen = "127.0.0.1:0"
admin_token = "admin-token-0123456789"
[store]
dir = "` + filepath.ToSlash(filepath.Join(dir, "data")) + `"
[[window]]
id = "W01"
token = "w01-token-0123456789"
`
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		code, out, errOut := runCmd(t, nil, "doctor", "--config", conf, "--json")
		if code != 0 {
			t.Fatalf("exit %d; want 0\n%s%s", code, out, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var rep struct {
			OK     bool `json:"ok"`
			Checks []struct{ Name, Status string }
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil || !rep.OK || len(rep.Checks) < 5 {
			t.Errorf("--json: got %+v, %v; want ok with every check", rep, err)
		}
	})
	t.Run("PlatformDown", func(t *testing.T) {
		p.SetFaults(sim.Faults{Down: true})
		defer p.SetFaults(sim.Faults{})
		code, out, _ := runCmd(t, nil, "doctor", "--config", conf)
		if code == 0 || !strings.Contains(out, "失败  医保平台") {
			t.Errorf("platform down: exit %d, output %q; want non-zero and a 失败 line (Chinese by default)", code, out)
		}
		code, out, _ = runCmd(t, nil, "doctor", "--config", conf, "--lang", "en")
		if code == 0 || !strings.Contains(out, "FAIL") {
			t.Errorf("platform down, --lang en: exit %d, output %q; want non-zero and a FAIL line", code, out)
		}
	})
	t.Run("BadConfig", func(t *testing.T) {
		code, out, _ := runCmd(t, nil, "doctor", "--config", filepath.Join(dir, "missing.toml"))
		if code == 0 || !strings.Contains(out, "配置") {
			t.Errorf("missing config: exit %d, output %q; want non-zero naming the configuration", code, out)
		}
	})
}
