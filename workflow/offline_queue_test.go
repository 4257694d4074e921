package workflow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/offline"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

// The numbered defects of issue 19, each a test that fails on the code before the
// engine was split out of *Agent.

// down makes every platform call fail without leaving the machine.
func (r *rig) down(on bool) {
	if on {
		r.pf.decide = func(string) fault { return notSent }
		r.eng.Link.Breaker().Trip()
		return
	}
	r.pf.decide = nil
}

// queueOffline submits and settles a bill while the platform is down: it ends queued.
func (r *rig) queueOffline(card string) *workflow.Record {
	r.t.Helper()
	r.down(true)
	b := r.bill(card)
	r.mustSubmit(b)
	res := r.mustSettle(b.BillNo)
	if res.Kind != workflow.ResultQueued {
		r.t.Fatalf("settle while offline: got %s; want queued", res.Kind)
	}
	return res.Bill
}

// Defect 1: past the retry horizon the dead path panicked on a nil error; the bill
// stayed queued for ever and a cancel answered 202 and was never applied.
func TestQueue_PastHorizon_BillIsDead(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalEmployee)
	r.clock.Advance(8 * 24 * time.Hour)
	// Online again, but the platform still fails every call as an unknown outcome.
	r.pf.decide = func(string) fault { return lostBefore }
	r.eng.Link.Breaker().OK()
	if _, err := r.eng.Queue.SyncOnce(context.Background(), 8); err != nil {
		t.Fatal(err)
	}
	got := r.mustBill(rec.Bill.BillNo)
	if got.State != workflow.StateDead {
		t.Fatalf("bill past the retry horizon: state %s; want dead", got.State)
	}
	j, err := r.st.Queue().Get(got.QueueID)
	if err != nil || j.State != queue.StateDead {
		t.Fatalf("its queue record: %v, %v; want dead", j, err)
	}
	if n := r.eng.Bills.BillCounts()[workflow.StateDead]; n != 1 {
		t.Errorf("dead bills counted: %d; want 1 (shown to a person)", n)
	}
	_, err = r.eng.Bills.CancelBill(context.Background(), rec.Bill.BillNo)
	var se *workflow.StateError
	if !errors.As(err, &se) || se.Code != "bill_dead" {
		t.Errorf("cancel of a dead bill: got %v; want the bill_dead state error", err)
	}
}

// Defect 2: retention counted from the day a bill was queued; a bill queued on day 1
// and settled on day 31 was swept at once, and the HIS posting it again got a second
// settlement.
func TestQueue_Retention_CountsFromSettlementDay(t *testing.T) {
	r := newRig(t, rigOptions{qmut: func(o *queue.Options) { o.Horizon = 60 * 24 * time.Hour }})
	rec := r.queueOffline(cardLocalEmployee)
	r.clock.Advance(30 * 24 * time.Hour)
	r.down(false)
	r.drain(5, time.Minute)
	got := r.mustBill(rec.Bill.BillNo)
	if got.State != workflow.StateSettled {
		t.Fatalf("bill after sync: %s; want settled", got.State)
	}
	r.clock.Advance(2 * 24 * time.Hour)
	n, err := r.eng.Queue.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("swept %d bills two days after their settlement; want 0", n)
	}
	// The HIS posts the same bill again: it is the stored bill, not a new one.
	again := rec.Bill
	again.Items = append([]settle.Item(nil), rec.Bill.Items...)
	for i := range again.Items {
		again.Items[i].MedListCodg, again.Items[i].MedinsListCodg = "", ""
	}
	if _, err := r.eng.Bills.SubmitBill(context.Background(), again, again.BillNo, "hl7"); err != nil {
		t.Fatalf("repost: %v; want the first answer", err)
	}
	if _, err := r.eng.Bills.SettleBill(context.Background(), rec.Bill.BillNo, "", ""); err != nil {
		t.Fatal(err)
	}
	r.checkNoDouble()
	r.clock.Advance(31 * 24 * time.Hour)
	if n, err := r.eng.Queue.Sweep(context.Background()); err != nil || n != 1 {
		t.Errorf("sweep past retention of the settlement day: %d, %v; want 1", n, err)
	}
}

