package workflow_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// The seeds that once failed the bill simulation replay on every run.
//   - 202500: a lost 2201 landed just after the cancelled bill's last 5201, at the
//     same instant of the fake clock; the oracle took it for one landed before.
//   - 215986: a 2208 refused "already cancelled" for ever while a 2601 of another
//     2208 of the bill was in flight (TestBill_CancelledByEarlierLate2208_...).
func TestSimulation_SeedsThatFailedOnce(t *testing.T) {
	for _, seed := range []uint64{202500, 215986} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runSimulation(t, seed) })
	}
}

// The seeds that once failed the stay simulation replay on every run.
//   - 1421, 401147, 405615: a lost 2401 landed after its 2601 answered "原交易不存在", the
//     stay was admitted again and cancelled — after the stay's last message, where the
//     agent cannot see it; the oracle took it for an admission the agent left behind.
func TestStay_Simulation_SeedsThatFailedOnce(t *testing.T) {
	for _, seed := range []uint64{1421, 401147, 405615} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runStaySimulation(t, seed) })
	}
}

// A cancellation whose 2208 X landed late (after its 2601 answered "原交易不存在"),
// while a later 2208 O of the bill had a 2601 in flight: every new 2208 is refused
// "already cancelled", every 2601 of O answers "原交易不存在". X did it, not O: the
// bill is cancelled, and its queue job drains (it once stayed ready for ever).
func TestBill_CancelledByEarlierLate2208_ReversalOfAnotherInFlight_Drains(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.mustSettle(b.BillNo)
	plan := &counted{
		plan: func(infno string, n int) fault {
			switch {
			case infno == platform.InfnoCancelSettle && n == 1:
				return late // X
			case infno == platform.InfnoCancelSettle && n == 2:
				return lostBefore // O, never booked
			case infno == platform.InfnoReversal && n == 2:
				return lostBefore // a 2601 of O in flight: O joins Reversing
			}
			return passThrough
		},
		before: func(infno string, n int) {
			if infno == platform.InfnoCancelSettle && n == 3 {
				// X lands now and cancels the settlement.
				r.pf.DeliverWhere(ctx, func(i string) bool { return i == platform.InfnoCancelSettle })
			}
		},
	}
	r.pf.decide = plan.decide
	_, _ = r.eng.Bills.CancelBill(ctx, b.BillNo)
	r.drain(40, time.Minute)
	if st, _ := r.st.Stats(); st.Ready+st.Leased != 0 {
		got := r.mustBill(b.BillNo)
		t.Fatalf("queue after 40 rounds: %+v; want drained\nstate %s reversing %+v\nhistory %+v", st, got.State, got.Reversing, got.History)
	}
	got := r.mustBill(b.BillNo)
	if got.State != workflow.StateCancelled || !got.Cancelled {
		t.Fatalf("bill %s (cancelled %v); want cancelled\nhistory %+v", got.State, got.Cancelled, got.History)
	}
	if live := r.liveSettlements()[got.MdtrtID]; len(live) != 0 {
		t.Errorf("the platform holds %v; want no live settlement", live)
	}
	if n := plan.n[platform.InfnoCancelSettle]; n < 3 {
		t.Errorf("%d 2208s sent; want at least 3 (else the plan did not run)", n)
	}
}
