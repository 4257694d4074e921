package workflow_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/offline"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/recon"
	"github.com/settle-agent/settle-agent/workflow"
)

// The money at the window (issue 28): what the window is told to collect, the refund
// or amount due, and the amount the hospital carries offline. Each test failed on
// the engine before its fix.

// counted is a fault plan by call: the n-th call of an infno (from 1) gets what
// plan says; every other call passes. before runs first (a late booking landing).
type counted struct {
	mu     sync.Mutex
	n      map[string]int
	plan   func(infno string, n int) fault
	before func(infno string, n int)
}

func (c *counted) decide(infno string) fault {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[infno]++
	n := c.n[infno]
	c.mu.Unlock()
	if c.before != nil {
		c.before(infno, n)
	}
	if c.plan == nil {
		return passThrough
	}
	return c.plan(infno, n)
}

// estimatePolicy carries the fund's share up to maxOutstanding.
// learn settles one bill of card online: the estimate offline knows the patient
// and carries a fund share after it.
func (r *rig) learn(card string) {
	r.t.Helper()
	b := r.bill(card)
	r.mustSubmit(b)
	r.mustSettle(b.BillNo)
}

func estimatePolicy(t testing.TB, maxOutstanding string) func(*workflow.Options) {
	return func(o *workflow.Options) {
		p, err := offline.ParsePolicy("estimate", "0.70", settle.MustMoney("500.00"), settle.MustMoney(maxOutstanding))
		if err != nil {
			t.Fatal(err)
		}
		o.Policy = p
	}
}

// Defect 1: a bill settled online with a stray visit whose 2202 is lost was queued
// again by Recover at the next start, and the requeue decided collect_now = the
// total: after the sync the bill reported a refund nobody paid.
func TestBill_SettledOnline_RestartWithPendingStray_NoRefund(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	plan := &counted{
		plan: func(infno string, n int) fault {
			switch {
			case infno == platform.InfnoRegister && n == 1:
				return late // the first 2201 lands after the bill registered again
			case infno == platform.InfnoCancelRegister && n == 1:
				return lostBefore // the 2202 of the stray visit: outcome unknown
			}
			return passThrough
		},
		before: func(infno string, n int) {
			if infno == platform.InfnoVisitQuery && n == 2 {
				// closeStrayVisits' 5201: the lost 2201 has landed by now.
				r.pf.Deliver(ctx)
			}
		},
	}
	r.pf.decide = plan.decide
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	if res := r.mustSettle(b.BillNo); res.Kind != workflow.ResultSettled {
		t.Fatalf("settle: %s; want settled online", res.Kind)
	}
	rec := r.mustBill(b.BillNo)
	if len(rec.Pending) == 0 {
		t.Fatalf("the stray visit's 2202 is not pending (history %+v); the test does not reach the defect", rec.History)
	}
	r.pf.decide = nil
	r.restart()
	r.drain(5, time.Minute)
	got := r.mustBill(b.BillNo)
	if got.Collected != nil || got.Offline {
		t.Errorf("after the restart: collect_now %v offline %v; want nil and false (settled online, the window collected the platform's share)", got.Collected, got.Offline)
	}
	if d, ok := workflow.DifferenceOf(got); ok {
		t.Errorf("difference of a bill settled online: refund %s due %s; want none", d.Refund, d.AmountDue)
	}
	if got.State != workflow.StateSettled || len(got.Pending) != 0 {
		t.Errorf("after the sync: %s pending %+v; want settled, nothing pending", got.State, got.Pending)
	}
}

