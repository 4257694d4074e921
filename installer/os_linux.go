package installer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kardianos/service"
)

// defaultUserName is the dedicated system account the service runs as.
const defaultUserName = "settle-agent"

func defaultPlaces() Places {
	return Places{
		ConfigDir:  "/etc/settle-agent",
		ConfigFile: "/etc/settle-agent/settle-agent.toml",
		DataDir:    "/var/lib/settle-agent",
	}
}

func isPrivileged() bool { return os.Geteuid() == 0 }

func privilegeHint(cmdline string) string {
	return "run as root: sudo " + cmdline
}

func logHint(name string) string {
	return "see why with: journalctl -u " + name + " -n 50 (or systemctl status " + name + ")"
}

// platformConfig hands kardianos our own systemd unit (see SystemdUnit).
func platformConfig(c *service.Config, o Options) error {
	c.Option["Restart"] = "on-failure"
	if service.ChosenSystem() == nil || service.ChosenSystem().String() != "linux-systemd" {
		return nil
	}
	unit, err := (&Service{o: o}).SystemdUnit()
	if err != nil {
		return err
	}
	c.Option["SystemdScript"] = unit
	return nil
}

// isInstalled looks for the unit file or init script kardianos writes.
func isInstalled(name, platform string) (known, installed bool) {
	p := unitFile(name, platform)
	if p == "" {
		return false, false
	}
	_, err := os.Stat(p)
	return true, err == nil
}

// runWaitHonoured: kardianos's Run calls RunWait on every system but Windows.
func runWaitHonoured() bool { return true }

// runnerExited: under systemd the RunWait hook returns when the runner ends,
// and RunContext returns its error; nothing to do here.
func runnerExited(error) {}

// platformWarning says what is lost when the init system is not systemd.
func platformWarning(platform string) string {
	if platform == "linux-systemd" {
		return ""
	}
	return "no systemd here (" + platform + "): the service is installed as an init script, which runs the agent as root, without the unit's hardening and without restart on failure; systemd is the supported init"
}

// afterInstall: nothing more to set here.
func afterInstall(Options) error { return nil }

// unitFile is where kardianos writes the unit file or init script of name.
func unitFile(name, platform string) string {
	switch platform {
	case "linux-systemd":
		return filepath.Join("/etc/systemd/system", name+".service")
	case "unix-systemv":
		return filepath.Join("/etc/init.d", name)
	}
	return ""
}

// rcLinks are the /etc/rc?.d links of an init script that exist now.
func rcLinks(name string) []string {
	var out []string
	for _, rl := range []string{"0", "1", "2", "3", "4", "5", "6", "S"} {
		matches, _ := filepath.Glob(filepath.Join("/etc", "rc"+rl+".d", "[SK][0-9][0-9]"+name))
		for _, m := range matches {
			if target, err := os.Readlink(m); err == nil && filepath.Base(target) == name {
				out = append(out, m)
			}
		}
	}
	return out
}

// readInstallation reads back what install wrote for name.
func readInstallation(name, platform string) (Installation, bool) {
	inst := Installation{Name: name, Platform: platform}
	p := unitFile(name, platform)
	if p == "" {
		return inst, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return inst, false
	}
	parseRecord(b, &inst)
	inst.Files = append([]string{p}, rcLinks(name)...)
	if platform == "unix-systemv" && inst.UserName == "" {
		inst.UserName = "root" // an init script runs its command as root
	}
	return inst, true
}

// serviceUser is the account the service will really run as: the one asked for
// under systemd; root under any other init, whose scripts run their command as
// root (and cannot be told otherwise here).
func serviceUser(platform, name string, explicit bool) (string, error) {
	if platform == "linux-systemd" {
		return name, nil
	}
	if explicit && name != "root" {
		return "", fmt.Errorf("%s runs services as root, so the service cannot run as %q here: install systemd (the supported init), or leave out --user and accept that it runs as root", platform, name)
	}
	return "root", nil
}

// recordInstall writes the marker lines into an init script (the systemd unit
// carries them already).
func recordInstall(o Options, platform string) error {
	if platform != "unix-systemv" {
		return nil
	}
	f, err := os.OpenFile(unitFile(o.Name, platform), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("record the installation: %w", err)
	}
	_, werr := f.WriteString("\n" + recordLines(o))
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("record the installation: %w", err)
	}
	return nil
}

// removeLeftovers removes what the service manager's own uninstall leaves:
// kardianos removes an init script but not its /etc/rc?.d links.
func removeLeftovers(inst Installation) error {
	var errs []error
	for _, f := range inst.Files {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove %w", errors.Join(errs...))
	}
	return nil
}

// serviceLogFile is the file the service manager writes the agent's output to:
// none under systemd (the journal), the init script's .err file otherwise.
func serviceLogFile(name, platform string) string {
	if platform == "linux-systemd" {
		return ""
	}
	return filepath.Join("/var/log", name+".err")
}

// journalTail is the journal's last n lines of the unit since t.
func journalTail(name string, since time.Time, n int) (string, string) {
	out, err := exec.Command("journalctl", "-u", name, "--since", "@"+strconv.FormatInt(since.Unix(), 10),
		"-n", strconv.Itoa(n), "--no-pager", "-o", "cat").CombinedOutput()
	if err != nil {
		return "", "journalctl -u " + name
	}
	return string(out), "journalctl -u " + name
}
