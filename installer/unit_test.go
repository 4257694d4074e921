package installer

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/golden"
)

// mustService is New with fixed Linux-style paths, so the unit text does not
// depend on where the test runs.
func mustService(tb testing.TB, o Options) *Service {
	tb.Helper()
	if o.Executable == "" {
		o.Executable = "/usr/local/bin/settle-agent"
	}
	if o.ConfigPath == "" {
		o.ConfigPath = "/etc/settle-agent/settle-agent.toml"
	}
	if o.DataDir == "" {
		o.DataDir = "/var/lib/settle-agent"
	}
	if o.UserName == "" {
		o.UserName = "settle-agent"
	}
	s, err := New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	// filepath.Abs on Windows would add a drive letter; the unit is Linux-only.
	s.o.Executable, s.o.ConfigPath, s.o.DataDir = o.Executable, o.ConfigPath, o.DataDir
	return s
}

// goldenFile compares got with testdata/name, or rewrites it under -update.
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", name), []byte(got))
}

func TestSystemdUnit_Golden(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		unit, err := mustService(t, Options{}).SystemdUnit()
		if err != nil {
			t.Fatal(err)
		}
		goldenFile(t, "settle-agent.service", unit)
	})
	t.Run("CustomDataDir", func(t *testing.T) {
		unit, err := mustService(t, Options{
			Name: "settle-agent-b", DataDir: "/srv/settle-b/data", ConfigPath: "/opt/settle-b/agent.toml",
			UserName: "settleb", StopTimeout: 45 * time.Second,
		}).SystemdUnit()
		if err != nil {
			t.Fatal(err)
		}
		goldenFile(t, "custom.service", unit)
	})
}

func TestSystemdUnit_Contents(t *testing.T) {
	unit, err := mustService(t, Options{}).SystemdUnit()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"ExecStart=/usr/local/bin/settle-agent run --config /etc/settle-agent/settle-agent.toml\n",
		"User=settle-agent\n", "Restart=on-failure\n", "RestartSec=5\n", "TimeoutStopSec=30\n",
		"NoNewPrivileges=yes\n", "ProtectSystem=full\n", "PrivateTmp=yes\n",
		"ReadWritePaths=/var/lib/settle-agent\n", "StateDirectory=settle-agent\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	if strings.Contains(unit, "{{") {
		t.Errorf("unit holds a template action; kardianos would rewrite it")
	}
	if strings.Contains(unit, "\nPrivateDevices=") {
		t.Errorf("unit has PrivateDevices; card readers on /dev/ttyUSB* would vanish")
	}
}

func TestSystemdUnit_UnsafePath(t *testing.T) {
	for _, o := range []Options{
		{Executable: "/opt/my apps/settle-agent"},
		{ConfigPath: "/etc/settle-agent/a%b.toml"},
		{DataDir: "/var/lib/settle\nExecStartPre=/bin/sh"},
		{DataDir: "/var/lib/{{Name}}"},
	} {
		s := mustService(t, o)
		if unit, err := s.SystemdUnit(); err == nil {
			t.Errorf("SystemdUnit(%+v) = nil error; want one\n%s", o, unit)
		}
	}
}

// FuzzSystemdUnit checks that no path, however odd, can add a line to the unit
// or change its command line.
func FuzzSystemdUnit(f *testing.F) {
	f.Add("/usr/local/bin/settle-agent", "/etc/settle-agent/settle-agent.toml", "/var/lib/settle-agent")
	f.Add("/opt/x y/settle-agent", "/etc/a\nb", "relative/dir")
	f.Add("/a\"b", "/c'd", "/e$f")
	f.Add("/a/b", "/c/d\r", "/e/\u00a0f")
	base, err := mustService(f, Options{}).SystemdUnit()
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.Count(base, "\n")
	f.Fuzz(func(t *testing.T, exe, conf, data string) {
		s := mustService(t, Options{})
		s.o.Executable, s.o.ConfigPath, s.o.DataDir = exe, conf, data
		unit, err := s.SystemdUnit()
		if err != nil {
			return
		}
		if !strings.HasPrefix(exe, "/") || !strings.HasPrefix(conf, "/") || !strings.HasPrefix(data, "/") {
			t.Fatalf("accepted a relative path: %q %q %q", exe, conf, data)
		}
		got := strings.Count(unit, "\n")
		// StateDirectory lines come and go with the data folder.
		if got != lines && got != lines-2 {
			t.Fatalf("unit has %d lines; want %d or %d:\n%s", got, lines, lines-2, unit)
		}
		want := "\nExecStart=" + exe + " run --config " + conf + "\n"
		if !strings.Contains(unit, want) || strings.Count(unit, "ExecStart=") != 1 {
			t.Fatalf("command line changed:\n%s", unit)
		}
		if strings.Contains(unit, "{{") {
			t.Fatalf("template action in unit:\n%s", unit)
		}
	})
}

// TestSystemdUnit_Verify has systemd itself read the unit, where systemd-analyze
// is installed: any unknown key or bad value is printed and fails the test.
func TestSystemdUnit_Verify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := mustService(t, Options{Executable: exe}).SystemdUnit()
	if err != nil {
		t.Skipf("test binary path does not fit a unit: %v", err)
	}
	p := filepath.Join(t.TempDir(), "settle-agent.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", p).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
