package etcdstore_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/workflow"
)

var groupSeeds = flag.Int("group-seeds", 4, "seeds of the group simulation (TestGroupSimulation)")

// TestGroupSimulation: three engines share one real etcd while the platform loses
// answers, answers -1 and resets connections, as a seed draws it. Cashiers settle on
// any node, sometimes on two at once; nodes die mid-step (their lease expires while a
// message is on the wire: their late writes are fenced) and are replaced by new ones.
// After the platform heals and the survivors drain the queue: no bill is left
// unresolved, every settled bill stands exactly once at the platform with the
// settlement the bill names, no other bill holds a live settlement it does not name,
// no msgid reached the platform twice and no 2601 was sent outside its scope.
//
// The seed draws the faults, the cashiers and the deaths; the interleaving of the
// nodes is the Go scheduler's, so a seed's run is not replayed exactly.
func TestGroupSimulation(t *testing.T) {
	n := *groupSeeds
	if testing.Short() {
		n = min(n, 1)
	}
	for seed := range n {
		t.Run(fmt.Sprintf("seed%d", seed+1), func(t *testing.T) { runGroup(t, uint64(seed+1)) })
	}
}

func runGroup(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 23))
	g := newGroup(t, shared.cli)
	g.sim.SetFaults(sim.Faults{
		LoseResponseRate:  rng.Float64() * 0.15,
		InfcodeMinus1Rate: rng.Float64() * 0.1,
		ResetRate:         rng.Float64() * 0.1,
	})
	nodes := []*node{g.node(1), g.node(2), g.node(3)}
	var bills []string
	deaths := 0
	ctx := context.Background()
	for step := range 30 {
		i := rng.IntN(len(nodes))
		n := nodes[i]
		b := g.bill(cardLocalResident)
		if rng.IntN(3) == 0 {
			b = g.bill(cardLocalEmployee)
		}
		if _, err := n.eng.Bills.SubmitBill(ctx, b, b.BillNo, "sim"); err != nil {
			var v *settle.ValidationError
			if errors.As(err, &v) {
				t.Fatalf("step %d: submit %s: %v", step, b.BillNo, err)
			}
			continue // the node's store write failed: the cashier was told so
		}
		bills = append(bills, b.BillNo)
		// One node in eight dies while its message is on the wire.
		dies := rng.IntN(8) == 0
		if dies {
			var once sync.Once
			n.pf.mu.Lock()
			n.pf.before = func(infno string) {
				once.Do(func() { _, _ = g.cli.Revoke(context.Background(), n.sess.Lease()) })
			}
			n.pf.mu.Unlock()
		}
		var wg sync.WaitGroup
		settleOn := []*node{n}
		if rng.IntN(4) == 0 { // the cashier retries on another front-end at once
			settleOn = append(settleOn, nodes[(i+1)%len(nodes)])
		}
		for _, m := range settleOn {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = m.eng.Bills.SettleBill(ctx, b.BillNo, "", "")
			}()
		}
		wg.Wait()
		if dies {
			deaths++
			nodes[i] = g.node(i + 1) // a new process on the same machine, same digit
		}
		if rng.IntN(10) == 0 {
			if _, err := nodes[rng.IntN(len(nodes))].eng.Bills.CancelBill(ctx, bills[rng.IntN(len(bills))]); err != nil {
				t.Logf("step %d: cancel: %v", step, err)
			}
		}
	}
	g.sim.SetFaults(sim.Faults{})
	drainGroup(t, g, nodes, bills)
	states := judgeGroup(t, g, nodes[0], bills)
	for k, v := range judgeGroupMoney(t, g, nodes, bills) {
		states[k] = v
	}
	t.Logf("seed %d: %d bills, %d node deaths; bills %v; platform %v", seed, len(bills), deaths, states, g.sim.Stats())
}

// drainGroup works the queue from every node, and settles again what a dead node left
// cut short, until every bill is resolved.
func drainGroup(t *testing.T, g *group, nodes []*node, bills []string) {
	ctx := context.Background()
	for round := range 60 {
		open := 0
		for _, n := range nodes {
			n.eng.Link.Probe(ctx)
			if _, err := n.st.Hasten(ctx); err != nil {
				t.Fatalf("hasten: %v", err)
			}
			if _, err := n.eng.Queue.SyncOnce(ctx, 64); err != nil {
				t.Fatalf("sync: %v", err)
			}
		}
		for _, no := range bills {
			rec, err := nodes[0].eng.Bills.Bill(no)
			if err != nil {
				t.Fatalf("bill %s: %v", no, err)
			}
			if rec.State == workflow.StateQueued || rec.State == workflow.StateSettling {
				open++
				if rec.QueueID == 0 { // cut short by a death and not queued
					_, _ = nodes[round%len(nodes)].eng.Bills.SettleBill(ctx, no, "", "")
				}
			}
		}
		if open == 0 {
			return
		}
	}
	t.Fatalf("bills still open after 60 rounds of the queue")
}