// Defect 4: a bill queued before midnight and settled after it was counted on both
// days; its refund appeared in both days' reports.
func TestQueue_AcrossMidnight_CountedOnSettlementDayOnly(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.clock.Set(time.Date(2026, 11, 23, 23, 59, 0, 0, settle.Beijing))
	rec := r.queueOffline(cardLocalEmployee)
	r.clock.Set(time.Date(2026, 11, 24, 0, 1, 0, 0, settle.Beijing))
	r.down(false)
	r.drain(5, time.Second)
	if got := r.mustBill(rec.Bill.BillNo); got.State != workflow.StateSettled {
		t.Fatalf("state %s; want settled", got.State)
	}
	day1, _ := r.eng.Bills.BillsOfDay("2026-11-23")
	day2, _ := r.eng.Bills.BillsOfDay("2026-11-24")
	if len(day1) != 0 || len(day2) != 1 {
		t.Errorf("bills of 11-23: %d, of 11-24: %d; want 0 and 1 (the settlement's day only)", len(day1), len(day2))
	}
}

// Defect 6: under the estimate policy the carried amount was released twice (a bill
// settled through the queue, then cancelled offline, went through the success path
// again), so max_outstanding_amount stopped bounding anything.
func TestQueue_Estimate_CarriedReleasedOnce(t *testing.T) {
	policy, err := offline.ParsePolicy("estimate", "0.70", settle.MustMoney("1000.00"), settle.MustMoney("1000.00"))
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, rigOptions{mut: func(o *workflow.Options) { o.Policy = policy }})
	// Learn the patient first, so that the estimate carries a fund share.
	b0 := r.bill(cardLocalEmployee)
	r.mustSubmit(b0)
	r.mustSettle(b0.BillNo)
	first := r.queueOffline(cardLocalEmployee)
	second := r.queueOffline(cardLocalEmployee)
	if first.Carried <= 0 || second.Carried <= 0 {
		t.Fatalf("carried %s and %s; want a fund share carried for each (provisional %+v, person %s)", first.Carried, second.Carried, first.Provisional, first.PersonSource)
	}
	if got, want := r.eng.Bills.Outstanding(), first.Carried+second.Carried; got != want {
		t.Fatalf("outstanding %s; want %s", got, want)
	}
	// The second bill's job is blocked by nothing; sync only the first.
	r.down(false)
	r.drain(5, time.Second)
	if got := r.eng.Bills.Outstanding(); got != 0 {
		t.Fatalf("outstanding after both settled: %s; want 0", got)
	}
	third := r.queueOffline(cardLocalEmployee)
	if _, err := r.eng.Bills.CancelBill(context.Background(), first.Bill.BillNo); err != nil {
		t.Fatal(err)
	}
	// Back online, but the third bill's 2207 does not get through yet: only the
	// cancellation of the first (2208) is applied.
	r.down(false)
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle {
			return notSent
		}
		return passThrough
	}
	r.drain(3, time.Second)
	if got := r.mustBill(first.Bill.BillNo); got.State != workflow.StateCancelled {
		t.Fatalf("cancelled bill: %s; want cancelled", got.State)
	}
	if got := r.eng.Bills.Outstanding(); got != third.Carried {
		t.Errorf("outstanding with the third bill queued: %s; want its carried %s (the first's share released twice?)", got, third.Carried)
	}
	r.pf.decide = nil
	r.drain(10, time.Minute)
	if got := r.eng.Bills.Outstanding(); got != 0 {
		t.Errorf("outstanding after everything settled: %s; want 0", got)
	}
}

// Defect 7: an offline cancel of a failed bill was stuck for ever behind the failed
// queue record that still headed the bill's key.
func TestQueue_CancelFailedBillOffline_IsApplied(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalEmployee)
	r.down(false)
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle {
			return refused
		}
		return passThrough
	}
	r.drain(3, time.Second)
	if got := r.mustBill(rec.Bill.BillNo); got.State != workflow.StateFailed {
		t.Fatalf("state %s; want failed", got.State)
	}
	r.down(true)
	res, err := r.eng.Bills.CancelBill(context.Background(), rec.Bill.BillNo)
	if err != nil || res.Kind != workflow.ResultQueued {
		t.Fatalf("offline cancel: %v %v; want queued", res.Kind, err)
	}
	r.down(false)
	r.drain(5, time.Second)
	if got := r.mustBill(rec.Bill.BillNo); got.State != workflow.StateCancelled {
		t.Errorf("after sync: %s; want cancelled", got.State)
	}
	for _, e := range r.sim.Ledger() {
		if e.Live() && (e.Infno == platform.InfnoRegister || e.Infno == platform.InfnoFeeUpload) {
			t.Errorf("platform still holds %s %s of the cancelled bill", e.Infno, e.Msgid)
		}
	}
}

