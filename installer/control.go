package installer

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/kardianos/service"
)

// Control installs, uninstalls, starts, stops or restarts the system service.
// Every action needs root (Linux) or Administrator (Windows); without it Control
// returns an error wrapping ErrNotPrivileged that says how to run it instead.
//
// install creates the service account (Linux) and the folders, tightens the
// configuration file's permissions and registers the service to start at boot
// (it does not start it). uninstall stops and removes the service but keeps the
// configuration and the data folder.
func (s *Service) Control(action string) error {
	switch action {
	case ActionInstall, ActionUninstall, ActionStart, ActionStop, ActionRestart:
	default:
		return fmt.Errorf("%w %q: use install, uninstall, start, stop or restart", ErrUnknownAction, action)
	}
	if !s.o.privileged() {
		return fmt.Errorf("%s the service: %w: %s", action, ErrNotPrivileged, privilegeHint(s.commandLine(action)))
	}
	svc, err := s.kardianos(nopProgram{})
	if err != nil {
		return fmt.Errorf("%s the service: %w", action, err)
	}
	installed, err := s.installed(svc)
	if err != nil {
		return fmt.Errorf("%s the service: %w", action, err)
	}
	log := s.o.Logger.With("service", s.o.Name, "action", action, "platform", svc.Platform())
	if action == ActionInstall {
		if installed {
			return fmt.Errorf("install the service: %w: %q is already installed; to upgrade only the binary run 'settle-agent stop', replace it, then 'settle-agent start'; to change the account or paths run 'settle-agent uninstall' first", ErrAlreadyInstalled, s.o.Name)
		}
		return s.install(svc, log)
	}
	if !installed {
		return fmt.Errorf("%s the service: %w: install it first with '%s'", action, ErrNotInstalled, s.commandLine(ActionInstall))
	}
	switch action {
	case ActionUninstall:
		if st, _ := svc.Status(); st == service.StatusRunning {
			if err := svc.Stop(); err != nil {
				return fmt.Errorf("uninstall the service: stop it first: %w", err)
			}
		}
		if err := svc.Uninstall(); err != nil {
			return fmt.Errorf("uninstall the service: %w", err)
		}
		log.Info("service uninstalled; configuration and data kept", "config", s.o.ConfigPath, "data_dir", s.o.DataDir)
		return nil
	case ActionStart:
		err = svc.Start()
	case ActionStop:
		err = svc.Stop()
	case ActionRestart:
		err = svc.Restart()
	}
	if err != nil {
		return fmt.Errorf("%s the service: %w; %s", action, err, logHint(s.o.Name))
	}
	log.Info("service " + action + " done")
	return nil
}

func (s *Service) install(svc service.Service, log *slog.Logger) error {
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
	if err := afterInstall(s.o); err != nil {
		log.Warn("service installed, but not all its settings took", "err", err)
	}
	log.Info("service installed; start it with 'settle-agent start'",
		"exe", s.o.Executable, "config", s.o.ConfigPath, "data_dir", s.o.DataDir, "user", s.o.UserName)
	return nil
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
