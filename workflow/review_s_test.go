package workflow_test

import (
	"context"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// The review's findings on the stay workflow (S1–S4), each a test that failed before
// its fix.

// lostThenExpired settles a discharged stay with the first answer of infno lost (not
// booked), then has the platform forget the session before the drain.
func (r *rig) lostThenExpired(infno string, f fault) string {
	r.t.Helper()
	ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	r.pf.decide = faultOnce(infno, f)
	if _, err := r.eng.SettleStay(context.Background(), ipt, settle.StaySettle{AcctUsedFlag: "0"}); err != nil {
		r.t.Fatalf("settle: %v", err)
	}
	r.pf.decide = nil
	r.sim.ExpireSessions()
	return ipt
}

// S1: the 2601 of a lost 2304 is refused because the platform forgot the session;
// the resolution signs in again (once) and asks again with a new msgid, instead of
// being refused for ever.
func TestReview_S1_StayReversalAfterSessionExpiry_SignsInAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	ipt := r.lostThenExpired(platform.InfnoInpatientSettle, lostBefore)
	r.drain(10, time.Minute)
	r.checkStayOnce(ipt)
}

// S1, a lost 2301 (booked): its resolution (5204, and 2302 of the lines that stand
// when only some do) signs in again too.
func TestReview_S1_StayLostUploadAfterSessionExpiry_SignsInAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	a := r.admission(cardLocalEmployee)
	if _, err := r.eng.SubmitAdmission(ctx, a, "test"); err != nil {
		t.Fatal(err)
	}
	r.pf.decide = faultOnce(platform.InfnoInpatientFeeUpload, lostAfter)
	if _, err := r.eng.SubmitStayFees(ctx, a.IptNo, r.dayFees("D1", 3), "test"); err != nil {
		t.Fatal(err)
	}
	r.pf.decide = nil
	r.sim.ExpireSessions()
	r.drain(10, time.Minute)
	rec := r.mustStay(a.IptNo)
	if len(rec.Pending) != 0 || len(rec.Ops) != 0 || rec.Batches[0].Refused != "" || !rec.Batches[0].Uploaded {
		t.Fatalf("after the drain: pending %+v ops %+v batches %+v; want the batch uploaded", rec.Pending, rec.Ops, rec.Batches)
	}
	view, _ := r.sim.StayAt(fixmedins, a.IptNo)
	if view.LiveFees != 3 {
		t.Errorf("fee lines standing at the platform: %d; want 3", view.LiveFees)
	}
}
