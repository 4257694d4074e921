package workflow_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/workflow"
)

// Outcome unknown, resolved with each transaction's own tools (platform.md).

// faultOnce returns a decide func that applies f to the first call of infno.
func faultOnce(infno string, f fault) func(string) fault {
	done := false
	return func(got string) fault {
		if got == infno && !done {
			done = true
			return f
		}
		return passThrough
	}
}

// settleWith submits and settles a bill with decide in force, then syncs what was
// queued.
func (r *rig) settleWith(card string, decide func(string) fault) settle.Bill {
	r.t.Helper()
	b := r.bill(card)
	r.pf.decide = decide
	r.mustSubmit(b)
	if _, err := r.eng.Bills.SettleBill(context.Background(), b.BillNo, "", ""); err != nil {
		r.t.Fatalf("settle %s: %v", b.BillNo, err)
	}
	r.pf.decide = nil
	r.drain(10, time.Minute)
	return b
}

// ledgerOf lists the platform's bookings of one bill (by its visits).
func (r *rig) ledgerOf(billNo string) []sim.Entry {
	rec := r.mustBill(billNo)
	var out []sim.Entry
	for _, e := range r.sim.Ledger() {
		if e.PsnNo == rec.PsnNo && (e.MdtrtID == rec.MdtrtID || strings.HasPrefix(e.ChrgBchno, billNo)) {
			out = append(out, e)
		}
	}
	return out
}

// reversalsOutsideScope lists the infnos the bill's history sent 2601 for that 2601
// does not take.
func reversalScope(t *testing.T, rec *workflow.Record) {
	t.Helper()
	for _, m := range rec.History {
		if m.Outcome == workflow.OutcomeReversed && !platform.IsReversible(m.Infno) {
			t.Errorf("%s %s was reversed (2601 outside its scope)", m.Infno, m.Msgid)
		}
		if m.Infno == platform.InfnoReversal && m.Outcome == workflow.OutcomeRefused && !strings.Contains(m.ErrMsg, "原交易不存在") && !strings.Contains(m.ErrMsg, "重新签到") {
			t.Errorf("a 2601 was refused: %s", m.ErrMsg)
		}
	}
}

func (r *rig) mustSettledOnce(billNo string) *workflow.Record {
	r.t.Helper()
	rec := r.mustBill(billNo)
	if rec.State != workflow.StateSettled {
		r.t.Fatalf("bill %s: %s (%s); want settled", billNo, rec.State, rec.ErrMsg)
	}
	live := r.liveSettlements()[rec.MdtrtID]
	if len(live) != 1 || live[0].SetlID != rec.Settlement.SetlID {
		r.t.Fatalf("bill %s: platform holds %v for visit %s; want exactly its settlement %s", billNo, live, rec.MdtrtID, rec.Settlement.SetlID)
	}
	reversalScope(r.t.(*testing.T), rec)
	return rec
}

func TestOutcome_Lost2201_FoundBy5201(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.settleWith(cardLocalEmployee, faultOnce(platform.InfnoRegister, lostAfter))
	rec := r.mustSettledOnce(b.BillNo)
	regs := 0
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoRegister && e.PsnNo == rec.PsnNo && e.Live() {
			regs++
		}
	}
	if regs != 1 {
		t.Errorf("live registrations: %d; want 1 (the lost one adopted, not a second)", regs)
	}
	if !slices.ContainsFunc(rec.History, func(m workflow.Message) bool { return m.Infno == platform.InfnoVisitQuery }) {
		t.Errorf("no 5201 in the history: %+v", rec.History)
	}
}

func TestOutcome_Lost2201_NotBooked_RegistersAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.settleWith(cardLocalEmployee, faultOnce(platform.InfnoRegister, lostBefore))
	r.mustSettledOnce(b.BillNo)
}