// Defect 8: `settle-agent queue retry ID` with the agent stopped moved only the
// queue record; at start the worker acked it without sending anything and the bill
// stayed failed.
func TestQueue_RetryByHandWhileStopped_Settles(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalEmployee)
	r.down(false)
	refuse := true
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle && refuse {
			return refused
		}
		return passThrough
	}
	r.drain(3, time.Second)
	got := r.mustBill(rec.Bill.BillNo)
	if got.State != workflow.StateFailed {
		t.Fatalf("state %s; want failed", got.State)
	}
	refuse = false
	// What the CLI does with the agent stopped: the queue record alone.
	if err := r.st.Queue().Retry(context.Background(), got.QueueID); err != nil {
		t.Fatal(err)
	}
	r.restart()
	r.drain(5, time.Second)
	if got := r.mustBill(rec.Bill.BillNo); got.State != workflow.StateSettled {
		t.Errorf("after a retry by hand and a restart: %s; want settled", got.State)
	}
	if n := len(r.liveSettlements()); n != 1 {
		t.Errorf("live settlements at the platform: %d; want 1", n)
	}
}

// Defect 10: a bill posted without created_at got the agent's clock before it was
// hashed, so the cashier's identical retry a second later was refused with 409.
func TestQueue_NoCreatedAt_RetryIsSameBill(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	b.CreatedAt = time.Time{}
	first, err := r.eng.Bills.SubmitBill(context.Background(), b, "", "api")
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Second)
	again, err := r.eng.Bills.SubmitBill(context.Background(), b, "", "api")
	if err != nil {
		t.Fatalf("identical retry a second later: %v; want the first answer", err)
	}
	if again.Bill.State != first.Bill.State || !again.Bill.CreatedAt.Equal(first.Bill.CreatedAt) {
		t.Errorf("retry answered %s created %v; want %s created %v", again.Bill.State, again.Bill.CreatedAt, first.Bill.State, first.Bill.CreatedAt)
	}
	other := b
	other.Items = append([]settle.Item(nil), b.Items[:1]...)
	other.Total = other.Items[0].Amount
	if _, err := r.eng.Bills.SubmitBill(context.Background(), other, "", "api"); !errors.Is(err, settle.ErrConflict) {
		t.Errorf("same bill number, other content: got %v; want a conflict", err)
	}
}

// Found by reading: after an online 2207 was booked, a failed local save was only
// logged and the window was told "settled" while the store still said settling.
func TestQueue_SaveFailsAfterBooking_WindowNotToldSettled(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle {
			r.failCommit.Store(true) // the disk fills while the 2207 is out
		}
		return passThrough
	}
	res, err := r.eng.Bills.SettleBill(context.Background(), b.BillNo, "", "")
	if err == nil {
		t.Fatalf("settle with a full disk after the booking: %s; want an error (never \"settled\")", res.Kind)
	}
	if !errors.Is(err, workflow.ErrStore) {
		t.Errorf("error %v; want ErrStore", err)
	}
	r.failCommit.Store(false)
	r.pf.decide = nil
	r.restart()
	r.drain(5, time.Second)
	if got := r.mustBill(b.BillNo); got.State != workflow.StateSettled {
		t.Errorf("after restart and sync: %s; want settled", got.State)
	}
	if n := len(r.liveSettlements()); n != 1 {
		t.Errorf("live settlements: %d; want 1", n)
	}
}

