package installer

import (
	"os"
	"path/filepath"

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
	var p string
	switch platform {
	case "linux-systemd":
		p = filepath.Join("/etc/systemd/system", name+".service")
	case "unix-systemv":
		p = filepath.Join("/etc/init.d", name)
	default:
		return false, false
	}
	_, err := os.Stat(p)
	return true, err == nil
}

// runnerExited: under systemd the RunWait hook returns when the runner ends,
// and RunContext returns its error; nothing to do here.
func runnerExited(error) {}

// platformWarning says what is lost when the init system is not systemd.
func platformWarning(platform string) string {
	if platform == "linux-systemd" {
		return ""
	}
	return "no systemd here (" + platform + "): the service is installed as an init script that runs as root, without the unit's hardening and restart on failure; systemd is the supported init"
}

// afterInstall: nothing more to set here.
func afterInstall(Options) error { return nil }