// Defect 2: max_outstanding_amount was checked against an in-memory total and added
// to after the commit: eight windows settling at once offline carried 8 × 46.00
// against a bound of 69.00.
func TestBill_EightWindowsAtOnce_CarryNoMoreThanMaxOutstanding(t *testing.T) {
	bound := settle.MustMoney("69.00")
	r := newRig(t, rigOptions{mut: estimatePolicy(t, "69.00")})
	r.learn(cardLocalEmployee)
	r.down(true)
	var bills []settle.Bill
	for i := 0; i < 8; i++ {
		b := r.bill(cardLocalEmployee)
		r.mustSubmit(b)
		bills = append(bills, b)
	}
	var wg sync.WaitGroup
	for _, b := range bills {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.eng.Bills.SettleBill(context.Background(), b.BillNo, "", ""); err != nil {
				t.Errorf("settle %s: %v", b.BillNo, err)
			}
		}()
	}
	wg.Wait()
	var carried settle.Money
	for _, b := range bills {
		rec := r.mustBill(b.BillNo)
		carried += rec.Carried
		if rec.Collected == nil || *rec.Collected+rec.Carried != rec.Bill.Total {
			t.Errorf("bill %s: collected %v carried %s; want both adding up to %s", b.BillNo, rec.Collected, rec.Carried, rec.Bill.Total)
		}
	}
	if carried > bound || carried == 0 {
		t.Errorf("carried over 8 concurrent windows: %s; want more than 0 and at most %s", carried, bound)
	}
	if got := r.eng.Bills.Outstanding(); got != carried {
		t.Errorf("outstanding amount: %s; want %s (the sum over the open offline bills)", got, carried)
	}
}

// Defect 3: a 2207 answered infcode 0 without setl_id became "outcome unknown": the
// window was told queued and the sync reversed a settlement that had succeeded.
func TestBill_SettleAnsweredWithoutSetlID_AdoptedNotReversed(t *testing.T) {
	r := newRig(t, rigOptions{})
	plan := &counted{plan: func(infno string, n int) fault {
		if infno == platform.InfnoSettle && n == 1 {
			return unreadable
		}
		return passThrough
	}}
	r.pf.decide = plan.decide
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	res := r.mustSettle(b.BillNo)
	if res.Kind != workflow.ResultSettled || res.Bill.Collected != nil {
		t.Fatalf("settle: %s collect_now %v; want settled online, nothing collected offline", res.Kind, res.Bill.Collected)
	}
	r.drain(3, time.Minute)
	got := r.mustBill(b.BillNo)
	live := r.liveSettlements()[got.MdtrtID]
	if len(live) != 1 || got.Settlement == nil || live[0].SetlID != got.Settlement.SetlID {
		t.Fatalf("bill settles as %v; the platform holds %v; want the one settlement, adopted", got.Settlement, live)
	}
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoSettle && e.MdtrtID == got.MdtrtID && !e.Live() {
			t.Errorf("settlement %s (msgid %s) was undone; want kept (a success the agent could not read is a success)", e.SetlID, e.Msgid)
		}
	}
}

// Defect 5a: a bill queued offline (46.00 collected), synced and then cancelled
// reported refund 0.00: computed against a settlement that no longer stands.
func TestBill_QueuedSyncedThenCancelled_RefundsAllCollected(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalResident)
	r.down(false)
	r.drain(5, time.Minute)
	if got := r.mustBill(rec.Bill.BillNo); got.State != workflow.StateSettled || got.Settlement.PsnCashPay == 0 {
		t.Fatalf("after sync: %s, own cash share %v; want settled with a cash share (else the test proves nothing)", got.State, got.Settlement)
	}
	if _, err := r.eng.Bills.CancelBill(context.Background(), rec.Bill.BillNo); err != nil {
		t.Fatal(err)
	}
	got := r.mustBill(rec.Bill.BillNo)
	d, ok := workflow.DifferenceOf(got)
	if !ok || d.Refund != *got.Collected || d.AmountDue != 0 {
		t.Errorf("cancelled after settling offline: refund %s due %s (ok %v); want refund %s (everything collected)", d.Refund, d.AmountDue, ok, *got.Collected)
	}
}