func judgeGroup(t *testing.T, g *group, n *node, bills []string) map[string]int {
	states := map[string]int{}
	live := map[string][]sim.Entry{}
	for _, e := range g.sim.Ledger() {
		if e.Infno == platform.InfnoSettle && e.Live() {
			live[e.ChrgBchno] = append(live[e.ChrgBchno], e)
		}
	}
	for _, no := range bills {
		rec, err := n.eng.Bills.Bill(no)
		if err != nil {
			t.Fatalf("bill %s: %v", no, err)
		}
		states[string(rec.State)]++
		for _, m := range rec.History {
			if m.Outcome != "" {
				states[m.Infno+" "+m.Outcome]++
			}
		}
		l := live[workflow.ChargeBatch(rec)]
		named := func(msgid string) bool {
			for _, p := range rec.Pending {
				if p.Msgid == msgid {
					return true
				}
			}
			for _, m := range rec.History {
				if m.Msgid == msgid {
					return true
				}
			}
			return false
		}
		switch {
		case rec.State == workflow.StateSettled && !rec.Cancelled:
			if len(l) != 1 || l[0].SetlID != rec.Settlement.SetlID {
				t.Errorf("bill %s is settled as %s; the platform holds %v\nhistory %+v", no, rec.Settlement.SetlID, l, rec.History)
			}
		case rec.State == workflow.StateDead && len(l) == 1 && named(l[0].Msgid):
		case len(l) > 0:
			t.Errorf("bill %s is %s (cancelled %v) but the platform holds %v\nhistory %+v", no, rec.State, rec.Cancelled, l, rec.History)
		}
		for _, m := range rec.History {
			if m.Outcome == workflow.OutcomeReversed && !platform.IsReversible(m.Infno) {
				t.Errorf("bill %s: %s %s reversed (2601 outside its scope)", no, m.Infno, m.Msgid)
			}
		}
	}
	return states
}

// judgeGroupMoney checks the bills' money across the group (docs/architecture.md
// "Money invariants"): the amount carried offline, one value every node shares in
// etcd, is the sum of what the bills carry on every node and nothing settled or
// cancelled still carries; a bill with money collected at the window states its
// refund or amount due as collected minus the patient's own share of the settlement
// that stands at the platform (none for a cancelled bill).
func judgeGroupMoney(t *testing.T, g *group, nodes []*node, bills []string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	own := map[string][]settle.Money{} // charge batch -> own cash share of its live settlements
	for _, e := range g.sim.Ledger() {
		if e.Infno == platform.InfnoSettle && e.Live() {
			own[e.ChrgBchno] = append(own[e.ChrgBchno], e.PsnCashPay)
		}
	}
	var carried settle.Money
	for _, no := range bills {
		rec, err := nodes[0].eng.Bills.Bill(no)
		if err != nil {
			t.Fatalf("bill %s: %v", no, err)
		}
		done := rec.State == workflow.StateSettled || rec.State == workflow.StateCancelled
		if rec.Carried < 0 || rec.Carried != 0 && done {
			t.Errorf("bill %s is %s and carries %s; want 0 once settled or cancelled, never below", no, rec.State, rec.Carried)
		}
		carried += rec.Carried
		d, ok := workflow.DifferenceOf(rec)
		if !ok || !done {
			continue
		}
		var share settle.Money
		switch l := own[workflow.ChargeBatch(rec)]; {
		case rec.State == workflow.StateSettled && !rec.Cancelled && len(l) == 1:
			share = l[0]
		case rec.State == workflow.StateCancelled && len(l) == 0:
		default:
			continue // the bookings are judged by judgeGroup
		}
		counts["money_checked"]++
		if d.Refund-d.AmountDue != *rec.Collected-share || d.Refund < 0 || d.AmountDue < 0 || d.Refund != 0 && d.AmountDue != 0 {
			t.Errorf("bill %s (%s): refund %s, amount due %s; want collected %s minus the platform's own share %s",
				no, rec.State, d.Refund, d.AmountDue, rec.Collected, share)
		}
	}
	for i, n := range nodes {
		if got := n.eng.Bills.Outstanding(); got != carried {
			t.Errorf("node %d: the amount carried offline is %s; the bills carry %s", i+1, got, carried)
		}
	}
	return counts
}
