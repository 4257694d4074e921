package simagent

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// The configuration written is the one loaded back: the options reach the agent's
// settings, and the windows' tokens open the API of the agent it runs.
func TestWriteConfig_StartsAnAgentOnTheSimulator(t *testing.T) {
	_, url, stop, err := StartSim(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	dir := t.TempDir()
	_, cfg, err := WriteConfig(dir, url, Options{Windows: []Window{{ID: "W01", Token: "w01-token-0123456789"}},
		AdminToken: "admin-token-0123456789", Seal: true, ProbeInterval: 70 * time.Millisecond, Policy: "estimate"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Platform.BaseURL != url || cfg.Platform.ProbeInterval.Duration != 70*time.Millisecond || cfg.Offline.Policy != "estimate" ||
		!cfg.Store.Key.IsSet() || cfg.Hospital.FixmedinsCode != HospitalCode || !cfg.API.AdminToken.Equal("admin-token-0123456789") {
		t.Errorf("loaded configuration: got platform %s probe %s policy %s key %v hospital %s; want the options written",
			cfg.Platform.BaseURL, cfg.Platform.ProbeInterval, cfg.Offline.Policy, cfg.Store.Key.IsSet(), cfg.Hospital.FixmedinsCode)
	}
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", r.URL+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer w01-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/status with W01's token: got %d; want 200", resp.StatusCode)
	}
	if err := r.Stop(); err != nil {
		t.Errorf("Stop: got %v; want nil", err)
	}
}

// Without windows or an admin token there is no system to write.
func TestWriteConfig_NoWindows_ErrNoWindows(t *testing.T) {
	if _, _, err := WriteConfig(t.TempDir(), "http://127.0.0.1:1", Options{AdminToken: "x"}); !errors.Is(err, ErrNoWindows) {
		t.Errorf("got %v; want ErrNoWindows", err)
	}
}