func TestOutcome_Lost2204_BatchCancelledUploadedAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.settleWith(cardLocalEmployee, faultOnce(platform.InfnoFeeUpload, lostAfter))
	rec := r.mustSettledOnce(b.BillNo)
	if rec.FeeBatch < 2 {
		t.Errorf("fee batch %d; want a new batch after the lost upload", rec.FeeBatch)
	}
	cancelled := false
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoCancelFee && e.ChrgBchno == b.BillNo {
			cancelled = true
		}
	}
	if !cancelled {
		t.Errorf("the lost batch %s was not cancelled by chrg_bchno (2205)", b.BillNo)
	}
}

func TestOutcome_Lost2207_ReversedAndSettledOnce(t *testing.T) {
	for _, f := range []fault{lostAfter, lostBefore} {
		r := newRig(t, rigOptions{})
		b := r.settleWith(cardLocalEmployee, faultOnce(platform.InfnoSettle, f))
		rec := r.mustSettledOnce(b.BillNo)
		if !slices.ContainsFunc(rec.History, func(m workflow.Message) bool { return m.Infno == platform.InfnoReversal }) {
			t.Errorf("fault %d: no 2601 for the lost 2207", f)
		}
	}
}

// Defect 11: the "booked late" fault: the agent reversed, the late 2207 was then
// booked, the agent's new 2207 was refused and the bill ended failed while the
// platform held a live settlement. Now the refusal ("already settled") is followed
// by 5203 and the late settlement is adopted.
func TestQueue_BookedLate_Adopted(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.pf.decide = faultOnce(platform.InfnoSettle, late)
	res, err := r.eng.Bills.SettleBill(context.Background(), b.BillNo, "", "")
	if err != nil || res.Kind != workflow.ResultQueued {
		t.Fatalf("settle with a late 2207: %v %v; want queued", res.Kind, err)
	}
	r.pf.decide = nil
	// The sync reverses the 2207 (not there yet: 原交易不存在)... and only then does
	// the late 2207 land, before the agent's new 2207.
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle {
			r.pf.Deliver(context.Background())
		}
		return passThrough
	}
	r.drain(10, time.Minute)
	rec := r.mustSettledOnce(b.BillNo)
	if !slices.ContainsFunc(rec.History, func(m workflow.Message) bool { return m.Outcome == workflow.OutcomeAdopted }) {
		t.Errorf("no adopted settlement in the history: %+v", rec.History)
	}
}

// Defect 9: a session the platform forgot turned every call into a business refusal:
// queued bills went to failed and nothing signed in again until the next day.
func TestQueue_ForgottenSession_SignsInAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	queued := r.queueOffline(cardLocalEmployee)
	r.down(false)
	r.eng.Link.Probe(context.Background())
	if n := r.sim.ExpireSessions(); n == 0 {
		t.Fatal("the simulator expired no session: the rig never signed in")
	}
	r.drain(5, time.Second)
	r.mustSettledOnce(queued.Bill.BillNo)
	r.sim.ExpireSessions()
	b := r.bill(cardLocalResident)
	r.mustSubmit(b)
	if res := r.mustSettle(b.BillNo); res.Kind != workflow.ResultSettled {
		t.Errorf("online bill after the session expired: %s; want settled; history %+v", res.Kind, res.Bill.History)
	}
}

// A refused 9001 is shown to IT; it is not "offline" (the breaker stays closed).
func TestSignIn_Refused_NotOffline(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSignIn {
			return refused
		}
		return passThrough
	}
	if r.eng.Link.SignIn(context.Background(), false) {
		t.Fatal("sign-in refused by the platform reported success")
	}
	if !r.eng.Link.Breaker().Online() {
		t.Error("a refused sign-in opened the breaker; want online (the platform answered)")
	}
	if r.eng.Link.SignInRefusal() == "" {
		t.Error("the refusal is not kept for IT")
	}
}

