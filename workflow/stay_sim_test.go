package workflow_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// TestStay_Simulation drives several stays through random faults — calls that never
// leave, answers lost before and after booking, bookings that land late, outages and
// crashes at random commits with a restart on the same store — with every request
// repeated until it gets a definite answer, as the HIS and the windows do. At the end
// every stay must be settled exactly once at the platform with all its fees, and no
// msgid may have been sent twice. It runs a third of TestSimulation's seeds (a seed
// drives several stays, each many calls; the bill simulation keeps the whole count),
// or -stay-seeds of them:
//
//	go test ./workflow -run Simulation -seeds 300          (both simulations, CI)
//	go test ./workflow -run Stay_Simulation -stay-seeds 1000 (the stays alone, longer)
//	go test ./workflow -run Stay_Simulation -seed 17 -v     (replay one seed)
func TestStay_Simulation(t *testing.T) {
	if *simSeed != 0 {
		runStaySimulation(t, *simSeed)
		return
	}
	n := max(1, *simSeeds/3)
	if *staySeeds > 0 {
		n = *staySeeds
	}
	if testing.Short() {
		n = min(n, 8)
	}
	for i := 0; i < n; i++ {
		seed := *simFirst + uint64(i)
		if !t.Run(fmt.Sprint(seed), func(t *testing.T) { runStaySimulation(t, seed) }) && !testing.Verbose() {
			return // one failure is enough to look at; its seed replays exactly
		}
	}
}

// staySeeds overrides the number of stay simulation seeds (0: a third of -seeds).
var staySeeds = flag.Int("stay-seeds", 0, "number of stay simulation seeds to run (0: a third of -seeds)")

func runStaySimulation(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	r := newRig(t, rigOptions{seed: seed})
	faults := map[fault]int{}
	r.pf.decide = func(infno string) fault {
		f := passThrough
		defer func() { faults[f]++ }()
		switch x := rng.IntN(100); {
		case x < 6:
			f = notSent
		case x < 11:
			f = lostBefore
		case x < 17:
			f = lostAfter
		case x < 20 && infno != platform.InfnoReversal:
			f = late
		}
		return f
	}
	ctx := context.Background()
	cards := []string{cardLocalEmployee, cardLocalResident, cardShanghaiFiled}
	type stay struct {
		a     settle.Admission
		total settle.Money
		lines int
	}
	var stays []stay
	// again repeats a request until it gets an answer that is not a passing failure
	// (store down, crash, shutting down), restarting the rig after a crash.
	again := func(what string, f func() error) {
		t.Helper()
		for try := 0; try < 200; try++ {
			err := f()
			if r.crashed.Load() {
				r.restart()
				continue
			}
			if err == nil {
				return
			}
			if _, ok := err.(*workflow.Refusal); ok {
				t.Fatalf("%s: refused: %v", what, err)
			}
			t.Logf("%s: %v; again", what, err)
			r.clock.Advance(time.Second)
		}
		t.Fatalf("%s: no answer after 200 tries", what)
	}
	for i := 0; i < 3; i++ {
		s := stay{a: r.admission(cards[i%len(cards)])}
		s.a.AdmittedAt = r.now()
		again("admit", func() error { _, err := r.eng.Stays.SubmitAdmission(ctx, s.a, "sim"); return err })
		for day := 1; day <= 2+rng.IntN(2); day++ {
			r.clock.Advance(6 * time.Hour)
			b := r.dayFees(fmt.Sprintf("D%d", day), 10+rng.IntN(300))
			s.total += b.Total()
			s.lines += len(b.Items)
			if rng.IntN(4) == 0 {
				r.crashAt.Store(int64(1 + rng.IntN(3)))
				r.crashAfter = rng.IntN(2) == 0
			}
			again("fees", func() error { _, err := r.eng.Stays.SubmitStayFees(ctx, s.a.IptNo, b, "sim"); return err })
			if rng.IntN(5) == 0 {
				r.pf.Deliver(ctx)
			}
		}
		if rng.IntN(3) == 0 {
			r.eng.Link.Breaker().Trip() // an outage: the rest of this stay queues
		}
		if rng.IntN(4) == 0 {
			// The platform forgets the session: the stay's writes and reads sign in again.
			r.sim.ExpireSessions()
		}
		d := r.discharge()
		again("discharge", func() error { _, err := r.eng.Stays.SubmitDischarge(ctx, s.a.IptNo, d, "sim"); return err })
		again("settle", func() error {
			_, err := r.eng.Stays.SettleStay(ctx, s.a.IptNo, settle.StaySettle{AcctUsedFlag: "0"})
			return err
		})
		stays = append(stays, s)
	}
	// The network heals; late bookings land; the queue drains.
	decide := r.pf.decide
	for round := 0; round < 40; round++ {
		r.pf.Deliver(ctx)
		if rng.IntN(4) == 0 {
			// Forgotten while lost messages wait to be resolved: their 2601/5201/5204
			// sign in again (S1).
			r.sim.ExpireSessions()
		}
		r.drain(5, 3*time.Second)
		done := true
		for _, s := range stays {
			if rec := r.mustStay(s.a.IptNo); rec.State != workflow.StateSettled {
				done = false
			}
		}
		if done {
			break
		}
		if round == 20 {
			r.pf.decide = nil // past the worst: let it finish
		}
	}
	r.pf.decide = decide
	r.pf.decide = nil
	t.Logf("faults injected: %d not sent, %d lost before, %d lost after booking, %d booked late; %d calls passed",
		faults[notSent], faults[lostBefore], faults[lostAfter], faults[late], faults[passThrough])
	for _, s := range stays {
		if t.Failed() || r.sim.SettledStays()[s.a.IptNo] != 1 || r.mustStay(s.a.IptNo).State != workflow.StateSettled {
			r.dumpStay(t, s.a.IptNo)
		}
		r.checkStayOnce(s.a.IptNo)
		rec := r.mustStay(s.a.IptNo)
		if f := rec.Final(); f == nil || f.Split.MedfeeSumamt != s.total {
			t.Errorf("stay %s: final settlement %+v; want all its fees, %s", s.a.IptNo, f, s.total)
		}
		if v, _ := r.sim.StayAt(fixmedins, s.a.IptNo); v.LiveFees != s.lines {
			t.Errorf("stay %s: %d fee lines stand at the platform; want %d", s.a.IptNo, v.LiveFees, s.lines)
		}
	}
}

// dumpStay logs the platform's books and the agent's history of one stay, for a
// failing run.
func (r *rig) dumpStay(t *testing.T, ipt string) {
	t.Helper()
	for _, e := range r.sim.Ledger() {
		if e.IptNo == ipt {
			t.Logf("platform: %s %s mdtrt %s setl %s medfee %s live %v", e.Infno, e.Msgid, e.MdtrtID, e.SetlID, e.MedfeeSumamt, e.Live())
		}
	}
	for _, h := range r.mustStay(ipt).History {
		t.Logf("agent: %s %s %s %s", h.Infno, h.Msgid, h.Outcome, h.ErrMsg)
	}
}
