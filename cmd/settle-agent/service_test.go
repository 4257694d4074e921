package main

import (
	"errors"
	"github.com/settle-agent/settle-agent/installer"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// status answers "not installed" with its own exit status, as systemctl does.
func TestStatus_NotInstalled_ExitStatus(t *testing.T) {
	if _, err := os.Stat("/etc/init.d/settle-agent"); err == nil {
		t.Skip("settle-agent is installed on this machine")
	}
	if _, err := os.Stat("/etc/systemd/system/settle-agent.service"); err == nil {
		t.Skip("settle-agent is installed on this machine")
	}
	code, out, errOut := runCmd(t, nil, "status")
	if code != exitNotInstalled || strings.TrimSpace(out) != "not installed" {
		t.Errorf("status: got exit %d, stdout %q, stderr %q; want %d and \"not installed\"", code, out, errOut, exitNotInstalled)
	}
}

// install refuses a missing or broken configuration before it creates anything.
func TestInstall_RefusesBeforeCreatingAnything(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	t.Run("Missing", func(t *testing.T) {
		conf := filepath.Join(dir, "etc", "settle-agent.toml")
		code, _, errOut := runCmd(t, nil, "install", "--config", conf, "--data-dir", data)
		if code == 0 || !(strings.Contains(errOut, "does not exist") || strings.Contains(errOut, "run as root") || strings.Contains(errOut, "Run as administrator")) {
			t.Errorf("install: got exit %d, stderr %q; want a refusal", code, errOut)
		}
		for _, p := range []string{filepath.Dir(conf), data} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s after the refusal: %v; want it not made", p, err)
			}
		}
	})
	t.Run("Broken", func(t *testing.T) {
		conf := filepath.Join(dir, "broken.toml")
		text := strings.Replace(minimalConfig(t, dir), `policy = "full"`, `policy = "sometimes"`, 1) +
			"\n[mapping]\nfile = \"" + filepath.ToSlash(filepath.Join(dir, "no-such-mapping.csv")) + "\"\n"
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCmd(t, nil, "install", "--config", conf, "--data-dir", data)
		if code == 0 || !strings.Contains(errOut, "nothing was installed") || !strings.Contains(errOut, "mapping.file") {
			t.Errorf("install: got exit %d, stderr %q; want a refusal naming mapping.file", code, errOut)
		}
		if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after the refusal: %v; want it not made", data, err)
		}
	})
}

// A configuration with relative paths works for `run` in its folder, not for a
// service that starts elsewhere: install refuses it before creating anything.
func TestInstall_RefusesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "settle-agent.toml")
	text := strings.Replace(minimalConfig(t, dir), `dir = "`+filepath.ToSlash(filepath.Join(dir, "store"))+`"`, `dir = "relative/data"`, 1)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, nil, "install", "--config", conf)
	if code == 0 || !strings.Contains(errOut, `store.dir = "relative/data" is relative`) || !strings.Contains(errOut, "nothing was installed") {
		t.Errorf("install: got exit %d, stderr %q; want a refusal naming store.dir", code, errOut)
	}
}

// minimalConfig is a configuration that loads, with its store under dir.
func minimalConfig(t *testing.T, dir string) string {
	t.Helper()
	return `[hospital]
fixmedins_code = "H33010200001"
admdvs = "330100"

[platform]
base_url = "http://127.0.0.1:8430"

[api]
listen = "127.0.0.1:8420"
admin_token = "admin-token-0123456789"

[store]
dir = "` + filepath.ToSlash(filepath.Join(dir, "store")) + `"

[[window]]
id = "W01"
token = "w01-token-0123456789"

[offline]
policy = "full"
`
}

// run refuses a broken mapping before the agent creates its store key.
func TestRun_BrokenMapping_CreatesNothing(t *testing.T) {
	dir := t.TempDir()
	mapping := filepath.Join(dir, "mapping.csv")
	if err := os.WriteFile(mapping, []byte("not,a,mapping\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "settle-agent.toml")
	text := minimalConfig(t, dir) + "\n[mapping]\nfile = \"" + filepath.ToSlash(mapping) + "\"\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, nil, "run", "--config", conf)
	if code == 0 || !strings.Contains(errOut, "[mapping] file") || !strings.Contains(errOut, "mapping check") {
		t.Errorf("run: got exit %d, stderr %q; want a refusal naming [mapping] file", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data folder after the refusal: %v; want nothing made (no store key, no store)", err)
	}
}

// run refuses a taken [api] listen before the agent creates its store key.
func TestRun_PortTaken_CreatesNothing(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conf := filepath.Join(dir, "settle-agent.toml")
	text := strings.Replace(minimalConfig(t, dir), `listen = "127.0.0.1:8420"`, `listen = "`+ln.Addr().String()+`"`, 1)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCmd(t, nil, "run", "--config", conf)
	if code == 0 || !strings.Contains(errOut, "[api] listen "+ln.Addr().String()) || !strings.Contains(errOut, "another program holds the port") {
		t.Errorf("run: got exit %d, stderr %q; want a refusal naming [api] listen", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data folder after the refusal: %v; want nothing made (no store key, no store)", err)
	}
}

// A service logs to [log] file, else to the installer's log file where the service
// manager keeps none (Windows), the file `start` reads back; in the foreground, stderr.
func TestServiceLogFile(t *testing.T) {
	if got := serviceLogFile("/var/log/x.log", false); got != "/var/log/x.log" {
		t.Errorf("configured file: got %q; want it", got)
	}
	if got := serviceLogFile("", true); got != "" {
		t.Errorf("foreground without a file: got %q; want stderr (\"\")", got)
	}
	if got, want := serviceLogFile("", false), installer.DefaultPlaces().LogFile; got != want {
		t.Errorf("service without a file: got %q; want the installer's %q", got, want)
	}
}
