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

// The review's findings on the stay workflow (S1–S4), each a test that failed before
// its fix.

// lostThenExpired settles a discharged stay with the first answer of infno lost (not
// booked), then has the platform forget the session before the drain.
func (r *rig) lostThenExpired(infno string, f fault) string {
	r.t.Helper()
	ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	r.pf.decide = faultOnce(infno, f)
	if _, err := r.eng.Stays.SettleStay(context.Background(), ipt, settle.StaySettle{AcctUsedFlag: "0"}); err != nil {
		r.t.Fatalf("settle: %v", err)
	}
	r.pf.decide = nil
	r.sim.ExpireSessions()
	return ipt
}

// S1: the 2601 of a lost 2304 is refused because the platform forgot the session;
// the resolution signs in again (once) and asks again with a new msgid, instead of
// being refused for ever.
func TestStay_StayReversalAfterSessionExpiry_SignsInAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	ipt := r.lostThenExpired(platform.InfnoInpatientSettle, lostBefore)
	r.drain(10, time.Minute)
	r.checkStayOnce(ipt)
}

// S1, a lost 2301 (booked): its resolution (5204, and 2302 of the lines that stand
// when only some do) signs in again too.
func TestStay_StayLostUploadAfterSessionExpiry_SignsInAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	a := r.admission(cardLocalEmployee)
	if _, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); err != nil {
		t.Fatal(err)
	}
	r.pf.decide = faultOnce(platform.InfnoInpatientFeeUpload, lostAfter)
	if _, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, r.dayFees("D1", 3), "test"); err != nil {
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

// S2: the 2601 of a lost write is refused with a message that merely contains
// "不存在" (the person, the visit): that is no "原交易不存在". The original may stand,
// so the write is never sent again; the stay waits, unresolved, for a person.
func TestStay_ReversalRefusedOtherwise_NeverResent(t *testing.T) {
	for _, tc := range []struct{ infno, msg string }{
		{platform.InfnoInpatientSettle, "人员信息不存在: psn_no P0001"},
		{platform.InfnoAdmission, "就诊信息不存在或已撤销: mdtrt_id M0001"},
	} {
		t.Run(tc.infno, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			ctx := context.Background()
			a := r.admission(cardLocalEmployee)
			var ipt string
			r.pf.refuseMsg = tc.msg
			tries := 0
			r.pf.decide = func(infno string) fault {
				if infno == platform.InfnoReversal {
					return refused
				}
				if infno == tc.infno {
					tries++
				}
				if infno == tc.infno && tries == 1 {
					// Booked late (admission: 5201 does not find it yet), or booked
					// with the answer lost (settlement).
					if infno == platform.InfnoAdmission {
						return late
					}
					return lostAfter
				}
				return passThrough
			}
			if tc.infno == platform.InfnoAdmission {
				ipt = a.IptNo
				if _, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); err != nil {
					t.Fatal(err)
				}
			} else {
				ipt, _ = r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
				if _, err := r.eng.Stays.SettleStay(ctx, ipt, settle.StaySettle{AcctUsedFlag: "0"}); err != nil {
					t.Fatalf("settle: %v", err)
				}
			}
			r.drain(10, time.Minute)
			if n := tries; n > 1 {
				t.Errorf("%s sent %d times after its 2601 was refused %q; want once", tc.infno, n, tc.msg)
			}
			rec := r.mustStay(ipt)
			if len(rec.Pending) != 1 || rec.Pending[0].Infno != tc.infno {
				t.Fatalf("pending %+v; want the %s still unresolved (history %+v)", rec.Pending, tc.infno, rec.History)
			}
			if !strings.Contains(rec.ErrMsg, tc.msg) {
				t.Errorf("err_msg %q; want the refusal %q shown for a person", rec.ErrMsg, tc.msg)
			}
			for _, m := range rec.History {
				if m.Msgid == rec.Pending[0].Msgid && (m.Outcome == workflow.OutcomeReversed || m.Outcome == workflow.OutcomeNotBooked) {
					t.Errorf("history says %s %s; want it unresolved", m.Outcome, m.Msgid)
				}
			}
		})
	}
}

