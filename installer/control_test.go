package installer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// testName is a service name no machine has installed, so the tests never touch
// a real service.
const testName = "settle-agent-test-never-installed"

func TestNew_Defaults(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := s.Options()
	p := DefaultPlaces()
	for _, c := range []struct{ what, got, want string }{
		{"Name", o.Name, "settle-agent"},
		{"DisplayName", o.DisplayName, "Settle Agent (medical-insurance settlement)"},
		{"ConfigPath", o.ConfigPath, p.ConfigFile},
		{"DataDir", o.DataDir, p.DataDir},
		{"UserName", o.UserName, defaultUserName},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q; want %q", c.what, c.got, c.want)
		}
	}
	if o.StopTimeout != 20*time.Second {
		t.Errorf("StopTimeout = %v; want 20s", o.StopTimeout)
	}
	if o.Executable == "" || o.Logger == nil {
		t.Errorf("Executable %q, Logger %v; want both set", o.Executable, o.Logger)
	}
	c, err := s.config()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Arguments, " "); got != "run --config "+p.ConfigFile {
		t.Errorf("arguments = %q; want %q", got, "run --config "+p.ConfigFile)
	}
}

func TestNew_BadName(t *testing.T) {
	for _, n := range []string{"settle agent", "a/b", "x;y", "名字"} {
		if _, err := New(Options{Name: n}); err == nil {
			t.Errorf("New(Name %q) = nil error; want one", n)
		}
	}
}

func TestControl_ErrNotPrivileged(t *testing.T) {
	s, err := New(Options{Name: testName, ConfigPath: "/etc/x/settle-agent.toml"})
	if err != nil {
		t.Fatal(err)
	}
	s.o.privileged = func() bool { return false }
	for _, action := range []string{"install", "uninstall", "start", "stop", "restart"} {
		err := s.Control(context.Background(), action)
		if !errors.Is(err, ErrNotPrivileged) {
			t.Errorf("Control(%s) = %v; want ErrNotPrivileged", action, err)
			continue
		}
		if !strings.Contains(err.Error(), privilegeHint("settle-agent "+action)) {
			t.Errorf("Control(%s) = %q; want it to say how: %q", action, err, privilegeHint("settle-agent "+action))
		}
	}
	if err := s.Control(context.Background(), "install"); !strings.Contains(err.Error(), "settle-agent install --config "+s.o.ConfigPath) {
		t.Errorf("Control(install) = %q; want the full command line with --config", err)
	}
}

// TestControl_ErrNotPrivileged_Real uses the OS's own check; it can only run
// as an ordinary user.
func TestControl_ErrNotPrivileged_Real(t *testing.T) {
	if isPrivileged() {
		t.Skip("running as root/Administrator")
	}
	s, err := New(Options{Name: testName})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Control(context.Background(), "install"); !errors.Is(err, ErrNotPrivileged) {
		t.Errorf("Control(install) = %v; want ErrNotPrivileged", err)
	}
}

func TestControl_ErrUnknownAction(t *testing.T) {
	s, err := New(Options{Name: testName})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"", "status", "Install", "run"} {
		if err := s.Control(context.Background(), a); !errors.Is(err, ErrUnknownAction) {
			t.Errorf("Control(%q) = %v; want ErrUnknownAction", a, err)
		}
	}
}

// TestControl_ErrNotInstalled asks the real service manager about a service
// that does not exist; nothing is changed on the machine.
func TestControl_ErrNotInstalled(t *testing.T) {
	s, err := New(Options{Name: testName})
	if err != nil {
		t.Fatal(err)
	}
	s.o.privileged = func() bool { return true }
	for _, action := range []string{"uninstall", "start", "stop", "restart"} {
		err := s.Control(context.Background(), action)
		if !errors.Is(err, ErrNotInstalled) {
			t.Errorf("Control(%s) = %v; want ErrNotInstalled", action, err)
			continue
		}
		if !strings.Contains(err.Error(), "settle-agent install") {
			t.Errorf("Control(%s) = %q; want it to say to install first", action, err)
		}
	}
	st, err := s.Status()
	if err != nil || st != StatusNotInstalled {
		t.Errorf("Status() = %q, %v; want %q", st, err, StatusNotInstalled)
	}
}
