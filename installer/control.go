package installer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/kardianos/service"
)

// Control installs, uninstalls, starts, stops or restarts the system service.
// Every action needs root (Linux) or Administrator (Windows); without it Control
// returns an error wrapping ErrNotPrivileged that says how to run it instead.
// An action that refuses changes nothing.
//
// install first checks that the configuration file exists (else ErrNoConfig,
// before anything is created), then creates the service account (Linux,
// systemd) and the folders, tightens the configuration file's permissions and
// registers the service to start at boot (it does not start it). Under an init
// other than systemd the service runs as root, and install says so.
// uninstall is Uninstall. start and restart wait for the agent to come up
// (Options.Ready) and return an error wrapping ErrStartFailed, with the log's
// last lines, when it does not.
func (s *Service) Control(ctx context.Context, action string) error {
	switch action {
	case ActionInstall, ActionUninstall, ActionStart, ActionStop, ActionRestart:
	default:
		return fmt.Errorf("%w %q: use install, uninstall, start, stop or restart", ErrUnknownAction, action)
	}
	if action == ActionUninstall {
		_, err := s.Uninstall(ctx)
		return err
	}
	svc, log, err := s.controlled(action)
	if err != nil {
		return err
	}
	mark := s.markLog(svc.Platform())
	switch action {
	case ActionInstall:
		return s.install(svc, log)
	case ActionStart:
		err = svc.Start()
	case ActionStop:
		err = svc.Stop()
	case ActionRestart:
		err = svc.Restart()
	}
	if err != nil && (action == ActionStart || action == ActionRestart) {
		// The service manager itself saw the agent die (an init script checks
		// right after it started it): that is a failed start, with its reason.
		return fmt.Errorf("%s the service: %w: the service manager says %v; %s", action, ErrStartFailed, err, s.logTail(mark))
	}
	if err != nil {
		return fmt.Errorf("%s the service: %w; %s", action, err, logHint(s.o.Name))
	}
	if action == ActionStart || action == ActionRestart {
		if err := s.waitStarted(ctx, svc, mark); err != nil {
			return fmt.Errorf("%s the service: %w", action, err)
		}
	}
	log.Info("service " + action + " done")
	return nil
}

// controlled checks the privilege, the configuration (install) and whether the
// service is installed as action needs, and returns the kardianos service.
func (s *Service) controlled(action string) (service.Service, *slog.Logger, error) {
	if !s.o.privileged() {
		return nil, nil, fmt.Errorf("%s the service: %w: %s", action, ErrNotPrivileged, privilegeHint(s.commandLine(action)))
	}
	if action == ActionInstall {
		if err := s.checkConfig(); err != nil {
			return nil, nil, fmt.Errorf("install the service: %w", err)
		}
	}
	svc, err := s.kardianos(nopProgram{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s the service: %w", action, err)
	}
	installed, err := s.installed(svc)
	if err != nil {
		return nil, nil, fmt.Errorf("%s the service: %w", action, err)
	}
	log := s.o.Logger.With("service", s.o.Name, "action", action, "platform", svc.Platform())
	switch {
	case action == ActionInstall && installed:
		return nil, nil, fmt.Errorf("install the service: %w: %q is already installed; to upgrade only the binary run 'settle-agent stop', replace it, then 'settle-agent start'; to change the account or paths run 'settle-agent uninstall' first", ErrAlreadyInstalled, s.o.Name)
	case action != ActionInstall && !installed:
		return nil, nil, fmt.Errorf("%s the service: %w: install it first with '%s'", action, ErrNotInstalled, s.commandLine(ActionInstall))
	}
	return svc, log, nil
}

// checkConfig refuses an install whose configuration file is not there yet.
func (s *Service) checkConfig() error {
	fi, err := os.Stat(s.o.ConfigPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s does not exist; nothing was installed: write one with 'settle-agent config example > %s', edit it, check it with 'settle-agent config check %s', then run install again",
			ErrNoConfig, s.o.ConfigPath, quoteArg(s.o.ConfigPath), quoteArg(s.o.ConfigPath))
	case err != nil:
		return fmt.Errorf("%w: %v; nothing was installed", ErrNoConfig, err)
	case fi.IsDir():
		return fmt.Errorf("%w: %s is a folder; give the configuration file with --config FILE", ErrNoConfig, s.o.ConfigPath)
	}
	return nil
}

func (s *Service) install(svc service.Service, log *slog.Logger) error {
	user, err := serviceUser(svc.Platform(), s.o.UserName, s.userSet)
	if err != nil {
		return fmt.Errorf("install the service: %w", err)
	}
	if user != s.o.UserName {
		s.o.UserName = user
		if svc, err = s.kardianos(nopProgram{}); err != nil {
			return fmt.Errorf("install the service: %w", err)
		}
	}
	if w := platformWarning(svc.Platform()); w != "" {
		log.Warn(w)
	}
	if err := prepareInstall(s.o, s.o.Logger); err != nil {
		return fmt.Errorf("install the service: %w", err)
	}
	if err := svc.Install(); err != nil {
		if strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("install the service: %w: %v; run 'settle-agent uninstall' first", ErrAlreadyInstalled, err)
		}
		return fmt.Errorf("install the service: %w", err)
	}
	if err := recordInstall(s.o, svc.Platform()); err != nil {
		log.Warn("service installed, but uninstall will not find its paths", "err", err)
	}
	if err := afterInstall(s.o); err != nil {
		log.Warn("service installed, but not all its settings took", "err", err)
	}
	log.Info("service installed; start it with 'settle-agent start'",
		"exe", s.o.Executable, "config", s.o.ConfigPath, "data_dir", s.o.DataDir, "user", s.o.UserName)
	return nil
}

