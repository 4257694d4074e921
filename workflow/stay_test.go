package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/internal/syncbuf"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

var staySeq atomic.Int64

// admission is a valid admission at window ZYC01 for a fixture card, admitted now.
func (r *rig) admission(card string) settle.Admission {
	return settle.Admission{
		IptNo: fmt.Sprintf("ZY%08d", staySeq.Add(1)), Window: "ZYC01",
		Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: card},
		Dept:    settle.Code{Code: "0301", Name: "内科"}, Doctor: settle.Code{Code: "D0042", Name: "王医生"},
		Bed: "12-03", Diagnoses: []settle.Code{{Code: "J18.900", Name: "肺炎"}}, AdmittedAt: r.now(),
	}
}

// dayFees is one day's fee batch: a bed day, nursing and n bags of saline, at the
// rig's clock.
func (r *rig) dayFees(batch string, saline int) settle.FeeBatch {
	at := r.now()
	item := func(line int, code, name, qty, price string) settle.FeeItem {
		q, _ := settle.ParseQty(qty)
		p, _ := settle.ParsePrice(price)
		return settle.FeeItem{Item: settle.Item{Line: line, HISCode: code, Name: name, Qty: q, UnitPrice: p, Amount: settle.LineAmount(q, p)}, OccurredAt: at}
	}
	return settle.FeeBatch{BatchNo: batch, Items: []settle.FeeItem{
		item(1, "CW0001", "普通病房床位费", "1", "50.00"),
		item(2, "HL0001", "一级护理", "1", "30.00"),
		item(3, "YP0009", "氯化钠注射液", fmt.Sprint(saline), "3.50"),
	}}
}

func (r *rig) discharge() settle.Discharge {
	return settle.Discharge{DischargedAt: r.now(), Diagnoses: []settle.Code{{Code: "J18.900", Name: "肺炎"}}, DscgWay: "1"}
}

// stayFlow admits card, posts two days of fees and discharges; it returns the ipt_no
// and the fees' total. Each answer must be want (any when empty).
func (r *rig) stayFlow(card string, want workflow.ResultKind) (string, settle.Money) {
	r.t.Helper()
	ctx := context.Background()
	a := r.admission(card)
	res, err := r.eng.Stays.SubmitAdmission(ctx, a, "test")
	if err != nil || want != "" && res.Kind != want {
		r.t.Fatalf("admit %s: %v, %v; want %s", a.IptNo, res.Kind, err, want)
	}
	var total settle.Money
	for day, saline := range []int{300, 100} {
		r.clock.Advance(9 * time.Hour)
		b := r.dayFees(fmt.Sprintf("D%d", day+1), saline)
		res, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, b, "test")
		if err != nil || want != "" && res.Kind != want || res.Batch == nil {
			r.t.Fatalf("fees %s: %v, %v; want a stored batch", b.BatchNo, res.Kind, err)
		}
		total += b.Total()
		r.clock.Advance(15 * time.Hour)
	}
	if _, err := r.eng.Stays.SubmitDischarge(ctx, a.IptNo, r.discharge(), "test"); err != nil {
		r.t.Fatalf("discharge: %v", err)
	}
	return a.IptNo, total
}

func (r *rig) mustStay(iptNo string) *workflow.StayRecord {
	r.t.Helper()
	rec, err := r.eng.Stays.Stay(iptNo)
	if err != nil {
		r.t.Fatalf("stay %s: %v", iptNo, err)
	}
	return rec
}

// checkStayOnce fails unless the platform holds exactly one final settlement of the
// stay, the one the agent recorded.
func (r *rig) checkStayOnce(iptNo string) {
	r.t.Helper()
	if n := r.sim.SettledStays()[iptNo]; n != 1 {
		r.t.Errorf("stay %s: %d final settlements stand at the platform; want exactly 1", iptNo, n)
	}
	view, _ := r.sim.StayAt(fixmedins, iptNo)
	rec := r.mustStay(iptNo)
	if rec.State != workflow.StateSettled || len(rec.Settlements) == 0 || rec.Settlements[len(rec.Settlements)-1].Split.SetlID != view.FinalSetlID {
		r.t.Errorf("stay %s: state %s, settlements %+v; want settled with the platform's %s", iptNo, rec.State, rec.Settlements, view.FinalSetlID)
	}
	if got := r.sim.RepeatedMsgids(); len(got) != 0 {
		r.t.Errorf("repeated msgids: %v; want none", got)
	}
}

