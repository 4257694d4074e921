package agent

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// mustInternalAgent builds (without running) an agent against a real simulator over
// HTTP, with its store in a temp dir; now, when set, is its clock.
func mustInternalAgent(t *testing.T, fx *sim.Fixture, now func() time.Time) (*Agent, *sim.Platform) {
	t.Helper()
	// The platform keeps the agent's clock: the engine trusts its clock only while
	// it agrees with the platform's.
	p := sim.New(fx, &sim.Options{Seed: 7, Now: now})
	url, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Hospital = config.Hospital{FixmedinsCode: "H33010200001", FixmedinsName: "T", Admdvs: "330100", MsgidNode: -1}
	cfg.Platform.BaseURL = url
	cfg.API.AdminToken = config.NewSecret("admin-token-0123456789")
	cfg.Store.Dir = filepath.Join(dir, "data")
	cfg.Windows = []config.Window{{ID: "W01", Token: config.NewSecret("w01-token-0123456789")}}
	cfg.Mapping.File = filepath.Join(dir, "mapping.csv")
	if err := os.WriteFile(cfg.Mapping.File, fx.MappingCSV(), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	a, err := New(cfg, &Options{Listener: ln, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, p
}
