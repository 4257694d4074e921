package installer

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// me is the test's own account: it may chown to itself without root.
func me() account { return account{uid: os.Getuid(), gid: os.Getgid()} }

func wantMode(t *testing.T, p string, want fs.FileMode, acct account) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s mode = %04o; want %04o", p, got, want)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Gid) != acct.gid {
		t.Errorf("%s group = %d; want %d", p, st.Gid, acct.gid)
	}
}

// openTempDir is t.TempDir opened to other accounts, as /etc and /var/lib are.
func openTempDir(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	// t.TempDir and its parent are 0700.
	for _, d := range []string{tmp, filepath.Dir(tmp)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

func TestSetupFolders(t *testing.T) {
	root := openTempDir(t)
	o := Options{
		ConfigPath: filepath.Join(root, "etc", "settle-agent", "settle-agent.toml"),
		DataDir:    filepath.Join(root, "lib", "settle-agent"),
	}
	t.Run("ErrNoConfig", func(t *testing.T) {
		err := setupFolders(o, me(), discard())
		if !errors.Is(err, ErrNoConfig) {
			t.Fatalf("setupFolders = %v; want ErrNoConfig", err)
		}
		wantMode(t, filepath.Dir(o.ConfigPath), 0o750, me())
		wantMode(t, o.DataDir, 0o750, me())
		// Folders made above them must let the service account through.
		fi, err := os.Stat(filepath.Join(root, "etc"))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("parent folder made with %v, %v; want mode 0755", fi.Mode(), err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		if err := os.WriteFile(o.ConfigPath, []byte("[hospital]\n"), 0o666); err != nil {
			t.Fatal(err)
		}
		// A store left by an earlier run as another user, too open.
		sub := filepath.Join(o.DataDir, "archive")
		if err := os.MkdirAll(sub, 0o777); err != nil {
			t.Fatal(err)
		}
		store := filepath.Join(o.DataDir, "queue.db")
		if err := os.WriteFile(store, nil, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc/passwd", filepath.Join(o.DataDir, "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(o.DataDir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := setupFolders(o, me(), discard()); err != nil {
			t.Fatalf("setupFolders = %v", err)
		}
		wantMode(t, o.ConfigPath, 0o640, me())
		wantMode(t, filepath.Dir(o.ConfigPath), 0o750, me())
		wantMode(t, o.DataDir, 0o750, me())
		wantMode(t, sub, 0o750, me())
		wantMode(t, store, 0o640, me())
		if fi, err := os.Stat("/etc/passwd"); err == nil && fi.Mode().Perm() == 0o640 {
			t.Errorf("setupFolders followed a symlink out of the data folder")
		}
	})
}

func TestSetupFolders_ClosedParent(t *testing.T) {
	root := t.TempDir() // 0700: the service account could not pass
	o := Options{ConfigPath: filepath.Join(root, "etc", "a.toml"), DataDir: filepath.Join(root, "data")}
	nobody := account{uid: 65534, gid: 65534}
	err := setupFolders(o, nobody, discard())
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("setupFolders under a 0700 folder = %v; want 'cannot reach'", err)
	}
	for _, p := range []string{filepath.Dir(o.ConfigPath), o.DataDir} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after the refusal: %v; want nothing made", p, err)
		}
	}
	t.Run("Root", func(t *testing.T) {
		if !isPrivileged() {
			t.Skip("needs root to hand folders to root")
		}
		// A service that runs as root (an init script) passes any folder.
		err := setupFolders(o, account{uid: 0, gid: 0}, discard())
		if err == nil || strings.Contains(err.Error(), "cannot reach") {
			t.Errorf("setupFolders for root under a 0700 folder = %v; want only ErrNoConfig", err)
		}
	})
}

// The configuration folder install makes root:acct 0750 is reachable for the
// account when the data folder sits inside its parent.
func TestReachableFor_GroupFolder(t *testing.T) {
	if !isPrivileged() {
		t.Skip("chgrp to another group needs root")
	}
	base := openTempDir(t)
	shared := filepath.Join(base, "srv")
	if err := os.Mkdir(shared, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(shared, 0, 65534); err != nil {
		t.Fatal(err)
	}
	if err := reachableFor(shared, 65534, ""); err != nil {
		t.Errorf("a 0750 folder of the account's group: %v; want reachable", err)
	}
	if err := reachableFor(shared, 12345, ""); err == nil {
		t.Errorf("a 0750 folder of another group: reachable; want refused")
	}
}

func TestSetupFolders_SharedDir(t *testing.T) {
	for _, o := range []Options{
		{ConfigPath: "/etc/settle-agent.toml", DataDir: t.TempDir()},
		{ConfigPath: filepath.Join(t.TempDir(), "a.toml"), DataDir: "/var/lib"},
	} {
		if err := setupFolders(o, me(), discard()); err == nil {
			t.Errorf("setupFolders(%s, %s) = nil; want a refusal", o.ConfigPath, o.DataDir)
		}
	}
}

func TestCheckReachable(t *testing.T) {
	dir := filepath.Join(openTempDir(t), "private")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "settle-agent")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkReachable(exe, "settle-agent"); err == nil {
		t.Errorf("checkReachable(%s in a 0700 folder) = nil; want an error", exe)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkReachable(exe, "settle-agent"); err != nil {
		t.Errorf("checkReachable(%s) = %v; want nil", exe, err)
	}
}