func TestStay_Online_AdmissionToSettlement(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	ipt, total := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	if total != settle.MustMoney("1560.00") {
		t.Fatalf("fees: %s; want 1560.00", total)
	}
	rec := r.mustStay(ipt)
	if rec.State != workflow.StateDischarged || rec.MdtrtID == "" || !rec.Discharged {
		t.Fatalf("after discharge: state %s mdtrt %q; want discharged", rec.State, rec.MdtrtID)
	}
	pre, err := r.eng.Stays.PresettleStay(ctx, ipt, settle.StaySettle{AcctUsedFlag: "0"})
	if err != nil || pre.Split == nil || pre.Split.MedfeeSumamt != total {
		t.Fatalf("presettle: %+v, %v; want the split of %s", pre.Split, err, total)
	}
	// Employee, Hangzhou: 800.00 per admission, then 85% of 760.00 = 646.00.
	if pre.Split.ActPayDedc != settle.MustMoney("800.00") || pre.Split.FundPaySumamt != settle.MustMoney("646.00") {
		t.Errorf("presettle: deductible %s fund %s; want 800.00 and 646.00", pre.Split.ActPayDedc, pre.Split.FundPaySumamt)
	}
	res, err := r.eng.Stays.SettleStay(ctx, ipt, settle.StaySettle{AcctUsedFlag: "0"})
	if err != nil || res.Kind != workflow.ResultSettled || res.Settlement == nil {
		t.Fatalf("settle: %v, %v; want settled", res.Kind, err)
	}
	if s := res.Settlement.Split; s.FundPaySumamt != pre.Split.FundPaySumamt || s.PsnCashPay != total-s.FundPaySumamt || s.ClrType != platform.ClrTypeInpatient {
		t.Errorf("settlement: %+v; want the pre-settlement's split, clr_type 21", s)
	}
	r.checkStayOnce(ipt)
	again, err := r.eng.Stays.SettleStay(ctx, ipt, settle.StaySettle{})
	if err != nil || again.Kind != workflow.ResultFound || again.Settlement.Split.SetlID != res.Settlement.Split.SetlID {
		t.Errorf("settle again: %v, %v; want the same settlement found", again.Kind, err)
	}
	if _, err := r.eng.Stays.SubmitStayFees(ctx, ipt, r.dayFees("D9", 1), "test"); !errors.Is(err, workflow.ErrWrongState) {
		t.Errorf("fees after the final settlement: %v; want a state error", err)
	}
	var infnos []string
	for _, e := range r.sim.Ledger() {
		if e.IptNo == ipt {
			infnos = append(infnos, e.Infno)
		}
	}
	if got := fmt.Sprint(infnos); got != "[2401 2301 2301 2402 2304]" {
		t.Errorf("the platform's books: %s; want [2401 2301 2301 2402 2304]", got)
	}
	counts := r.eng.Stays.StayCounts()
	if counts[workflow.StateSettled] != 1 {
		t.Errorf("stay counts %v; want one settled", counts)
	}
}

func TestStay_Idempotent(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	a := r.admission(cardLocalResident)
	first, err := r.eng.Stays.SubmitAdmission(ctx, a, "test")
	if err != nil || first.Kind != workflow.ResultCreated {
		t.Fatalf("admit: %v, %v", first.Kind, err)
	}
	again, err := r.eng.Stays.SubmitAdmission(ctx, a, "test")
	if err != nil || again.Kind != workflow.ResultCreated || again.Stay.MdtrtID != first.Stay.MdtrtID {
		t.Errorf("the same admission again: %v, %v; want the same answer", again.Kind, err)
	}
	other := a
	other.Bed = "99-99"
	if _, err := r.eng.Stays.SubmitAdmission(ctx, other, "test"); !errors.Is(err, settle.ErrConflict) {
		t.Errorf("another admission under the same ipt_no: %v; want ErrConflict", err)
	}
	b := r.dayFees("D1", 10)
	if _, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, b, "test"); err != nil {
		t.Fatal(err)
	}
	if res, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, b, "test"); err != nil || res.Kind != workflow.ResultCreated {
		t.Errorf("the same batch again: %v, %v; want what it answered", res.Kind, err)
	}
	b.Items[2].Qty, b.Items[2].Amount = 20000*10, settle.MustMoney("70.00")
	if _, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, b, "test"); !errors.Is(err, settle.ErrConflict) {
		t.Errorf("the same batch_no with other lines: %v; want ErrConflict", err)
	}
	unmapped := r.dayFees("D2", 1)
	unmapped.Items[0].HISCode = "NOPE01"
	var ve *settle.ValidationError
	if _, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, unmapped, "test"); !errors.Is(err, workflow.ErrUnmapped) || !errors.As(err, &ve) {
		t.Errorf("an unmapped code: %v; want ErrUnmapped naming it", err)
	}
	if _, err := r.eng.Stays.SubmitStayFees(ctx, "ZYNOSUCH", r.dayFees("D1", 1), "test"); !errors.Is(err, settle.ErrNotFound) {
		t.Errorf("fees of an unknown stay: %v; want ErrNotFound", err)
	}
	if n := len(r.mustStay(a.IptNo).Batches); n != 1 {
		t.Errorf("batches kept: %d; want 1", n)
	}
}

