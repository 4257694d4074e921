package doctor

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/golden"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// goldenFile compares got with testdata/name, or rewrites it under -update.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got))
}

// doctorSetup is one installation under test: a configuration file in a temporary
// folder, its data folder, a free API port and (usually) a real simulator.
type doctorSetup struct {
	t       *testing.T
	dir     string // holds the configuration file
	DataDir string
	APIAddr string
	BaseURL string
	Sim     *sim.Platform
	// Extra is TOML appended to the [platform] table.
	PlatformExtra string
	// Windows is the [[window]] tables; default one window with a frame reader.
	Windows string
	// Tail is TOML appended at the end (more tables).
	Tail string
}

// newDoctorSetup starts a simulator (with simOpts) and picks a free API port.
func newDoctorSetup(t *testing.T, simOpts *sim.Options) *doctorSetup {
	t.Helper()
	dir := t.TempDir()
	s := &doctorSetup{t: t, dir: dir, DataDir: filepath.Join(dir, "data"), APIAddr: freeAddr(t)}
	s.Sim, s.BaseURL = mustSim(t, simOpts)
	s.Windows = `
[[window]]
id = "W01"
token = "w01-secret-token-0123456789"
reader = { port = "SIM-W01", baud = 9600, protocol = "frame", read_timeout = "100ms" }
`
	return s
}

// mustSim serves a real simulated platform on loopback until the test ends.
func mustSim(t *testing.T, o *sim.Options) (*sim.Platform, string) {
	t.Helper()
	p := sim.New(nil, o)
	ctx, cancel := context.WithCancel(context.Background())
	url, stop, err := sim.Start(ctx, "127.0.0.1:0", p)
	if err != nil {
		cancel()
		t.Fatalf("sim.Start: %v", err)
	}
	t.Cleanup(func() {
		_ = stop()
		cancel()
	})
	return p, url
}

// freeAddr is a loopback address nobody listens on (at the time of asking).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Config is the configuration text.
func (s *doctorSetup) Config() string {
	return fmt.Sprintf(`[hospital]
fixmedins_code = "H33010200001"
fixmedins_name = "Example People's Hospital"
admdvs = "330100"

[platform]
base_url = %q
timeout = "3s"
%s
[api]
listen = %q

[store]
dir = %q
%s
%s`, s.BaseURL, s.PlatformExtra, s.APIAddr, filepath.ToSlash(s.DataDir), s.Windows, s.Tail)
}

// Write writes the configuration file (mode 0600) and returns its path.
func (s *doctorSetup) Write() string {
	s.t.Helper()
	p := filepath.Join(s.dir, "settle-agent.toml")
	if err := os.WriteFile(p, []byte(s.Config()), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// Options are Options for this setup: its file, no environment, simulated readers.
func (s *doctorSetup) Options() Options {
	return Options{ConfigPath: s.Write(), Getenv: noEnv, OpenPort: simReaders(s.t), PlatformOptions: agent.PlatformOptions}
}

// Run runs Doctor with o.
func (s *doctorSetup) Run(o Options) []Check {
	s.t.Helper()
	return s.Run2(nil, o)
}

// Run2 runs Doctor with a given configuration.
func (s *doctorSetup) Run2(cfg *config.Config, o Options) []Check {
	s.t.Helper()
	checks := Run(context.Background(), cfg, o)
	var b strings.Builder
	_ = WriteChecks(&b, checks, "en")
	s.t.Logf("doctor:\n%s", b.String())
	wantChinese(s.t, checks)
	return checks
}

// translated are the checks whose every detail and fix doctor writes in Chinese
// too. The others (readers, e-voucher, group, the
// configuration's own problem lines) still print English in Chinese mode.
var translated = map[string]bool{"data folder": true, "free space": true, "store": true, "api listen": true, "hl7 listen": true,
	"catalogue": true, "clock skew": true, "platform": true, "item mapping": true, "drop folder": true}

// wantChinese fails t for a check of translated (or a configuration check found
// ok) whose Chinese line carries no Chinese detail or fix: what hospital staff read
// is in one language.
func wantChinese(t *testing.T, checks []Check) {
	t.Helper()
	for _, c := range checks {
		if !translated[c.Name] && !(c.Name == "configuration" && c.Status == CheckOK) {
			continue
		}
		detail, fix := c.text("zh")
		if !hasHan(detail) {
			t.Errorf("check %s (%s): got Chinese detail %q; want Chinese text", c.Name, c.Status, detail)
		}
		if c.Status != CheckOK && fix != "" && !hasHan(fix) {
			t.Errorf("check %s (%s): got Chinese fix %q; want Chinese text", c.Name, c.Status, fix)
		}
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func noEnv(string) string { return "" }

// simReaders opens every port as an in-process Pipe with a simulated frame reader
// on the other end; the simulator ends when the port is closed or the test ends.
func simReaders(t *testing.T) func(cardreader.Config) (io.ReadWriteCloser, error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return func(cardreader.Config) (io.ReadWriteCloser, error) {
		host, device := cardreader.Pipe()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = cardreader.NewSimulator(device).Run(ctx)
		}()
		go func() {
			<-ctx.Done()
			device.Close()
		}()
		return host, nil
	}
}

// silentReaders opens every port as a Pipe nobody answers on.
func silentReaders(t *testing.T) func(cardreader.Config) (io.ReadWriteCloser, error) {
	var mu sync.Mutex
	var devices []io.Closer
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range devices {
			d.Close()
		}
	})
	return func(cardreader.Config) (io.ReadWriteCloser, error) {
		host, device := cardreader.Pipe()
		mu.Lock()
		devices = append(devices, device)
		mu.Unlock()
		return host, nil
	}
}

// named returns the checks called name.
func named(checks []Check, name string) []Check {
	var out []Check
	for _, c := range checks {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// wantCheck finds the one check called name and requires its status and that its
// detail contains each of contains.
func wantCheck(t *testing.T, checks []Check, name, status string, contains ...string) Check {
	t.Helper()
	got := named(checks, name)
	if len(got) != 1 {
		t.Fatalf("checks named %q: got %d; want 1 (all: %+v)", name, len(got), checks)
	}
	c := got[0]
	if c.Status != status {
		t.Errorf("%s: got status %q (%s — %s); want %q", name, c.Status, c.Detail, c.Fix, status)
	}
	for _, s := range contains {
		if !strings.Contains(c.Detail, s) {
			t.Errorf("%s: detail %q does not contain %q", name, c.Detail, s)
		}
	}
	if c.Status != CheckOK && c.Fix == "" {
		t.Errorf("%s: status %s without a fix", name, c.Status)
	}
	return c
}
