package agent_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// TestAgent_Catalogue: a fresh agent syncs its catalogue at start (it was never
// synced); the admin API shows it, syncs again on request, checks a mapping against
// it, uploads the agent's mapping (dry run first); the hot reload refuses a mapping
// the check refuses and the status page says why; the status page shows the catalogue.
func TestAgent_Catalogue(t *testing.T) {
	s := MustSystem(t, nil)
	fresh := func() bool {
		st, body := s.Do("GET", "/v1/catalogue", tokAdmin, nil)
		p, _ := body["progress"].(map[string]any)
		return st == 200 && body["stale"] == false && p["running"] == false
	}
	s.waitFor("the start-up sync", fresh)
	if st, _ := s.Do("GET", "/v1/catalogue", tokW01, nil); st != http.StatusForbidden {
		t.Errorf("GET /v1/catalogue with a window token: %d; want 403", st)
	}
	before := s.Sim.Stats()[platform.InfnoHilistQuery]
	if st, body := s.Do("POST", "/v1/catalogue/sync", tokAdmin, nil); st != http.StatusAccepted {
		t.Fatalf("POST /v1/catalogue/sync: %d %v; want 202", st, body)
	}
	s.waitFor("the requested sync", func() bool { return fresh() && s.Sim.Stats()[platform.InfnoHilistQuery] > before })

	good, err := os.ReadFile(s.Cfg.Mapping.File)
	if err != nil {
		t.Fatal(err)
	}
	wrong := string(good) + "YP9999,XJ99ZZZ999Z999999999999,YP9999,不存在的药,,\n"
	st, body := s.Do("POST", "/v1/mapping/check", tokAdmin, wrong, "Content-Type", "text/csv")
	findings, _ := body["findings"].([]any)
	if st != http.StatusUnprocessableEntity || len(findings) != 1 || !strings.Contains(findings[0].(map[string]any)["reason"].(string), "XJ99ZZZ999Z999999999999") {
		t.Fatalf("POST /v1/mapping/check of a wrong mapping: %d %v; want 422 naming the code", st, body)
	}
	if st, body := s.Do("POST", "/v1/mapping/check", tokAdmin, good); st != 200 || body["synced"] != true {
		t.Fatalf("POST /v1/mapping/check of the agent's mapping: %d %v; want 200", st, body)
	}

	st, body = s.Do("POST", "/v1/mapping/upload?dry_run=true", tokAdmin, nil)
	if lines, _ := body["lines"].([]any); st != 200 || len(lines) != len(s.Sim.Fixture().Items) || s.Sim.Stats()[platform.InfnoMappingUpload] != 0 {
		t.Fatalf("dry-run upload: %d %v; want every row listed, nothing sent", st, body)
	}
	st, body = s.Do("POST", "/v1/mapping/upload", tokAdmin, nil)
	if st != 200 || body["sent"] != float64(len(s.Sim.Fixture().Items)) || len(s.Sim.MappingRows(s.Cfg.Hospital.FixmedinsCode)) != len(s.Sim.Fixture().Items) {
		t.Fatalf("upload: %d %v; want every row sent and held by the platform", st, body)
	}

	if err := os.WriteFile(s.Cfg.Mapping.File, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the refused reload", func() bool {
		_, body := s.Do("GET", "/v1/status", tokAdmin, nil)
		m, _ := body["mapping"].(map[string]any)
		e, _ := m["last_error"].(string)
		return strings.Contains(e, "XJ99ZZZ999Z999999999999")
	})
	resp, err := http.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"<h2>医保目录</h2>", "✓ 已同步", "与医保目录不符", "仍使用旧对照", "XJ99ZZZ999Z999999999999"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	resp, err = http.Get(s.URL + "/?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Catalogue (医保目录)", "✓ synced, oldest", "wrong against the catalogue"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("English status page lacks %q", want)
		}
	}
}

// TestAgent_Catalogue_SignsInFirst: the platform was down when the agent started, so
// its sign-in failed; when the platform is back and requires a session on every
// business call, the catalogue sync signs in (9001) first and carries the sign_no.
func TestAgent_Catalogue_SignsInFirst(t *testing.T) {
	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1, RequireSignIn: true})
	url, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	cfg := MustConfig(t, url, t.TempDir())
	cfg.Platform.ProbeInterval = config.Duration{Duration: time.Hour} // the engine's probe does not sign in meanwhile
	p.SetFaults(sim.Faults{Down: true})
	s := &testSystem{tb: t, Sim: p, SimURL: url, Cfg: cfg}
	s.Start()
	t.Cleanup(s.Stop)
	p.SetFaults(sim.Faults{})
	signIns := p.Stats()[platform.InfnoSignIn]
	if st, body := s.Do("POST", "/v1/catalogue/sync", tokAdmin, nil); st != http.StatusAccepted && st != http.StatusConflict {
		t.Fatalf("POST /v1/catalogue/sync: %d %v; want 202", st, body)
	}
	s.waitFor("the catalogue synced after signing in", func() bool {
		st, body := s.Do("GET", "/v1/catalogue", tokAdmin, nil)
		pr, _ := body["progress"].(map[string]any)
		return st == 200 && body["stale"] == false && pr["running"] == false
	})
	if got := p.Stats()[platform.InfnoSignIn]; got <= signIns {
		t.Errorf("9001 calls: got %d; want more than the %d before the sync", got, signIns)
	}
}