// Uninstall stops the service when it runs and removes it: the unit file or
// init script with its /etc/rc?.d links, or the Windows service. It keeps the
// configuration, the data folder and the account, and returns what it removed
// and kept as the installation recorded them (not the defaults).
func (s *Service) Uninstall(ctx context.Context) (Installation, error) {
	svc, log, err := s.controlled(ActionUninstall)
	if err != nil {
		return Installation{}, err
	}
	inst := s.installation(svc.Platform())
	if st, _ := svc.Status(); st == service.StatusRunning {
		if err := svc.Stop(); err != nil {
			return inst, fmt.Errorf("uninstall the service: stop it first: %w", err)
		}
	}
	if err := svc.Uninstall(); err != nil {
		return inst, fmt.Errorf("uninstall the service: %w", err)
	}
	if err := removeLeftovers(inst); err != nil {
		return inst, fmt.Errorf("uninstall the service: removed it, but not all its files: %w", err)
	}
	log.Info("service uninstalled; configuration and data kept", "removed", strings.Join(inst.Files, " "),
		"config", inst.ConfigPath, "data_dir", inst.DataDir)
	return inst, nil
}

// Installation reads back what install put on this machine (ok false when the
// service is not installed). It needs no privilege.
func (s *Service) Installation() (inst Installation, ok bool, err error) {
	svc, err := s.kardianos(nopProgram{})
	if err != nil {
		return Installation{}, false, fmt.Errorf("read the installation: %w", err)
	}
	installed, err := s.installed(svc)
	if err != nil || !installed {
		return Installation{Name: s.o.Name, Platform: svc.Platform()}, false, err
	}
	return s.installation(svc.Platform()), true, nil
}

// installation is the recorded installation. Only when there is no record at
// all do these options stand in for it; a record without a data folder (a
// Windows service records only its command line and account) leaves DataDir
// empty rather than name a folder that may not be the one in use.
func (s *Service) installation(platform string) Installation {
	inst, ok := readInstallation(s.o.Name, platform)
	inst.Name, inst.Platform = s.o.Name, platform
	if ok {
		return inst
	}
	for _, f := range []struct {
		to   *string
		from string
	}{
		{&inst.Executable, s.o.Executable}, {&inst.ConfigPath, s.o.ConfigPath}, {&inst.DataDir, s.o.DataDir}, {&inst.UserName, s.o.UserName},
	} {
		if *f.to == "" {
			*f.to = f.from
		}
	}
	return inst
}

// Status reports "running", "stopped" or "not installed". A unit systemd has given
// up on ("failed") reports "stopped". Status needs no privilege.
func (s *Service) Status() (string, error) {
	svc, err := s.kardianos(nopProgram{})
	if err != nil {
		return "", fmt.Errorf("service status: %w", err)
	}
	installed, err := s.installed(svc)
	if err != nil {
		return "", fmt.Errorf("service status: %w", err)
	}
	if !installed {
		return StatusNotInstalled, nil
	}
	return statusOf(svc)
}

// statusOf is the status of an installed service in Status's words.
func statusOf(svc service.Service) (string, error) {
	st, err := svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return StatusNotInstalled, nil
	case err != nil && (strings.Contains(err.Error(), "failed state") || strings.Contains(err.Error(), "exit status")):
		// systemd gave up on it, or an init script answered "not running" with a non-zero status.
		return StatusStopped, nil
	case err != nil:
		return "", fmt.Errorf("service status: %w", err)
	case st == service.StatusRunning:
		return StatusRunning, nil
	}
	return StatusStopped, nil
}

// installed asks the OS first (the unit file or the SCM entry), then kardianos.
func (s *Service) installed(svc service.Service) (bool, error) {
	if known, ok := isInstalled(s.o.Name, svc.Platform()); known {
		return ok, nil
	}
	_, err := svc.Status()
	switch {
	case errors.Is(err, service.ErrNotInstalled):
		return false, nil
	case err != nil && !strings.Contains(err.Error(), "failed state"):
		return false, err
	}
	return true, nil
}

// commandLine is the command a person would type to do action with these options.
func (s *Service) commandLine(action string) string {
	c := "settle-agent " + action
	if action == ActionInstall {
		c += " --config " + quoteArg(s.o.ConfigPath)
		if s.o.UserName != defaultUserName {
			c += " --user " + quoteArg(s.o.UserName)
		}
	}
	return c
}

func quoteArg(a string) string {
	if strings.ContainsAny(a, " \t\"'") {
		return `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
	}
	return a
}

// nopProgram is the kardianos Interface for controlling (not running) the service.
type nopProgram struct{}

func (nopProgram) Start(service.Service) error { return nil }
func (nopProgram) Stop(service.Service) error  { return nil }