func TestStay_Unfiled_RefusedVerbatim(t *testing.T) {
	r := newRig(t, rigOptions{})
	a := r.admission(cardUnfiled)
	_, err := r.eng.Stays.SubmitAdmission(context.Background(), a, "test")
	var ref *workflow.Refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.Message, "未备案") {
		t.Fatalf("admission of an unfiled cross-region patient: %v; want the platform's 未备案 verbatim", err)
	}
	if rec := r.mustStay(a.IptNo); rec.State != workflow.StateFailed {
		t.Errorf("state %s; want failed", rec.State)
	}
	if _, err := r.eng.Stays.SubmitStayFees(context.Background(), a.IptNo, r.dayFees("D1", 1), "test"); !errors.As(err, &ref) {
		t.Errorf("fees of a refused stay: %v; want the refusal", err)
	}
}

func TestStay_Offline_QueuedInOrderThenSynced(t *testing.T) {
	var logs syncbuf.Buffer
	r := newRig(t, rigOptions{mut: func(o *workflow.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) }})
	r.down(true)
	ipt, total := r.stayFlow(cardShanghaiFiled, workflow.ResultQueued)
	res, err := r.eng.Stays.SettleStay(context.Background(), ipt, settle.StaySettle{})
	if err != nil || res.Kind != workflow.ResultQueued {
		t.Fatalf("settle offline (defer): %v, %v; want queued", res.Kind, err)
	}
	if _, err := r.eng.Stays.PresettleStay(context.Background(), ipt, settle.StaySettle{}); !errors.Is(err, workflow.ErrOffline) {
		t.Errorf("presettle offline: %v; want ErrOffline (no estimate for a stay)", err)
	}
	rec := r.mustStay(ipt)
	if rec.State != workflow.StateQueued || len(rec.Ops) != 5 {
		t.Fatalf("offline: state %s, %d operations waiting; want queued with 5", rec.State, len(rec.Ops))
	}
	if n := r.eng.Stays.StayWaitingOps(); n != 5 {
		t.Errorf("waiting stay operations: %d; want 5", n)
	}
	r.down(false)
	r.drain(20, 2*time.Second)
	r.checkStayOnce(ipt)
	rec = r.mustStay(ipt)
	if s := rec.Final(); s == nil || s.Split.MedfeeSumamt != total || !s.Offline {
		t.Errorf("synced settlement %+v; want %s, marked as settled from the queue", s, total)
	} else if want := "msg=\"queued stay settled\" ipt_no=" + ipt + " setl_id=" + s.Split.SetlID; !strings.Contains(logs.String(), want) ||
		!strings.Contains(logs.String(), "psn_cash_pay="+s.Split.PsnCashPay.String()) {
		t.Errorf("log of the stay settled from the queue: got\n%s\nwant a line %q with its amounts, as for bills", logs.String(), want)
	}
	var infnos []string
	for _, e := range r.sim.Ledger() {
		if e.IptNo == ipt {
			infnos = append(infnos, e.Infno)
		}
	}
	if got := fmt.Sprint(infnos); got != "[2401 2301 2301 2402 2304]" {
		t.Errorf("sent in order: %s; want [2401 2301 2301 2402 2304]", got)
	}
}

