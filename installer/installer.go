// Package installer runs settle-agent as a system service: it installs, removes,
// starts, stops and queries the Windows service, systemd unit or (unsupported
// for production) SysV init script through github.com/kardianos/service,
// creates the default folders with tight permissions, runs the agent under the
// service manager or in the foreground with a bounded stop, builds the process
// logger (rotation, journald, Event Log, PII masking) and carries the build's
// version. It tells the truth and changes nothing when it refuses: install checks
// the configuration file first and reports the account that really runs the
// service; start waits for the agent (Options.Ready) and shows the log's last
// lines when it does not come up; uninstall removes what install recorded.
// It knows nothing of the agent's packages: what it needs of the configuration
// comes in through Options.
//
// OS specifics live in the _linux.go, _windows.go and _other.go files.
package installer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kardianos/service"
)

// Errors callers decide on with errors.Is. Each is wrapped with a sentence that
// says what to do next.
var (
	// ErrNotPrivileged: the action needs root (Linux) or Administrator (Windows).
	ErrNotPrivileged = errors.New("not privileged")

	// ErrNotInstalled: the service is not installed on this machine.
	ErrNotInstalled = errors.New("service not installed")

	// ErrAlreadyInstalled: install found the service already there.
	ErrAlreadyInstalled = errors.New("service already installed")

	// ErrUnknownAction: Control was given something other than
	// install|uninstall|start|stop|restart.
	ErrUnknownAction = errors.New("unknown service action")

	// ErrStopTimeout: the runner did not return within Options.StopTimeout after
	// it was told to stop.
	ErrStopTimeout = errors.New("agent did not stop in time")

	// ErrNoConfig: install found no configuration file at Options.ConfigPath.
	// Install checks this before it creates anything.
	ErrNoConfig = errors.New("configuration file missing")

	// ErrStartFailed: start or restart asked the service manager to start the
	// service, but the agent did not come up (it stopped, or did not answer
	// Options.Ready within StartTimeout). The error carries the log's last lines.
	ErrStartFailed = errors.New("agent did not start")
)

// Runner is the program a service runs: Run blocks until ctx is cancelled or it
// fails; it must return within the stop timeout after ctx is cancelled (the agent
// stops taking bills, parks in-flight calls, signs out, closes the store).
type Runner interface {
	Run(ctx context.Context) error
}

// Defaults used when an Options field is zero.
const (
	DefaultName        = "settle-agent"
	DefaultDisplayName = "Settle Agent (medical-insurance settlement)"
	DefaultDescription = "Hospital-side medical-insurance settlement agent: reads cards, settles HIS bills " +
		"with the provincial platform, queues them durably while offline."
	DefaultStopTimeout = 20 * time.Second
)

// Actions accepted by Service.Control.
const (
	ActionInstall   = "install"
	ActionUninstall = "uninstall"
	ActionStart     = "start"
	ActionStop      = "stop"
	ActionRestart   = "restart"
)

// Status strings returned by Service.Status.
const (
	StatusRunning      = "running"
	StatusStopped      = "stopped"
	StatusNotInstalled = "not installed"
)

