package installer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

// defaultUserName is the built-in least-privilege account the service runs as:
// it may write only where install grants it, and it reaches the network
// anonymously, which the platform's HTTPS link does not mind.
const defaultUserName = `NT AUTHORITY\LocalService`

func defaultPlaces() Places {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	base = filepath.Join(base, "SettleAgent")
	return Places{
		ConfigDir:  base,
		ConfigFile: filepath.Join(base, "settle-agent.toml"),
		DataDir:    filepath.Join(base, "data"),
		LogDir:     filepath.Join(base, "logs"),
	}
}

func isPrivileged() bool { return windows.GetCurrentProcessToken().IsElevated() }

func privilegeHint(cmdline string) string {
	return "run it from a command prompt opened with 'Run as administrator': " + cmdline
}

func logHint(name string) string {
	return "see why in the Event Viewer (Windows Logs > Application, source " + name + ") and in " + defaultPlaces().LogDir
}

// platformConfig: restart 5 s after a crash, start at boot once TCP/IP is up.
func platformConfig(c *service.Config, o Options) error {
	c.Option["OnFailure"] = "restart"
	c.Option["OnFailureDelayDuration"] = "5s"
	c.Option["OnFailureResetPeriod"] = 86400
	c.Option["StartType"] = "automatic"
	c.Dependencies = []string{"Tcpip"}
	return nil
}

// isInstalled asks the service control manager.
func isInstalled(name, platform string) (known, installed bool) {
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return false, false
	}
	m := &mgr.Mgr{Handle: h}
	defer m.Disconnect()
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return false, false
	}
	sh, err := windows.OpenService(h, p, windows.SERVICE_QUERY_STATUS)
	if err == nil {
		windows.CloseServiceHandle(sh)
		return true, true
	}
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return true, false
	}
	return false, false
}

// runWaitHonoured reports whether kardianos's Run calls the RunWait hook: on
// Windows only in a process the service control manager started.
func runWaitHonoured() bool { return !service.Interactive() }

// runnerExited: the service control manager owns the main loop, so a runner
// that ended on its own ends the process with status 1, which the SCM treats as
// a crash and answers with the recovery action (restart after 5 s).
func runnerExited(err error) {
	if err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

func platformWarning(string) string { return "" }

// afterInstall makes the recovery action apply also when the service stops
// with an error exit code (the agent could not start, or failed and stopped),
// not only when the process crashes, as Restart=on-failure does under systemd.
func afterInstall(o Options) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("set recovery on failure: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(o.Name)
	if err != nil {
		return fmt.Errorf("set recovery on failure: %w", err)
	}
	defer s.Close()
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set recovery on failure: %w", err)
	}
	return nil
}

func unitFile(name, platform string) string { return "" }

// readInstallation reads the service's command line and account from the
// service control manager.
func readInstallation(name, platform string) (Installation, bool) {
	inst := Installation{Name: name, Platform: platform}
	m, err := mgr.Connect()
	if err != nil {
		return inst, false
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return inst, false
	}
	defer s.Close()
	c, err := s.Config()
	if err != nil {
		return inst, false
	}
	inst.Executable, inst.ConfigPath = commandParts(c.BinaryPathName)
	inst.UserName = c.ServiceStartName
	return inst, true
}

func serviceUser(platform, name string, explicit bool) (string, error) { return name, nil }

func recordInstall(o Options, platform string) error { return nil }

func removeLeftovers(Installation) error { return nil }

// serviceLogFile: the service's log file (the Event Log has only warnings and errors).
func serviceLogFile(name, platform string) string { return DefaultPlaces().LogFile }

func journalTail(name string, since time.Time, n int) (string, string) { return "", "" }