// A bill settled from the queue gets its refund: collected − the platform's own
// share (a deliberate bug that never set the refund went through the tests).
func TestBill_SettledFromQueue_RefundIsCollectedMinusOwnShare(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalEmployee)
	r.down(false)
	r.drain(5, time.Minute)
	got := r.mustBill(rec.Bill.BillNo)
	d, ok := workflow.DifferenceOf(got)
	if !ok || got.Settlement == nil {
		t.Fatalf("settled from the queue: %s, difference ok %v; want settled with a difference", got.State, ok)
	}
	want := *got.Collected - got.Settlement.PsnCashPay
	if want <= 0 {
		t.Fatalf("collected %s, own share %s: the fixture must leave a refund", *got.Collected, got.Settlement.PsnCashPay)
	}
	if d.Refund-d.AmountDue != want || d.Refund != want {
		t.Errorf("refund %s due %s; want refund %s", d.Refund, d.AmountDue, want)
	}
}

// Defect 5b: a bill queued offline with money collected and cancelled while still
// queued appeared neither in the day's reconciliation nor in the offline totals:
// the patient is owed what was collected and nothing said so.
func TestBill_CancelledWhileQueued_ListedAsMoneyOwedBack(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalEmployee)
	if _, err := r.eng.Bills.CancelBill(context.Background(), rec.Bill.BillNo); err != nil {
		t.Fatal(err)
	}
	got := r.mustBill(rec.Bill.BillNo)
	if got.State != workflow.StateCancelled {
		t.Fatalf("cancel while queued: %s; want cancelled", got.State)
	}
	d, ok := workflow.DifferenceOf(got)
	if !ok || d.Refund != *got.Collected {
		t.Errorf("difference: refund %s (ok %v); want %s, all of it back", d.Refund, ok, *got.Collected)
	}
	recs, err := r.eng.Bills.BillsOfDay(got.QueueDay)
	if err != nil {
		t.Fatal(err)
	}
	var bills []recon.Bill
	for _, b := range recs {
		bills = append(bills, recon.Bill{BillNo: b.Bill.BillNo, State: string(b.State), Total: b.Bill.Total, Offline: b.Offline,
			Collected: b.Collected, Settlement: b.Settlement, Cancelled: b.Cancelled})
	}
	rc := &recon.Reconciler{Bills: func(string) ([]recon.Bill, error) { return bills, nil }, Call: r.eng.Link.Call, SetlOptins: "330100"}
	rep, err := rc.Reconcile(context.Background(), got.QueueDay, false)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range rep.Differences {
		if row.BillNo == got.Bill.BillNo {
			found = true
			if row.Refund != *got.Collected {
				t.Errorf("the day's report: refund %s; want %s", row.Refund, *got.Collected)
			}
		}
	}
	if !found {
		t.Errorf("the day's report %+v does not list bill %s; want it with its money owed back", rep.Differences, got.Bill.BillNo)
	}
}

// The carried share of a bill queued and never sent is released when it is cancelled.
func TestBill_EstimateQueuedThenCancelledUnsent_ReleasesCarried(t *testing.T) {
	r := newRig(t, rigOptions{mut: estimatePolicy(t, "1000.00")})
	r.learn(cardLocalEmployee)
	rec := r.queueOffline(cardLocalEmployee)
	if rec.Carried == 0 || r.eng.Bills.Outstanding() != rec.Carried {
		t.Fatalf("queued under estimate: carried %s, outstanding %s; want the fund's share carried", rec.Carried, r.eng.Bills.Outstanding())
	}
	if _, err := r.eng.Bills.CancelBill(context.Background(), rec.Bill.BillNo); err != nil {
		t.Fatal(err)
	}
	if got := r.eng.Bills.Outstanding(); got != 0 {
		t.Errorf("outstanding after the cancel: %s; want 0.00", got)
	}
	r.restart()
	if got := r.eng.Bills.Outstanding(); got != 0 {
		t.Errorf("outstanding after a restart: %s; want 0.00 (the store's own figure)", got)
	}
}

