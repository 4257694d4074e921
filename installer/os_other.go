//go:build !linux && !windows

package installer

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kardianos/service"
)

// defaultUserName on other systems: the account must exist already.
const defaultUserName = "settle-agent"

func defaultPlaces() Places {
	return Places{
		ConfigDir:  "/usr/local/etc/settle-agent",
		ConfigFile: "/usr/local/etc/settle-agent/settle-agent.toml",
		DataDir:    "/var/db/settle-agent",
	}
}

func isPrivileged() bool { return os.Geteuid() == 0 }

func privilegeHint(cmdline string) string { return "run as root: sudo " + cmdline }

func logHint(name string) string { return "see the system log for " + name }

func platformConfig(c *service.Config, o Options) error { return nil }

func isInstalled(name, platform string) (known, installed bool) { return false, false }

func runnerExited(error) {}

// runWaitHonoured: kardianos's Run calls RunWait on every system but Windows.
func runWaitHonoured() bool { return true }

// prepareInstall only creates the folders; this OS is not supported for
// production, and the account and permissions are left to the administrator.
func prepareInstall(o Options, log *slog.Logger) error {
	for _, d := range []string{filepath.Dir(o.ConfigPath), o.DataDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("create folder %s: %w", d, err)
		}
	}
	return nil
}

func platformWarning(platform string) string {
	return "settle-agent is supported on Linux (systemd) and Windows; installing for " + platform + " as is"
}

// afterInstall: nothing more to set here.
func afterInstall(Options) error { return nil }

func unitFile(name, platform string) string { return "" }

func readInstallation(name, platform string) (Installation, bool) {
	return Installation{Name: name, Platform: platform}, false
}

func serviceUser(platform, name string, explicit bool) (string, error) { return name, nil }

func recordInstall(o Options, platform string) error { return nil }

func removeLeftovers(Installation) error { return nil }

func serviceLogFile(name, platform string) string { return "" }

func journalTail(name string, since time.Time, n int) (string, string) { return "", "the system log" }
