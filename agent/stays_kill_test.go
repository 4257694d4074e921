package agent_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// TestAgent_Stay_SIGKILLAcrossOutage runs a stay through a real agent process: the
// admission and the first day's fees online, the second day's fees, the discharge and
// the settlement during an outage (202 queued), a SIGKILL while they wait and another
// while the queue syncs through a lossy platform; the stay ends settled exactly once
// at the platform, every fee line standing.
func TestAgent_Stay_SIGKILLAcrossOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary as the agent")
	}
	p, simURL := MustSim(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	child := &chaosChild{t: t, env: []string{chaosChildEnv + "=1", "CHAOS_SIM_URL=" + simURL, "CHAOS_DIR=" + dir, "CHAOS_LISTEN=" + addr}}
	child.start()
	t.Cleanup(child.kill)
	s := &testSystem{tb: t, Sim: p, URL: "http://" + addr}
	up := func() {
		s.waitFor("child agent up", func() bool { st, _ := s.tryDo("GET", "/healthz", "", nil); return st == 200 })
	}
	up()
	// Every call is retried until it gets a definite answer: idempotency makes it safe.
	do := func(method, path string, body any, ok ...int) map[string]any {
		var got map[string]any
		s.retry(func() bool {
			st, m := s.tryDo(method, path, tokW01, body)
			for _, w := range ok {
				if st == w {
					got = m
					return true
				}
			}
			return false
		})
		return got
	}
	ipt := newIptNo()
	admitted := time.Now().Add(-30 * time.Hour)
	do("POST", "/v1/stays", admissionBody(ipt, cardLocalEmployee, admitted), 201)
	do("POST", "/v1/stays/"+ipt+"/fees", feesBody("D1", admitted.Add(2*time.Hour), 300), 201)

	p.SetFaults(sim.Faults{Down: true})
	do("POST", "/v1/stays/"+ipt+"/fees", feesBody("D2", admitted.Add(26*time.Hour), 100), 201, 202)
	dis := map[string]any{"discharged_at": time.Now().Format(time.RFC3339), "diagnoses": []any{map[string]any{"code": "J18.900"}}}
	do("POST", "/v1/stays/"+ipt+"/discharge", dis, 200, 202)
	if st := do("POST", "/v1/stays/"+ipt+"/settle", map[string]any{"acct_used_flag": "0"}, 200, 202); str(st, "state") != "queued" {
		t.Fatalf("settle during the outage: %v; want queued", st)
	}
	child.kill() // while the stay's operations wait in the queue
	child.start()
	up()
	before := do("GET", "/v1/stays/"+ipt, nil, 200)
	if len(asSlice(before["queued_ops"])) != 3 {
		t.Fatalf("after the SIGKILL: %v; want the 3 operations still waiting, in order", before["queued_ops"])
	}
	// The network returns, lossy: answers are lost after booking, and the agent is
	// killed again while it syncs; it resolves what it sent when it is back.
	p.SetFaults(sim.Faults{LatencyMS: 20, LoseResponseRate: 0.3})
	defer func() {
		if t.Failed() {
			_, m := s.tryDo("GET", "/v1/stays/"+ipt, tokW01, nil)
			t.Logf("stay %v", m)
		}
	}()
	s.waitFor("the sync under way", func() bool {
		_, m := s.tryDo("GET", "/v1/stays/"+ipt, tokW01, nil)
		return m != nil && len(asSlice(m["history"])) > len(asSlice(before["history"]))
	})
	child.kill()
	p.SetFaults(sim.Faults{}) // what the lost answers left is resolved after the restart
	child.start()
	up()
	var m map[string]any
	if !poll.Within(60*time.Second, 50*time.Millisecond, func() bool {
		_, m = s.tryDo("GET", "/v1/stays/"+ipt, tokW01, nil)
		return str(m, "state") == "settled"
	}) {
		t.Fatalf("the stay did not settle: %v", m)
	}
	s.staySettledOnce(t, ipt)
	view, _ := p.StayAt("", ipt)
	if view.LiveFees != 4 || !view.Discharged {
		t.Errorf("at the platform: %+v; want discharged with the 4 fee lines standing", view)
	}
	got := do("GET", "/v1/stays/"+ipt, nil, 200)
	want := "1500.00" // 50 + 1050.00 on day 1, 50 + 350.00 on day 2 (the bed and the saline)
	if s := got["settlement"].(map[string]any); fmt.Sprint(s["medfee_sumamt"]) != want {
		t.Errorf("settled %v; want medfee_sumamt %s", s["medfee_sumamt"], want)
	}
}