// A bill queued again (Recover finds it with a message pending and its job out of
// line) keeps what the window was told to collect and what the hospital carries: the
// carried share is reserved once.
func TestBill_RequeuedByRecover_KeepsCollectAndCarried(t *testing.T) {
	r := newRig(t, rigOptions{mut: estimatePolicy(t, "1000.00")})
	r.learn(cardLocalEmployee)
	rec := r.queueOffline(cardLocalEmployee)
	collected, carried := *rec.Collected, rec.Carried
	if carried == 0 {
		t.Fatalf("queued under estimate: nothing carried; the test proves nothing")
	}
	// Online, but every 2207 and 2601 is lost: the bill keeps a pending 2207.
	r.down(false)
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle || infno == platform.InfnoReversal {
			return lostBefore
		}
		return passThrough
	}
	r.drain(1, time.Minute)
	pending := r.mustBill(rec.Bill.BillNo)
	if len(pending.Pending) == 0 {
		t.Fatalf("no message pending after a lost 2207 (history %+v)", pending.History)
	}
	if err := r.eng.Queue.KillJob(context.Background(), pending.QueueID); err != nil {
		t.Fatal(err)
	}
	r.restart() // Recover queues the bill again: its pending 2207 must be resolved
	got := r.mustBill(rec.Bill.BillNo)
	if got.Collected == nil || *got.Collected != collected || got.Carried != carried {
		t.Errorf("queued again: collect_now %v carried %s; want %s and %s as decided at the window", got.Collected, got.Carried, collected, carried)
	}
	if out := r.eng.Bills.Outstanding(); out != carried {
		t.Errorf("outstanding after the requeue: %s; want %s (reserved once)", out, carried)
	}
}

// Defect 6: a bill cancelled long after it settled was swept counting from the
// settlement's day: the cancellation moves the day its retention counts from.
func TestBill_CancelledMonthAfterSettling_KeptForRetentionFromCancellation(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.mustSettle(b.BillNo)
	r.clock.Advance(29 * 24 * time.Hour)
	if _, err := r.eng.Bills.CancelBill(context.Background(), b.BillNo); err != nil {
		t.Fatal(err)
	}
	got := r.mustBill(b.BillNo)
	if want := settle.Day(r.now()); got.DoneDay != want {
		t.Errorf("done day after the cancellation: %s; want %s", got.DoneDay, want)
	}
	r.clock.Advance(2 * 24 * time.Hour)
	if n, err := r.eng.Queue.Sweep(context.Background()); err != nil || n != 0 {
		t.Errorf("sweep two days after the cancellation: %d, %v; want 0", n, err)
	}
}

// Retention counts whole days: a bill done exactly the retention ago is kept that
// day and swept the next (a cutoff one day early went through the tests).
func TestSweep_BillDoneExactlyRetentionAgo_KeptThatDay(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.mustSettle(b.BillNo)
	r.clock.Advance(30 * 24 * time.Hour)
	if n, err := r.eng.Queue.Sweep(context.Background()); err != nil || n != 0 {
		t.Errorf("sweep on the retention's last day: %d, %v; want 0", n, err)
	}
	r.clock.Advance(24 * time.Hour)
	if n, err := r.eng.Queue.Sweep(context.Background()); err != nil || n != 1 {
		t.Errorf("sweep the day after: %d, %v; want 1", n, err)
	}
}

// A 2601 refused for another reason than "the original does not exist" leaves the
// outcome unknown: the lost 2207 is not taken as never booked, and no second 2207
// leaves.
func TestBill_ReversalRefusedOtherwise_NotTakenAsNotBooked(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	plan := &counted{plan: func(infno string, n int) fault {
		switch infno {
		case platform.InfnoSettle:
			if n == 1 {
				return lostAfter // booked, the answer lost
			}
		case platform.InfnoReversal:
			return refused // 业务校验不通过: neither undone nor "does not exist"
		}
		return passThrough
	}}
	r.pf.decide = plan.decide
	if _, err := r.eng.Bills.SettleBill(context.Background(), b.BillNo, "", ""); err == nil {
		t.Log("settle answered without error")
	}
	r.drain(3, time.Minute)
	got := r.mustBill(b.BillNo)
	for _, m := range got.History {
		if m.Infno == platform.InfnoSettle && m.Outcome == workflow.OutcomeNotBooked {
			t.Errorf("2207 %s taken as not booked after a 2601 refused %q; want its outcome still unknown", m.Msgid, "业务校验不通过")
		}
	}
	if plan.n[platform.InfnoSettle] > 1 {
		t.Errorf("2207 sent %d times; want once (its first outcome is not known)", plan.n[platform.InfnoSettle])
	}
	r.checkNoDouble()
}

