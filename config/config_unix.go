//go:build !windows

package config

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DefaultPath is where the configuration file lives when --config is not given.
func DefaultPath() string { return "/etc/settle-agent/settle-agent.toml" }

// DefaultDataDir is the default store folder.
func DefaultDataDir() string { return "/var/lib/settle-agent" }

// DefaultReaderPort is the usual serial device of a USB card reader.
func DefaultReaderPort() string { return "/dev/ttyUSB0" }

// PermissionWarnings lists the configuration file and the secret files it names
// ("file:PATH") that group or others may read or write, each with the command that
// fixes it. It never fails: a file it cannot read or parse yields no warning here
// (Load reports that).
//
// A file in this program's source tree (examples/dryrun/settle-agent.toml) gets no
// warning: git keeps no file modes but 0644 and 0755, so every fresh clone would warn,
// and such a file holds the kit's well-known tokens, never a hospital's secrets.
func PermissionWarnings(path string) []string {
	if inSourceTree(path) {
		return nil
	}
	var out []string
	check := func(p, what string) {
		fi, err := os.Stat(p)
		if err != nil {
			return
		}
		m := fi.Mode().Perm()
		if m&0o077 == 0o040 && (serviceGroup(fi) || rootGroup(fi)) {
			// root:settle-agent 0640, as `settle-agent install` sets it up; or
			// root:root 0640, as it does for a service that runs as root.
			return
		}
		if w := modeWarning(m); w != "" {
			out = append(out, fmt.Sprintf("%s %s is %s (mode %04o); run: chmod 600 %s (or chown root:%s and chmod 640 for the service account)", what, p, w, m, p, ServiceGroup))
		}
	}
	check(path, "configuration file")
	for _, f := range secretFiles(path) {
		check(f.path, "secret file for "+f.field)
	}
	return out
}

// ServiceGroup is the group of the service account that `settle-agent install` creates;
// configuration and secret files readable by it alone are as they should be.
const ServiceGroup = "settle-agent"

// serviceGroup reports whether the file's group is the service account's.
func serviceGroup(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	g, err := user.LookupGroupId(strconv.FormatUint(uint64(st.Gid), 10))
	return err == nil && g.Name == ServiceGroup
}

// rootGroup reports whether the file's group is root's (gid 0).
func rootGroup(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Gid == 0
}

func modeWarning(m fs.FileMode) string {
	switch {
	case m&0o022 != 0:
		return "writable by group/others"
	case m&0o044 != 0:
		return "readable by group/others"
	}
	return ""
}

// sourceModule is the first line of this program's go.mod.
const sourceModule = "module github.com/settle-agent/settle-agent"

// inSourceTree reports whether path lies in a checkout of this program's source: a
// folder above it holds its go.mod.
func inSourceTree(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			return strings.TrimSpace(first) == sourceModule
		}
		if filepath.Dir(dir) == dir {
			return false
		}
	}
}