func TestStay_Offline_RefusePolicy(t *testing.T) {
	r := newRig(t, rigOptions{mut: func(o *workflow.Options) { o.StayOffline = workflow.StayRefuse }})
	r.down(true)
	ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultQueued)
	if _, err := r.eng.Stays.SettleStay(context.Background(), ipt, settle.StaySettle{}); !errors.Is(err, workflow.ErrRefusedOffline) {
		t.Fatalf("settle offline under refuse: %v; want ErrRefusedOffline", err)
	}
	r.down(false)
	r.drain(20, 2*time.Second)
	if rec := r.mustStay(ipt); rec.State != workflow.StateDischarged {
		t.Errorf("after the sync: %s; want discharged (the settlement was refused, not queued)", rec.State)
	}
}

// TestStay_LostAnswers loses the answer of each write once, after the platform booked
// it, and checks the stay still ends settled exactly once.
func TestStay_LostAnswers(t *testing.T) {
	for _, infno := range []string{platform.InfnoAdmission, platform.InfnoInpatientFeeUpload, platform.InfnoDischarge, platform.InfnoInpatientSettle} {
		t.Run(infno, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			var lost atomic.Bool
			r.pf.decide = func(got string) fault {
				if got == infno && lost.CompareAndSwap(false, true) {
					return lostAfter
				}
				return passThrough
			}
			ipt, total := r.stayFlow(cardLocalEmployee, "")
			if _, err := r.eng.Stays.SettleStay(context.Background(), ipt, settle.StaySettle{AcctUsedFlag: "0"}); err != nil {
				t.Fatalf("settle: %v", err)
			}
			r.drain(20, 2*time.Second)
			r.checkStayOnce(ipt)
			rec := r.mustStay(ipt)
			if s := rec.Final(); s == nil || s.Split.MedfeeSumamt != total {
				t.Errorf("settled %+v; want the whole %s", s, total)
			}
			view, _ := r.sim.StayAt(fixmedins, ipt)
			if view.LiveFees != 6 {
				t.Errorf("fee lines standing at the platform: %d; want 6", view.LiveFees)
			}
		})
	}
}

// TestStay_LateSettlement: the 2304 is booked after the agent gave up on it and after
// its reversal was answered "does not exist"; the repeated 2304 is refused as already
// settled and the agent adopts the late one (5203).
func TestStay_LateSettlement(t *testing.T) {
	r := newRig(t, rigOptions{})
	ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	var once atomic.Bool
	r.pf.decide = func(got string) fault {
		if got == platform.InfnoInpatientSettle && once.CompareAndSwap(false, true) {
			return late
		}
		if got == platform.InfnoReversal {
			// The reversal is answered before the late booking lands.
			defer r.pf.Deliver(context.Background())
		}
		return passThrough
	}
	res, err := r.eng.Stays.SettleStay(context.Background(), ipt, settle.StaySettle{AcctUsedFlag: "0"})
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	if res.Kind != workflow.ResultQueued {
		r.drain(1, time.Second)
	}
	r.drain(20, 2*time.Second)
	r.checkStayOnce(ipt)
}

func TestStay_MidStayAndCancellations(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	a := r.admission(cardLocalResident)
	if _, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, r.dayFees("D1", 400), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Stays.SettleStay(ctx, a.IptNo, settle.StaySettle{}); !errors.Is(err, workflow.ErrWrongState) {
		t.Errorf("final settlement before discharge: %v; want a state error", err)
	}
	mid, err := r.eng.Stays.SettleStay(ctx, a.IptNo, settle.StaySettle{MidSetl: true})
	if err != nil || mid.Settlement == nil || !mid.Settlement.Mid || mid.Stay.State != workflow.StateAdmitted {
		t.Fatalf("mid-stay settlement: %+v, %v; want settled mid-stay, the stay still admitted", mid, err)
	}
	if _, err := r.eng.Stays.CancelStayFees(ctx, a.IptNo, "D1"); !errors.Is(err, workflow.ErrWrongState) {
		t.Errorf("cancel a settled batch: %v; want a state error", err)
	}
	r.clock.Advance(24 * time.Hour)
	if _, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, r.dayFees("D2", 10), "test"); err != nil {
		t.Fatal(err)
	}
	if res, err := r.eng.Stays.CancelStayFees(ctx, a.IptNo, "D2"); err != nil || res.Kind != workflow.ResultCancelled {
		t.Fatalf("cancel batch D2: %v, %v", res.Kind, err)
	}
	if v, _ := r.sim.StayAt(fixmedins, a.IptNo); v.LiveFees != 3 {
		t.Errorf("fee lines standing after the 2302s: %d; want the 3 of D1", v.LiveFees)
	}
	if res, err := r.eng.Stays.CancelStaySettlement(ctx, a.IptNo, mid.Settlement.Split.SetlID); err != nil || res.Kind != workflow.ResultCancelled {
		t.Fatalf("cancel the mid-stay settlement: %v, %v", res.Kind, err)
	}
	if res, err := r.eng.Stays.CancelStay(ctx, a.IptNo, "test"); err != nil || res.Stay.State != workflow.StateCancelled {
		t.Fatalf("cancel the stay: %v, %v; want cancelled", res.Kind, err)
	}
	if _, ok := r.sim.StayAt(fixmedins, a.IptNo); ok {
		t.Error("the platform still holds the cancelled admission")
	}
}