// Found by reading: a clock jump of more than the retry horizon (or the retention)
// killed every queued bill (or swept every settled one). The platform's clock says
// the agent's jumped: nothing irreversible is decided on it.
func TestQueue_ClockJump_NeitherKillsNorSweeps(t *testing.T) {
	r := newRig(t, rigOptions{})
	settled := r.bill(cardLocalResident)
	r.mustSubmit(settled)
	r.mustSettle(settled.BillNo)
	rec := r.queueOffline(cardLocalEmployee)
	r.skew = 40 * 24 * time.Hour // the machine's clock jumps 40 days ahead
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSignIn {
			return passThrough
		}
		return lostBefore
	}
	if !r.eng.Link.Probe(context.Background()) {
		t.Fatal("probe: the platform does not answer")
	}
	if r.eng.Link.ClockTrusted() {
		skew, _ := r.eng.Link.ClockSkew()
		t.Fatalf("clock trusted with a skew of %v", skew)
	}
	if _, err := r.eng.Queue.SyncOnce(context.Background(), 8); err != nil {
		t.Fatal(err)
	}
	if got := r.mustBill(rec.Bill.BillNo); got.State == workflow.StateDead {
		t.Errorf("queued bill dead after a clock jump; want it kept queued")
	}
	if n, err := r.eng.Queue.Sweep(context.Background()); err != nil || n != 0 {
		t.Errorf("sweep after a clock jump: %d, %v; want nothing swept", n, err)
	}
	if _, err := r.eng.Bills.Bill(settled.BillNo); err != nil {
		t.Errorf("settled bill after a clock jump: %v; want it kept", err)
	}
	// The clock is put right: everything goes on.
	r.skew = 0
	r.pf.decide = nil
	r.eng.Link.Probe(context.Background())
	r.drain(5, time.Minute)
	if got := r.mustBill(rec.Bill.BillNo); got.State != workflow.StateSettled {
		t.Errorf("after the clock is right: %s; want settled", got.State)
	}
}

// A bill cancelled while it waited in the queue, before anything reached the
// platform, leaves no ready queue job behind: `queue ls` and the counters show it
// done, not queued, and nothing is sent for it later.
func TestQueue_CancelWhileQueuedBeforeSent_JobWithdrawn(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalEmployee)
	if rec.QueueID == 0 {
		t.Fatal("queued bill has no queue job")
	}
	res, err := r.eng.Bills.CancelBill(context.Background(), rec.Bill.BillNo)
	if err != nil || res.Kind != workflow.ResultCancelled {
		t.Fatalf("cancel while queued: got %v, %v; want cancelled", res.Kind, err)
	}
	st, err := r.st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Ready != 0 || st.Leased != 0 {
		t.Errorf("queue after the cancel: got %d ready, %d leased; want none", st.Ready, st.Leased)
	}
	j, err := r.st.Queue().Get(rec.QueueID)
	if err == nil && j.State != queue.StateDone {
		t.Errorf("queue job %d of the cancelled bill: got %s; want done", rec.QueueID, j.State)
	}
	r.down(false)
	r.drain(3, time.Second)
	for _, e := range r.sim.Ledger() {
		if e.Live() {
			t.Errorf("platform holds %s %s of a bill cancelled before it was sent", e.Infno, e.Msgid)
		}
	}
}

// A stay admitted while offline and cancelled before its admission was sent leaves
// no ready queue job behind either.
func TestQueue_StayCancelledBeforeSent_JobWithdrawn(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.down(true)
	ctx := context.Background()
	a := r.admission(cardLocalEmployee)
	if res, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); err != nil || res.Kind != workflow.ResultQueued {
		t.Fatalf("admit while offline: got %v, %v; want queued", res.Kind, err)
	}
	res, err := r.eng.Stays.CancelStay(ctx, a.IptNo, "test")
	if err != nil || res.Kind != workflow.ResultCancelled {
		t.Fatalf("cancel the queued stay: got %v, %v; want cancelled", res.Kind, err)
	}
	st, err := r.st.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Ready != 0 || st.Leased != 0 {
		t.Errorf("queue after the cancel: got %d ready, %d leased; want none", st.Ready, st.Leased)
	}
	r.down(false)
	r.drain(3, time.Second)
	if _, ok := r.sim.StayAt(fixmedins, a.IptNo); ok {
		t.Error("the platform holds the admission of a stay cancelled before it was sent")
	}
}
