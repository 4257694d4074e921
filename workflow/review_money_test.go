package workflow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// Review of issue 28, defect 3 for stays: a 2304 answered infcode 0 without setl_id
// is a success the agent cannot fully read (platform.md); it must be found with 5203
// and adopted, never reversed. Bills were fixed (writeOnce, bookedUnread); the stay
// flow's stayWriteOnce still marks it unknown and resolveStay sends a 2601.
func TestStay_SettleAnsweredWithoutSetlID_AdoptedNotReversed(t *testing.T) {
	r := newRig(t, rigOptions{})
	ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	plan := &counted{plan: func(infno string, n int) fault {
		if infno == platform.InfnoInpatientSettle && n == 1 {
			return unreadable
		}
		return passThrough
	}}
	r.pf.decide = plan.decide
	_, _ = r.eng.Stays.SettleStay(context.Background(), ipt, settle.StaySettle{AcctUsedFlag: "0"})
	r.drain(4, time.Minute)
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoInpatientSettle && e.IptNo == ipt && !e.Live() {
			t.Errorf("2304 %s (setl_id %s) was undone; want kept (a success the agent could not read is a success)", e.Msgid, e.SetlID)
		}
	}
	r.checkStayOnce(ipt)
}

// Review of issue 28, defect 7 for stays: 2304 A and its reversal R1 are both
// delayed; R2 answers 原交易不存在, A lands, B is refused 已结算 and A is adopted
// (adoptLateSettlement) — then R1 lands and reverses A. The stay says settled while
// the platform holds nothing. Bills keep Record.Reversing and never adopt such a
// settlement; stays have no equivalent.
func TestStay_LateReversalAfterAdoption_StayNeverSettledOnNothing(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	plan := &counted{
		plan: func(infno string, n int) fault {
			switch {
			case infno == platform.InfnoInpatientSettle && n == 1, infno == platform.InfnoReversal && n == 1:
				return late
			}
			return passThrough
		},
		before: func(infno string, n int) {
			if infno == platform.InfnoInpatientSettle && n == 2 {
				// A lands after R2 answered "does not exist"; R1 is still on its way.
				r.pf.DeliverWhere(ctx, func(i string) bool { return i == platform.InfnoInpatientSettle })
			}
		},
	}
	r.pf.decide = plan.decide
	_, _ = r.eng.Stays.SettleStay(ctx, ipt, settle.StaySettle{AcctUsedFlag: "0"})
	r.drain(4, time.Minute)
	// R1 lands now.
	r.pf.DeliverWhere(ctx, func(i string) bool { return i == platform.InfnoReversal })
	r.drain(4, time.Minute)
	rec := r.mustStay(ipt)
	if rec.State == workflow.StateSettled {
		r.checkStayOnce(ipt)
		return
	}
	if !strings.Contains(strings.Join(rec.Surprises, " "), "2601") {
		t.Errorf("stay %s; want settled on a standing settlement, or put before a person", rec.State)
	}
}

// Review of issue 28 / the chaos flake "orphan registration": a stray visit (a lost
// 2201 that landed after 5201 had not found it and the bill registered again) is
// cancelled by closeStrayVisits once, best effort. When that 2202 gets no answer,
// StrayVisits is cleared anyway (resolve.go closeStrayVisits), the pending 2202 is
// "repeated by the step itself" (resolve.go resolve) — but a settled bill has no step
// that repeats it: the stray visit stays live at the platform for good, a registration
// no bill owns. (A 5201 that fails there leaves StrayVisits set, but nothing calls
// closeStrayVisits again once the bill is settled.)
func TestBill_StrayVisitCancelLost_StrayStillCancelled(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	plan := &counted{
		plan: func(infno string, n int) fault {
			switch {
			case infno == platform.InfnoRegister && n == 1:
				return late // the first 2201 lands after the bill registered again
			case infno == platform.InfnoCancelRegister && n == 1:
				return lostBefore // the 2202 of the stray visit: no answer, not booked
			}
			return passThrough
		},
		before: func(infno string, n int) {
			if infno == platform.InfnoVisitQuery && n == 2 {
				r.pf.Deliver(ctx) // closeStrayVisits' 5201: the lost 2201 has landed
			}
		},
	}
	r.pf.decide = plan.decide
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.mustSettle(b.BillNo)
	r.pf.decide = nil
	r.restart()
	r.drain(5, time.Minute)
	got := r.mustBill(b.BillNo)
	live := map[string]bool{}
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoSettle && e.Live() {
			live[e.MdtrtID] = true
		}
	}
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoRegister && e.Live() && !live[e.MdtrtID] {
			t.Errorf("visit %s (2201 %s) is live at the platform with no settlement; bill %s settled on %s, surprises %q; want the stray visit cancelled (2202 repeated until it gets an answer)", e.MdtrtID, e.Msgid, got.State, got.MdtrtID, got.Surprises)
		}
	}
}