// TestStay_CrashEverywhere crashes the process at every commit of an online stay in
// turn (before the fsync, then after it), restarts on the same store file and syncs:
// the stay ends settled exactly once every time.
func TestStay_CrashEverywhere(t *testing.T) {
	for _, after := range []bool{false, true} {
		for n := int64(1); n <= 12; n++ {
			t.Run(fmt.Sprintf("after=%v/commit%d", after, n), func(t *testing.T) {
				r := newRig(t, rigOptions{})
				ctx := context.Background()
				r.crashAfter = after
				r.crashAt.Store(n)
				a := r.admission(cardLocalEmployee)
				steps := []func() error{
					func() error { _, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); return err },
					func() error {
						_, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, r.dayFees("D1", 100), "test")
						return err
					},
					func() error {
						_, err := r.eng.Stays.SubmitStayFees(ctx, a.IptNo, r.dayFees("D2", 50), "test")
						return err
					},
					func() error { _, err := r.eng.Stays.SubmitDischarge(ctx, a.IptNo, r.discharge(), "test"); return err },
					func() error { _, err := r.eng.Stays.SettleStay(ctx, a.IptNo, settle.StaySettle{}); return err },
				}
				i := 0
				for ; i < len(steps) && !r.crashed.Load(); i++ {
					_ = steps[i]()
				}
				r.restart()
				// The HIS sends again what it had no answer for; the window settles again.
				for j := max(i-1, 0); j < len(steps); j++ {
					_ = steps[j]()
				}
				r.drain(30, 2*time.Second)
				_ = steps[len(steps)-1]()
				r.drain(30, 2*time.Second)
				if n := r.sim.SettledStays()[a.IptNo]; n != 1 {
					t.Fatalf("final settlements at the platform: %d; want exactly 1 (state %s)", n, r.mustStay(a.IptNo).State)
				}
				if rec := r.mustStay(a.IptNo); rec.State != workflow.StateSettled {
					t.Errorf("state %s; want settled", rec.State)
				}
			})
		}
	}
}

// TestStay_PastHorizon_DeadThenRetried: a stay whose line cannot be sent within the
// retry horizon is dead (never deleted); an administrator's retry sends it again.
func TestStay_PastHorizon_DeadThenRetried(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.down(true)
	a := r.admission(cardLocalEmployee)
	if res, err := r.eng.Stays.SubmitAdmission(context.Background(), a, "test"); err != nil || res.Kind != workflow.ResultQueued {
		t.Fatalf("admit offline: %v, %v", res.Kind, err)
	}
	r.clock.Advance(8 * 24 * time.Hour)
	r.pf.decide = func(string) fault { return lostBefore }
	r.eng.Link.Breaker().OK()
	if _, err := r.eng.Queue.SyncOnce(context.Background(), 8); err != nil {
		t.Fatal(err)
	}
	rec := r.mustStay(a.IptNo)
	if rec.State != workflow.StateDead {
		t.Fatalf("stay past the retry horizon: %s; want dead", rec.State)
	}
	if got := r.eng.Stays.StaySummary(); got.States[workflow.StateDead] != 1 {
		t.Errorf("summary %+v; want one dead stay", got)
	}
	r.pf.decide = nil
	if err := r.eng.Queue.RetryJob(context.Background(), rec.QueueID); err != nil {
		t.Fatalf("retry: %v", err)
	}
	r.drain(20, 2*time.Second)
	if rec := r.mustStay(a.IptNo); rec.State != workflow.StateAdmitted || rec.MdtrtID == "" {
		t.Errorf("after the retry: %s %q; want admitted", rec.State, rec.MdtrtID)
	}
	if v, ok := r.sim.StayAt(fixmedins, a.IptNo); !ok || v.MdtrtID == "" {
		t.Error("the platform holds no admission after the retry")
	}
}