// S3: a lost 2401 lands late, between the resolution (5201 did not find it, 2601
// answered 原交易不存在) and the admission again, which the platform refuses as
// already registered — here in another province's wording (platform.Phrases): the
// visit is found with 5201 and its mdtrt_id adopted, the admission not failed.
func TestStay_Late2401_BeforeAdmitAgain_Adopted(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	a := r.admission(cardLocalEmployee)
	tries := 0
	r.pf.refuseMsg = "该人员已登记住院，重复挂号"
	r.pf.decide = func(infno string) fault {
		if infno != platform.InfnoAdmission {
			return passThrough
		}
		tries++
		if tries == 1 {
			return late
		}
		r.pf.Deliver(ctx)
		return refused
	}
	if _, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); err != nil {
		t.Fatal(err)
	}
	r.drain(10, time.Minute)
	r.pf.decide = nil
	rec := r.mustStay(a.IptNo)
	view, _ := r.sim.StayAt(fixmedins, a.IptNo)
	if tries < 2 || !rec.Admitted || rec.AdmFailed || rec.MdtrtID == "" || rec.MdtrtID != view.MdtrtID {
		t.Fatalf("after %d 2401s: admitted %v failed %v mdtrt %q (platform %q) err %q; want the late admission adopted", tries, rec.Admitted, rec.AdmFailed, rec.MdtrtID, view.MdtrtID, rec.ErrMsg)
	}
	adopted := false
	for _, m := range rec.History {
		adopted = adopted || m.Infno == platform.InfnoAdmission && m.Outcome == workflow.OutcomeAdopted
	}
	if !adopted {
		t.Errorf("no 2401 adopted in the history: %+v", rec.History)
	}
}

// S4: a 2601 answered 原交易不存在 means the lost message was never booked
// (OutcomeNotBooked, as the bill flow logs it); one the platform undid is reversed.
func TestStay_ReversalNotFound_LoggedNotBooked(t *testing.T) {
	for _, tc := range []struct {
		f    fault
		want string
	}{{lostBefore, workflow.OutcomeNotBooked}, {lostAfter, workflow.OutcomeReversed}} {
		t.Run(tc.want, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
			r.pf.decide = faultOnce(platform.InfnoInpatientSettle, tc.f)
			if _, err := r.eng.Stays.SettleStay(context.Background(), ipt, settle.StaySettle{AcctUsedFlag: "0"}); err != nil {
				t.Fatalf("settle: %v", err)
			}
			r.pf.decide = nil
			r.drain(10, time.Minute)
			r.checkStayOnce(ipt)
			rec := r.mustStay(ipt)
			lost := ""
			for _, m := range rec.History {
				if m.Infno == platform.InfnoInpatientSettle && lost == "" {
					lost = m.Msgid
				}
			}
			var got []string
			for _, m := range rec.History {
				if m.Msgid == lost {
					got = append(got, m.Outcome)
				}
			}
			if lost == "" || got[len(got)-1] != tc.want {
				t.Errorf("outcomes of the lost 2304 %q: %v; want it resolved %s", lost, got, tc.want)
			}
		})
	}
}

// S2, a withdrawal: a 2302 refused with a message that merely contains "不存在" is
// not "nothing to cancel" — the lines stand, so the batch is not cancelled.
func TestStay_WithdrawalRefusedOtherwise_NotCancelled(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	a := r.admission(cardLocalEmployee)
	if _, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, r.dayFees("D1", 3), "test"); err != nil {
		t.Fatal(err)
	}
	r.pf.refuseMsg = "人员信息不存在: psn_no P0001"
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoInpatientCancelFee {
			return refused
		}
		return passThrough
	}
	_, _ = r.eng.Stays.CancelStayFees(ctx, a.IptNo, "D1")
	r.drain(10, time.Minute)
	r.pf.decide = nil
	rec := r.mustStay(a.IptNo)
	view, _ := r.sim.StayAt(fixmedins, a.IptNo)
	if b := rec.Batches[0]; b.Cancelled || view.LiveFees != 3 {
		t.Errorf("batch cancelled %v with %d lines standing at the platform; want not cancelled, 3 standing", b.Cancelled, view.LiveFees)
	}
}
