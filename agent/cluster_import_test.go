package agent_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/store/etcdstore"
)

// TestGroup_ImportSingleMachine grows a hospital from one machine into a group
// (cluster.md, `cluster import`): a real single agent settles bills, queues more
// during an outage and is SIGKILLed with a settlement in flight; its store is
// imported into a real group of three agents on embedded etcd, whose leader then
// settles the queued and the interrupted bills — every bill exactly once at the
// simulator. The moved store is refused a second import and a second agent; a
// group that holds bills refuses another machine's store.
func TestGroup_ImportSingleMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary as one agent, then as three")
	}
	p, simURL := MustSim(t)
	singleDir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", loopbackPorts(t, 1)[0])
	single := &chaosChild{t: t, env: []string{chaosChildEnv + "=1", "CHAOS_SIM_URL=" + simURL, "CHAOS_DIR=" + singleDir, "CHAOS_LISTEN=" + addr}}
	single.start()
	t.Cleanup(func() {
		single.mu.Lock()
		cmd := single.cmd
		single.mu.Unlock()
		if cmd != nil && cmd.ProcessState == nil {
			single.kill()
		}
	})
	sys := &testSystem{tb: t, Sim: p, URL: "http://" + addr}
	if !poll.Within(30*time.Second, 20*time.Millisecond, func() bool { st, _ := sys.tryDo("GET", "/readyz", "", nil); return st == 200 }) {
		t.Fatal("the single agent is not ready within 30 s")
	}
	var all []string
	settleOne := func(want ...int) string {
		t.Helper()
		b := newBill(cardLocalEmployee)
		b.Window = "W01"
		tok := "token-w01-0123456789"
		sys.retry(func() bool { st, _ := sys.tryDo("POST", "/v1/bills", tok, b); return st == 201 || st == 200 })
		sys.retry(func() bool {
			st, _ := sys.tryDo("POST", "/v1/bills/"+b.BillNo+"/settle", tok, nil)
			for _, w := range want {
				if st == w {
					return true
				}
			}
			return false
		})
		all = append(all, b.BillNo)
		return b.BillNo
	}
	for range 3 {
		settleOne(200)
	}
	p.SetFaults(sim.Faults{Down: true})
	for range 4 {
		settleOne(202)
	}
	p.SetFaults(sim.Faults{})
	settleOne(200) // the agent is online again

	// A settlement in flight when the machine dies: the platform answers slowly and
	// the agent is killed while the bill is settling.
	p.SetFaults(sim.Faults{LatencyMS: 250})
	mid := newBill(cardLocalResident)
	mid.Window = "W02"
	tok2 := "token-w02-0123456789"
	sys.retry(func() bool { st, _ := sys.tryDo("POST", "/v1/bills", tok2, mid); return st == 201 || st == 200 })
	go sys.tryDo("POST", "/v1/bills/"+mid.BillNo+"/settle", tok2, nil)
	seen := map[string]bool{}
	if !poll.Within(10*time.Second, 5*time.Millisecond, func() bool {
		_, m := sys.tryDo("GET", "/v1/bills/"+mid.BillNo, tokAdmin, nil)
		seen[str(m, "state")] = true
		return str(m, "state") == "settling"
	}) {
		t.Fatalf("bill %s was never seen settling (seen %v)", mid.BillNo, seen)
	}
	single.kill()
	all = append(all, mid.BillNo)
	p.SetFaults(sim.Faults{})

	g := startGroup(t, p, simURL)
	cfg := g.config(t, 1)
	from := filepath.Join(singleDir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := agent.ImportToGroup(ctx, cfg, from, nil)
	if err != nil {
		t.Fatalf("cluster import: %v", err)
	}
	// The four bills queued during the outage have a job each; the bill killed while
	// settling has none (the group's leader finds it by its state).
	if res.Moved["bill"] != len(all) || res.Moved["jobs"] < 4 {
		t.Errorf("import moved %v; want %d bills and at least 4 queue jobs", res.Moved, len(all))
	}

	// Every bill settles, exactly once at the platform, readable on every node.
	for _, no := range all {
		for _, n := range g.nodes {
			var last map[string]any
			if !poll.Within(90*time.Second, 50*time.Millisecond, func() bool {
				_, last = n.sys.tryDo("GET", "/v1/bills/"+no, tokAdmin, nil)
				return str(last, "state") == "settled"
			}) {
				t.Fatalf("bill %s on %s after the import: %v; want settled", no, n.name, last)
			}
		}
	}
	settled := settledByBill(p)
	for _, no := range all {
		if settled[no] != 1 {
			t.Errorf("bill %s: %d live settlements at the platform; want exactly 1", no, settled[no])
		}
	}
	if len(settled) != len(all) {
		t.Errorf("platform holds settlements for %d bills; want %d", len(settled), len(all))
	}

	// The moved store does not move twice; a group in use takes no other store.
	if _, err := agent.ImportToGroup(ctx, cfg, from, nil); !errors.Is(err, store.ErrMoved) {
		t.Errorf("importing the moved store again: got %v; want store.ErrMoved", err)
	}
	other := t.TempDir()
	s, err := store.Open(other, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := agent.ImportToGroup(ctx, cfg, other, nil); !errors.Is(err, etcdstore.ErrNotEmpty) {
		t.Errorf("importing another machine's store into the group in use: got %v; want etcdstore.ErrNotEmpty", err)
	}
}