// TestStay_Retention: a stay settled for good is removed once past retention,
// counted from the day it was settled; an open stay is never removed.
func TestStay_Retention(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	done, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	if _, err := r.eng.Stays.SettleStay(ctx, done, settle.StaySettle{}); err != nil {
		t.Fatal(err)
	}
	open := r.admission(cardLocalResident)
	if _, err := r.eng.Stays.SubmitAdmission(ctx, open, "test"); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(29 * 24 * time.Hour)
	if _, err := r.eng.Queue.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	r.mustStay(done)
	r.clock.Advance(3 * 24 * time.Hour)
	if _, err := r.eng.Queue.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.Stays.Stay(done); !errors.Is(err, settle.ErrNotFound) {
		t.Errorf("a stay settled 32 days ago (retention 30 days): %v; want it removed", err)
	}
	r.mustStay(open.IptNo)
}

// TestStay_ChangeAdmission: a bed and department change reaches the platform (2403),
// also when its first answer is lost (sent again: it sets the same fields).
func TestStay_ChangeAdmission(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	a := r.admission(cardLocalEmployee)
	if _, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); err != nil {
		t.Fatal(err)
	}
	var lost atomic.Bool
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoAdmissionChange && lost.CompareAndSwap(false, true) {
			return lostAfter
		}
		return passThrough
	}
	c := settle.AdmissionChange{Bed: "12-05", Dept: settle.Code{Code: "0302", Name: "呼吸内科"}}
	if _, err := r.eng.Stays.ChangeAdmission(ctx, a.IptNo, c, "test"); err != nil {
		t.Fatal(err)
	}
	r.drain(10, 2*time.Second)
	rec := r.mustStay(a.IptNo)
	if rec.Admission.Bed != "12-05" || rec.Admission.Dept.Code != "0302" || rec.State != workflow.StateAdmitted {
		t.Errorf("after the change: bed %q dept %+v state %s; want 12-05, 0302, admitted", rec.Admission.Bed, rec.Admission.Dept, rec.State)
	}
	n := 0
	for _, e := range r.sim.Ledger() {
		if e.IptNo == a.IptNo && e.Infno == platform.InfnoAdmissionChange {
			n++
		}
	}
	if n < 1 {
		t.Errorf("2403 bookings at the platform: %d; want the change booked", n)
	}
	if res, err := r.eng.Stays.SubmitAdmission(ctx, a, "test"); err != nil || res.Kind != workflow.ResultCreated {
		t.Errorf("the original admission posted again after the change: %v, %v; want what it answered", res.Kind, err)
	}
	if _, err := r.eng.Stays.ChangeAdmission(ctx, a.IptNo, settle.AdmissionChange{}, "test"); !errors.Is(err, settle.ErrInvalid) {
		t.Errorf("an empty change: %v; want a validation error", err)
	}
}

// Issue 22: past the retry horizon a queued stay called Nack whatever the clock
// said, so a jump of the machine's clock killed it, where a bill checks the clock
// and postpones. One drain rule for both: the stay stays queued, and settles once
// the clock is right.
func TestStay_ClockJump_QueuedStayNotKilled(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	ipt, _ := r.stayFlow(cardLocalEmployee, workflow.ResultCreated)
	r.down(true)
	res, err := r.eng.Stays.SettleStay(ctx, ipt, settle.StaySettle{AcctUsedFlag: "0"})
	if err != nil || res.Kind != workflow.ResultQueued {
		t.Fatalf("settle while offline: %v, %v; want queued", res.Kind, err)
	}
	r.skew = 40 * 24 * time.Hour // the machine's clock jumps 40 days ahead
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSignIn {
			return passThrough
		}
		return lostBefore
	}
	if !r.eng.Link.Probe(ctx) {
		t.Fatal("probe: the platform does not answer")
	}
	if r.eng.Link.ClockTrusted() {
		t.Fatal("clock trusted after a jump of 40 days")
	}
	if _, err := r.eng.Queue.SyncOnce(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if got := r.mustStay(ipt); got.State == workflow.StateDead || got.Dead {
		t.Fatalf("queued stay after a clock jump: %s; want it kept queued", got.State)
	}
	r.skew = 0
	r.pf.decide = nil
	r.eng.Link.Probe(ctx)
	r.drain(10, time.Minute)
	r.checkStayOnce(ipt)
}
