package installer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kardianos/service"
)

// TestMain lets this test binary stand in for the agent: the installed service
// runs `<exe> run --config FILE`, and FILE says what the fake agent does:
// "listen ADDR" serves GET /healthz there until SIGTERM, "die MESSAGE" writes
// MESSAGE to stderr and exits 1 at once (as the agent does when its port is taken).
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "run" && os.Args[2] == "--config" {
		os.Exit(fakeAgent(os.Args[3]))
	}
	os.Exit(m.Run())
}

func fakeAgent(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	verb, arg, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if verb != "listen" {
		fmt.Fprintln(os.Stderr, arg)
		return 1
	}
	ln, err := net.Listen("tcp", arg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"alive"}`)
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }() // owned by this process, which ends below
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	_ = srv.Close()
	return 0
}

// TestService_SysV_Lifecycle installs, starts, stops and uninstalls a real
// service under the System V init scripts this machine has (a test name no
// machine uses; everything is removed at the end). It runs only as root where
// kardianos chose unix-systemv, e.g. in a container.
func TestService_SysV_Lifecycle(t *testing.T) {
	if !isPrivileged() || service.ChosenSystem() == nil || service.ChosenSystem().String() != "unix-systemv" {
		t.Skip("needs root and System V init (kardianos platform unix-systemv)")
	}
	if _, err := exec.LookPath("service"); err != nil {
		t.Skip("no service command")
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := "settle-agent-test-" + hex.EncodeToString(rnd[:])
	t.Cleanup(func() { cleanupSysV(name) })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := openTempDir(t)
	conf := filepath.Join(dir, "etc", "agent.conf")
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	ready := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	o := Options{Name: name, ConfigPath: conf, DataDir: data, Executable: exe, Ready: ready, StartTimeout: 10 * time.Second}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("InstallWithoutConfigChangesNothing", func(t *testing.T) {
		err := s.Control(ctx, ActionInstall)
		if !errors.Is(err, ErrNoConfig) {
			t.Fatalf("install: got %v; want ErrNoConfig", err)
		}
		for _, p := range []string{filepath.Dir(conf), data, "/etc/init.d/" + name} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s after a refused install: stat %v; want it not made", p, err)
			}
		}
	})
	if err := os.MkdirAll(filepath.Dir(conf), 0o750); err != nil {
		t.Fatal(err)
	}
	writeConf := func(text string) {
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConf("listen " + addr)
	if err := s.Control(ctx, ActionInstall); err != nil {
		t.Fatalf("install: %v", err)
	}
	if got := s.Options().UserName; got != "root" {
		t.Errorf("install under System V: runs as %q; want root (what an init script runs as)", got)
	}
	wantStatus(t, s, StatusStopped)
	if err := s.Control(ctx, ActionStart); err != nil {
		t.Fatalf("start: %v", err)
	}
	wantStatus(t, s, StatusRunning)
	if err := s.Control(ctx, ActionStop); err != nil {
		t.Fatalf("stop: %v", err)
	}
	wantStatus(t, s, StatusStopped)

	t.Run("StartOfAnAgentThatDies", func(t *testing.T) {
		writeConf("die listen tcp " + addr + ": bind: address already in use")
		err := s.Control(ctx, ActionStart)
		if !errors.Is(err, ErrStartFailed) || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("start: got %v; want ErrStartFailed with the log's reason", err)
		}
		t.Logf("start said: %v", err)
		wantStatus(t, s, StatusStopped)
	})

	inst, ok, err := s.Installation()
	if err != nil || !ok {
		t.Fatalf("Installation: %v, %v", ok, err)
	}
	if inst.ConfigPath != conf || inst.DataDir != data || inst.UserName != "root" || inst.Executable != exe {
		t.Errorf("Installation: got %+v; want config %s, data %s, root, %s", inst, conf, data, exe)
	}
	removed, err := s.Uninstall(ctx)
	if err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	if len(removed.Files) < 2 || removed.Files[0] != "/etc/init.d/"+name {
		t.Errorf("uninstall removed %v; want the init script and its /etc/rc?.d links", removed.Files)
	}
	for _, f := range removed.Files {
		if _, err := os.Lstat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after uninstall: %v; want it gone", f, err)
		}
	}
	if left := rcLinks(name); len(left) != 0 {
		t.Errorf("rc links after uninstall: %v; want none", left)
	}
	if rep := removed.Report(); !strings.Contains(rep, conf) || !strings.Contains(rep, data) {
		t.Errorf("uninstall report %q; want it to name %s and %s", rep, conf, data)
	}
	if _, err := os.Stat(conf); err != nil {
		t.Errorf("configuration after uninstall: %v; want it kept", err)
	}
	wantStatus(t, s, StatusNotInstalled)
}

func wantStatus(t *testing.T, s *Service, want string) {
	t.Helper()
	if got, err := s.Status(); err != nil || got != want {
		t.Errorf("Status: got %q, %v; want %q", got, err, want)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cleanupSysV removes whatever of the test service is left.
func cleanupSysV(name string) {
	script := "/etc/init.d/" + name
	if _, err := os.Stat(script); err == nil {
		_ = exec.Command("service", name, "stop").Run()
	}
	for _, p := range append(rcLinks(name), script, "/var/log/"+name+".log", "/var/log/"+name+".err", "/var/run/"+name+".pid") {
		_ = os.Remove(p)
	}
}
