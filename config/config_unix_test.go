//go:build !windows

package config

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPermissionWarnings(t *testing.T) {
	tests := []struct {
		name              string
		confMode, secMode uint32
		want              []string
	}{
		{"Private", 0o600, 0o600, nil},
		{"ConfigReadable", 0o644, 0o600, []string{"configuration file", "readable by group/others (mode 0644)"}},
		{"ConfigWritable", 0o664, 0o600, []string{"configuration file", "writable by group/others"}},
		{"SecretReadable", 0o600, 0o640, []string{"secret file for window[0].token", "w01.token is readable by group/others (mode 0640); run: chmod 600"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sec := writeFile(t, dir, "w01.token", "x\n", fileMode(tt.secMode))
			data := strings.Replace(validTOML, `token = "tok-w01-aaaaaaaa"`, `token = "file:w01.token"`, 1)
			path := writeFile(t, dir, "settle-agent.toml", data, fileMode(tt.confMode))
			if os.Geteuid() == 0 {
				// Root's own group may read (a service run as root); another may not.
				for _, p := range []string{sec, path} {
					if err := os.Chown(p, -1, 65534); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := PermissionWarnings(path)
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("got %q; want no warnings", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %q; want one warning", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("got %q; want it to contain %q", got[0], w)
				}
			}
		})
	}
	if got := PermissionWarnings(t.TempDir() + "/missing.toml"); len(got) != 0 {
		t.Errorf("missing file: got %q; want no warnings", got)
	}
}

func TestDefaultPlaces(t *testing.T) {
	if got, want := DefaultPath(), "/etc/settle-agent/settle-agent.toml"; got != want {
		t.Errorf("DefaultPath: got %q; want %q", got, want)
	}
	if got, want := Default().Store.Dir, "/var/lib/settle-agent"; got != want {
		t.Errorf("Default().Store.Dir: got %q; want %q", got, want)
	}
}

func fileMode(m uint32) os.FileMode { return os.FileMode(m) }

func TestPermissionWarnings_ServiceGroup(t *testing.T) {
	g, err := user.LookupGroup(ServiceGroup)
	if err != nil {
		t.Skipf("no %s group on this machine (settle-agent install creates it)", ServiceGroup)
	}
	gid, _ := strconv.Atoi(g.Gid)
	path := filepath.Join(t.TempDir(), "settle-agent.toml")
	if err := os.WriteFile(path, []byte("[hospital]\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		t.Skipf("cannot chown to the %s group here: %v", ServiceGroup, err)
	}
	if got := PermissionWarnings(path); len(got) != 0 {
		t.Errorf("0640 with group %s: got %v; want no warning", ServiceGroup, got)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := PermissionWarnings(path); len(got) != 1 {
		t.Errorf("0644: got %v; want a warning", got)
	}
}

// root:root 0640 is how install leaves the configuration of a service that runs
// as root (SysV): no warning.
func TestPermissionWarnings_RootGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("files are made in root's group only by root")
	}
	dir := t.TempDir()
	path := writeFile(t, dir, "settle-agent.toml", validTOML, 0o640)
	if err := os.Chown(path, 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := PermissionWarnings(path); len(got) != 0 {
		t.Errorf("root:root 0640: got %q; want no warnings", got)
	}
}

// The dry-run kit as git checks it out (0644, holding its well-known tokens) starts
// without a warning; the same file outside the source tree is warned about.
func TestPermissionWarnings_DryRunKitInSourceTree(t *testing.T) {
	kit := filepath.Join("..", "examples", "dryrun", "settle-agent.toml")
	if got := PermissionWarnings(kit); len(got) != 0 {
		t.Errorf("PermissionWarnings(%s): got %q; want none", kit, got)
	}
	b, err := os.ReadFile(kit)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "settle-agent.toml")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := PermissionWarnings(out); len(got) == 0 {
		t.Errorf("PermissionWarnings of a 0644 copy outside the source tree: got none; want a warning")
	}
}
