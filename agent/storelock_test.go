package agent_test

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/internal/syncbuf"
)

// The chaos test restarts a killed agent at once on the same store; "settled exactly
// once" rests on two agents never working on one store. A second agent process on a
// store another one holds must refuse to start, saying why; once the first is killed
// (and waited for), the next one starts. On Windows the lock is LockFileEx, released
// when the process ends; under Wine, by the wineserver as the process is ended.
func TestAgent_SecondProcessOnOneStoreRefusesToStart(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary as the agent")
	}
	_, simURL := MustSim(t)
	dir := t.TempDir()
	first := chaosChildOn(t, simURL, dir)
	first.start()
	t.Cleanup(first.kill)
	waitHealthy(t, first)

	// The second one either stops refusing or, were the lock not honoured, serves.
	second := chaosChildOn(t, simURL, dir)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChaosChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), second.env...)
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var err error
	stopped := false
	probe := &testSystem{tb: t, URL: "http://" + second.addr()}
	poll.Until(t, 20*time.Second, "the second agent to stop or serve", func() bool {
		select {
		case err = <-exited:
			stopped = true
			return true
		default:
		}
		st, _ := probe.tryDo("GET", "/healthz", "", nil)
		return st == 200
	})
	if !stopped {
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("a second agent on the store the first holds serves; want it to refuse to start")
	}
	if err == nil || !strings.Contains(out.String(), "locked by another process") {
		t.Errorf("a second agent on a held store: exit %v, output\n%s\nwant a failure saying the store is locked by another process", err, out.String())
	}

	first.kill()
	second.start()
	t.Cleanup(second.kill)
	waitHealthy(t, second)
}

// chaosChildOn is an agent child process (TestChaosChild) on the store in dir,
// listening on a port of its own.
func chaosChildOn(t *testing.T, simURL, dir string) *chaosChild {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return &chaosChild{t: t, env: []string{chaosChildEnv + "=1", "CHAOS_SIM_URL=" + simURL, "CHAOS_DIR=" + dir, "CHAOS_LISTEN=" + addr}}
}

// addr is the address the child listens on.
func (c *chaosChild) addr() string {
	for _, e := range c.env {
		if a, ok := strings.CutPrefix(e, "CHAOS_LISTEN="); ok {
			return a
		}
	}
	return ""
}

func waitHealthy(t *testing.T, c *chaosChild) {
	t.Helper()
	s := &testSystem{tb: t, URL: "http://" + c.addr()}
	s.waitFor("child agent up", func() bool { st, _ := s.tryDo("GET", "/healthz", "", nil); return st == 200 })
}