// Defect 5: the settlement's day came from the agent's clock: with the machine 3 s
// behind, a settlement booked at 00:00:01 was filed on the day before.
func TestQueue_SettlementDay_IsPlatformsSetlTime(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.clock.Set(time.Date(2026, 11, 24, 0, 0, 1, 0, settle.Beijing))
	r.skew = -3 * time.Second // the agent reads 23:59:58 of the 23rd
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.mustSettle(b.BillNo)
	rec := r.mustSettledOnce(b.BillNo)
	if rec.SettleDay != "2026-11-24" {
		t.Errorf("settlement day %s; want 2026-11-24 (the platform's setl_time)", rec.SettleDay)
	}
	if got, _ := r.eng.Bills.BillsOfDay("2026-11-23"); len(got) != 0 {
		t.Errorf("bills counted on 11-23: %d; want 0", len(got))
	}
}

// A successful answer with a hospital share is a success: the platform's numbers are
// kept, nothing is reversed.
func TestSurprise_HospitalShare_Kept(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.sim.SetFaults(sim.Faults{HospPartAmt: "1.50"})
	b := r.bill(cardLocalEmployee)
	// Past the deductible: the fund pays, and the hospital bears part of it.
	b.Items[1].Qty = settle.Qty(1000 * 10000)
	b.Items[1].Amount = settle.MustMoney("1500.00")
	b.Total = b.Items[0].Amount + b.Items[1].Amount
	r.mustSubmit(b)
	if res := r.mustSettle(b.BillNo); res.Kind != workflow.ResultSettled {
		t.Fatalf("settle with hosp_part_amt: %s; want settled", res.Kind)
	}
	rec := r.mustSettledOnce(b.BillNo)
	if got := rec.Settlement.HospPartAmt; got != settle.MustMoney("1.50") {
		t.Errorf("hosp_part_amt kept as %s; want 1.50 (%+v)", got, rec.Settlement)
	}
	if s := rec.Settlement; s.FundPaySumamt+s.PsnPartAmt+s.HospPartAmt != s.MedfeeSumamt {
		t.Errorf("kept split does not add up: %+v", s)
	}
}

// A lost 2201 that lands late, after 5201 found nothing and the bill registered
// again: once the bill is settled the stray visit is found (5201) and cancelled (2202),
// so the platform holds no orphan registration.
func TestOutcome_Lost2201_LandsLate_StrayVisitCancelled(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.pf.decide = faultOnce(platform.InfnoRegister, late)
	r.mustSubmit(b)
	// The settle resolves the lost 2201 (5201: not there yet), registers again, and
	// the late 2201 lands before the settlement.
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle {
			r.pf.Deliver(context.Background())
		}
		return passThrough
	}
	if res := r.mustSettle(b.BillNo); res.Kind != workflow.ResultSettled {
		t.Fatalf("settle: %s; want settled", res.Kind)
	}
	rec := r.mustSettledOnce(b.BillNo)
	live := 0
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoRegister && e.PsnNo == rec.PsnNo && e.Live() {
			live++
			if e.MdtrtID != rec.MdtrtID {
				t.Errorf("stray registration %s (msgid %s) still live", e.MdtrtID, e.Msgid)
			}
		}
	}
	if live != 1 {
		t.Errorf("live registrations: %d; want 1", live)
	}
}

// A successful 2207 whose answer surprises the client is a success: the platform's
// numbers are kept, nothing is reversed, and the bill is listed for a person.
func TestSurprise_KeptAndShown(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle {
			return surprised
		}
		return passThrough
	}
	if res := r.mustSettle(b.BillNo); res.Kind != workflow.ResultSettled {
		t.Fatalf("settle with a surprising answer: %s; want settled", res.Kind)
	}
	rec := r.mustSettledOnce(b.BillNo)
	if len(rec.Surprises) == 0 {
		t.Fatal("the surprise is not kept on the bill")
	}
	if slices.ContainsFunc(rec.History, func(m workflow.Message) bool { return m.Infno == platform.InfnoReversal }) {
		t.Error("a surprising answer was reversed")
	}
	if got := r.eng.Bills.SurprisedBills(10); len(got) != 1 || got[0].Bill.BillNo != b.BillNo {
		t.Errorf("bills listed for a person: %d; want this one", len(got))
	}
}