// Defect 7: 2207 A and its reversal R1 are both delayed; R2 answers 原交易不存在, A
// lands, B is refused 已结算 and A would be adopted — then R1 lands and undoes A: the
// bill says settled while the platform holds nothing. A settlement whose reversal is
// in flight is never adopted as it stands.
func TestBill_LateReversalAfterAdoption_BillNeverSettledOnNothing(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	plan := &counted{
		plan: func(infno string, n int) fault {
			switch {
			case infno == platform.InfnoSettle && n == 1, infno == platform.InfnoReversal && n == 1:
				return late
			}
			return passThrough
		},
		before: func(infno string, n int) {
			if infno == platform.InfnoSettle && n == 2 {
				// A lands after R2 answered "does not exist"; R1 is still on its way.
				r.pf.DeliverWhere(ctx, func(i string) bool { return i == platform.InfnoSettle })
			}
		},
	}
	r.pf.decide = plan.decide
	_, _ = r.eng.Bills.SettleBill(ctx, b.BillNo, "", "")
	r.drain(4, time.Minute)
	// R1 lands now.
	r.pf.DeliverWhere(ctx, func(i string) bool { return i == platform.InfnoReversal })
	r.drain(4, time.Minute)
	got := r.mustBill(b.BillNo)
	live := r.liveSettlements()[got.MdtrtID]
	if got.State == workflow.StateSettled && (len(live) != 1 || live[0].SetlID != got.Settlement.SetlID) {
		t.Fatalf("bill settled as %s; the platform holds %v; want the bill's settlement standing\nhistory %+v", got.Settlement.SetlID, live, got.History)
	}
	if got.State != workflow.StateSettled && !strings.Contains(strings.Join(got.Surprises, " "), "2601") {
		t.Errorf("bill %s; want settled, or put before a person", got.State)
	}
	r.checkNoDouble()
}

// Defect 4: a stay's settlement day came from the agent's clock: with the machine 3 s
// behind, a stay settled at 00:00:01 by the platform was filed on the previous day.
// Its settlement and its cancellation count on the platform's setl_time, as bills do.
func TestStay_SettledJustAfterMidnight_MachineBehind_CountsOnPlatformDay(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	r.clock.Set(time.Date(2026, 11, 26, 0, 0, 1, 0, settle.Beijing))
	r.skew = -3 * time.Second // the machine says 23:59:58 of the 25th
	if _, err := r.eng.Stays.SettleStay(ctx, ipt, settle.StaySettle{AcctUsedFlag: "0"}); err != nil {
		t.Fatal(err)
	}
	rec := r.mustStay(ipt)
	if len(rec.Settlements) != 1 {
		t.Fatalf("settlements %+v; want one", rec.Settlements)
	}
	if got := rec.Settlements[0].SettleDay; got != "2026-11-26" {
		t.Errorf("settlement day: %s; want 2026-11-26 (the platform's setl_time)", got)
	}
	r.clock.Set(time.Date(2026, 11, 27, 0, 0, 1, 0, settle.Beijing))
	if _, err := r.eng.Stays.CancelStaySettlement(ctx, ipt, rec.Settlements[0].Split.SetlID); err != nil {
		t.Fatal(err)
	}
	rec = r.mustStay(ipt)
	if got := rec.Settlements[0].CancelDay; got != "2026-11-27" {
		t.Errorf("cancellation day: %s; want 2026-11-27 (the platform's time of the 2305)", got)
	}
	if days, _ := r.eng.Stays.StaysOfDay("2026-11-25"); len(days) != 0 {
		t.Errorf("stays of 2026-11-25 (the machine's day): %d; want 0", len(days))
	}
}