// Options configure a Service. The zero value means defaults for this OS.
type Options struct {
	// Name is the service (and systemd unit) name; default "settle-agent".
	Name string
	// DisplayName is shown in the Windows service list; default DefaultDisplayName.
	DisplayName string
	// Description is the one-paragraph description; default DefaultDescription.
	Description string
	// ConfigPath is the configuration file the installed service runs with;
	// default DefaultPlaces().ConfigFile. Made absolute.
	ConfigPath string
	// DataDir is the folder the agent's store lives in; install creates it owned
	// by the service account (mode 0750) and the unit may write only there.
	// Default DefaultPlaces().DataDir. It should match the config's [store] dir.
	DataDir string
	// Executable is the binary the service runs; default os.Executable().
	Executable string
	// UserName is the account the service runs as. Linux: default "settle-agent",
	// a system account created at install when missing. Windows: default
	// `NT AUTHORITY\LocalService` (least privilege, anonymous on the network).
	UserName string
	// StopTimeout bounds how long a stop waits for the runner; default 20s.
	StopTimeout time.Duration
	// SerialPorts are the serial devices the configuration names (card readers,
	// scanners). On Linux install adds the service account to the groups that
	// own them (dialout, uucp, ... when a device is not plugged in yet); with
	// none, the account joins no group.
	SerialPorts []string
	// Ready reports whether the started agent is up (nil) or why not, e.g. its
	// GET /healthz. Start and restart wait for it up to StartTimeout; nil means
	// they only check that the service did not stop at once.
	Ready func(ctx context.Context) error
	// StartTimeout bounds the wait for Ready; default DefaultStartTimeout.
	StartTimeout time.Duration
	// LogFile is the agent's log file ([log] file), whose last lines a failed
	// start shows; empty means the service manager's log (journal, init
	// script log, or the Windows log folder).
	LogFile string
	// Logger receives one line per event; nil means discard.
	Logger *slog.Logger

	// privileged reports whether this process may install services; nil means
	// the OS check. Tests replace it.
	privileged func() bool
	// interactive overrides kardianos's Interactive() in RunContext; tests only.
	interactive func() bool
}

// Service installs, controls and runs the settle-agent system service.
type Service struct {
	o Options
	// userSet: the caller chose the account (--user), rather than the default.
	userSet bool
}

// New fills in defaults and checks o; it touches nothing on the machine.
func New(o Options) (*Service, error) {
	p := DefaultPlaces()
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.DisplayName == "" {
		o.DisplayName = DefaultDisplayName
	}
	if o.Description == "" {
		o.Description = DefaultDescription
	}
	if o.ConfigPath == "" {
		o.ConfigPath = p.ConfigFile
	}
	if o.DataDir == "" {
		o.DataDir = p.DataDir
	}
	userSet := o.UserName != ""
	if !userSet {
		o.UserName = defaultUserName
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.privileged == nil {
		o.privileged = isPrivileged
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this program's path: %w; pass the executable path explicitly", err)
		}
		o.Executable = exe
	}
	var err error
	for _, f := range []*string{&o.ConfigPath, &o.DataDir, &o.Executable} {
		if *f, err = filepath.Abs(*f); err != nil {
			return nil, fmt.Errorf("make %q absolute: %w", *f, err)
		}
	}
	if err := checkName(o.Name); err != nil {
		return nil, err
	}
	return &Service{o: o, userSet: userSet}, nil
}

// Options returns the options with defaults filled in.
func (s *Service) Options() Options { return s.o }

// checkName refuses names that would not survive a unit file, a path or the SCM.
func checkName(n string) error {
	for _, r := range n {
		ok := r == '-' || r == '_' || r == '.' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
		if !ok {
			return fmt.Errorf("service name %q: only letters, digits, '-', '_' and '.' are allowed", n)
		}
	}
	return nil
}

// config is the kardianos configuration of this service; the installed command
// line is `<exe> run --config <ConfigPath>`.
func (s *Service) config() (*service.Config, error) {
	c := &service.Config{
		Name:        s.o.Name,
		DisplayName: s.o.DisplayName,
		Description: s.o.Description,
		UserName:    s.o.UserName,
		Executable:  s.o.Executable,
		Arguments:   []string{"run", "--config", s.o.ConfigPath},
		Option:      service.KeyValue{},
	}
	if err := platformConfig(c, s.o); err != nil {
		return nil, err
	}
	return c, nil
}

// kardianos builds the kardianos service around program i.
func (s *Service) kardianos(i service.Interface) (service.Service, error) {
	c, err := s.config()
	if err != nil {
		return nil, err
	}
	return s.kardianosWith(i, c)
}

func (s *Service) kardianosWith(i service.Interface, c *service.Config) (service.Service, error) {
	svc, err := service.New(i, c)
	if err != nil {
		return nil, fmt.Errorf("%w (this OS has no service manager settle-agent knows; run 'settle-agent run' under your own supervisor)", err)
	}
	return svc, nil
}
