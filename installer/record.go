package installer

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// Installation is what `settle-agent install` put on this machine, as read back
// from the service manager's own files: uninstall names and removes exactly that,
// not the defaults of the binary that happens to run it.
type Installation struct {
	// Name is the service name.
	Name string
	// Platform is the service manager: linux-systemd, unix-systemv, windows-service, ...
	Platform string
	// Files are what uninstall removes: the unit file or init script and, for an
	// init script, its /etc/rc?.d links.
	Files []string
	// Executable, ConfigPath, DataDir and UserName are what the service runs,
	// with, and as. Uninstall keeps ConfigPath and DataDir.
	Executable, ConfigPath, DataDir, UserName string
}

// Marker lines install writes into the unit file or init script, so that
// uninstall and status read back what was installed.
const (
	markExecutable = "# settle-agent program: "
	markConfig     = "# settle-agent configuration: "
	markDataDir    = "# settle-agent data folder: "
	markUser       = "# settle-agent runs as: "
)

// recordLines are the marker lines describing o, for a unit file or init script.
func recordLines(o Options) string {
	return markExecutable + o.Executable + "\n" + markConfig + o.ConfigPath + "\n" +
		markDataDir + o.DataDir + "\n" + markUser + o.UserName + "\n"
}

// parseRecord reads the marker lines (and, for units written before them, the
// ExecStart=, WorkingDirectory= and User= lines of a systemd unit, or the cmd=
// line of an init script) out of an installed file.
func parseRecord(b []byte, inst *Installation) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		for _, m := range []struct {
			prefix string
			to     *string
		}{{markExecutable, &inst.Executable}, {markConfig, &inst.ConfigPath}, {markDataDir, &inst.DataDir}, {markUser, &inst.UserName}} {
			if v, ok := strings.CutPrefix(line, m.prefix); ok {
				*m.to = v
			}
		}
		switch {
		case strings.HasPrefix(line, "ExecStart=") && inst.ConfigPath == "":
			inst.Executable, inst.ConfigPath = commandParts(strings.TrimPrefix(line, "ExecStart="))
		case strings.HasPrefix(line, `cmd="`) && inst.ConfigPath == "":
			inst.Executable, inst.ConfigPath = commandParts(strings.TrimSuffix(strings.TrimPrefix(line, `cmd="`), `"`))
		case strings.HasPrefix(line, "WorkingDirectory=") && inst.DataDir == "":
			inst.DataDir = strings.TrimPrefix(line, "WorkingDirectory=")
		case strings.HasPrefix(line, "User=") && inst.UserName == "":
			inst.UserName = strings.TrimPrefix(line, "User=")
		}
	}
}

// commandParts takes "<exe> run --config <file>" apart; double quotes group a
// path with spaces (a Windows service's command line).
func commandParts(cmd string) (exe, config string) {
	f := splitCommand(cmd)
	if len(f) == 0 {
		return "", ""
	}
	exe = f[0]
	for i := 1; i+1 < len(f); i++ {
		if f[i] == "--config" || f[i] == "-config" {
			config = f[i+1]
		}
	}
	return exe, config
}

// splitCommand splits a command line at blanks outside double quotes.
func splitCommand(cmd string) []string {
	var out []string
	var cur strings.Builder
	quoted, have := false, false
	for _, r := range cmd {
		switch {
		case r == '"':
			quoted, have = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// kept says what uninstall leaves, for its report.
func (inst Installation) kept() string {
	var parts []string
	if inst.ConfigPath != "" {
		parts = append(parts, "the configuration "+inst.ConfigPath)
	}
	if inst.DataDir != "" {
		parts = append(parts, "the data folder "+inst.DataDir+" (it holds the bills; back it up before removing it)")
	}
	s := strings.Join(parts, " and ")
	if inst.UserName != "" && inst.UserName != "root" && !strings.Contains(inst.UserName, `\`) {
		s += fmt.Sprintf("; the account %s is kept too (remove it with 'userdel %s' once the data folder is gone)", inst.UserName, inst.UserName)
	}
	return s
}

// Report is the sentence uninstall prints: what it removed and what it kept.
func (inst Installation) Report() string {
	removed := "service " + inst.Name
	if len(inst.Files) > 0 {
		removed += " (" + strings.Join(inst.Files, ", ") + ")"
	}
	return "removed " + removed + "; kept " + inst.kept()
}
