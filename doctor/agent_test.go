package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/platform"
)

// With the agent of this configuration running, doctor asks it about the store
// and the readers and counts its ports as in use by it.
func TestDoctor_AgentRunning(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	o := s.Options()
	cfg, err := config.Load(o.ConfigPath, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, &agent.Options{OpenPort: simReaders(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent Run: %v", err)
		}
	})
	waitFor(t, "the agent's reader W01 connected", func() bool {
		var r readyz
		if !getJSON("http://"+s.APIAddr+"/readyz", &r) {
			return false
		}
		return len(r.Readers) == 1 && r.Readers[0].Connected
	})

	checks := s.Run(o)
	wantCheck(t, checks, "store", CheckOK, "in use by the running agent", "0 queued")
	wantCheck(t, checks, "api listen", CheckOK, "in use by the running agent")
	wantCheck(t, checks, "reader W01", CheckOK, "connected to the running agent", "SIM-1.0")
	wantCheck(t, checks, "platform", CheckOK, "signed in")
	if n := Failed(checks); n != 0 {
		t.Errorf("Failed: got %d; want 0", n)
	}
	// The agent signed in too: doctor's msgids must not repeat its.
	if st := s.Sim.Stats(); st[platform.InfnoSignIn] < 2 {
		t.Errorf("simulator saw %v; want the agent's and doctor's 9001", st)
	}
	if rep := s.Sim.RepeatedMsgids(); len(rep) != 0 {
		t.Errorf("repeated msgids: %v", rep)
	}

	// Another configuration on the same port: the port is taken by an agent that
	// does not hold this configuration's store.
	other := newDoctorSetup(t, nil)
	other.APIAddr = s.APIAddr
	wantCheck(t, other.Run(other.Options()), "api listen", CheckFail, "another settle-agent")
}

// waitFor polls cond until it holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 20*time.Second, what, cond)
}

func getJSON(url string, v any) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return err == nil && resp.StatusCode == http.StatusOK && json.Unmarshal(b, v) == nil
}
