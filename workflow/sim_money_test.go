package workflow_test

import (
	"context"
	"errors"

	"github.com/settle-agent/settle-agent/recon"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// The simulation's money oracle (issue 28, docs/architecture.md "Money invariants"):
// what the window was told to collect is what the bill says was collected; refund −
// amount due = collected − the patient's own share of the settlement that stands at
// the platform (0 when none stands); nothing collected online is refunded; the carried
// amount is the sum over the open offline bills and never exceeds the bound; every bill
// with money to give back or take is on a day's report.

// told keeps what an answer told the window to collect; every later answer must say
// the same.
func (s *simulation) told(sb *simBill, res workflow.Result) {
	if res.Bill == nil {
		return
	}
	got := res.Bill.Collected
	if sb.toldSet && !sameMoney(sb.told, got) {
		s.fatalf("bill %s: the window was told to collect %s, now %s", sb.bill.BillNo, moneyOf(sb.told), moneyOf(got))
	}
	sb.told, sb.toldSet = got, true
	if res.Kind == workflow.ResultSettled {
		sb.online = true
	}
}

func sameMoney(a, b *settle.Money) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

func moneyOf(m *settle.Money) string {
	if m == nil {
		return "nil (the platform's share)"
	}
	return m.String()
}

// deliverSome lands some of the late calls, in a random order.
func (s *simulation) deliverSome() {
	s.r.pf.DeliverSome(context.Background(), func(n int) []int {
		var out []int
		for _, i := range s.rng.Perm(n) {
			if s.rng.IntN(3) != 0 {
				out = append(out, i)
			}
		}
		if len(out) > 1 {
			s.count("late_out_of_order")
		}
		return out
	})
}

// checkCarried: the carried amount is the sum over the bills, never above the bound.
func (s *simulation) checkCarried() {
	var sum settle.Money
	for _, sb := range s.bills {
		rec, err := s.r.eng.Bills.Bill(sb.bill.BillNo)
		if err != nil {
			continue
		}
		if rec.Carried < 0 {
			s.fatalf("bill %s carries %s", rec.Bill.BillNo, rec.Carried)
		}
		if rec.Carried != 0 && (rec.State == workflow.StateSettled || rec.State == workflow.StateCancelled) {
			s.fatalf("bill %s is %s and still carries %s", rec.Bill.BillNo, rec.State, rec.Carried)
		}
		sum += rec.Carried
	}
	if got := s.r.eng.Bills.Outstanding(); got != sum {
		s.fatalf("the outstanding amount is %s; the bills carry %s", got, sum)
	}
	if s.maxOut > 0 && sum > s.maxOut {
		s.fatalf("the bills carry %s; max_outstanding_amount is %s", sum, s.maxOut)
	}
	if sum > 0 {
		s.count("carried_checked")
	}
}

// checkMoney checks every bill's money at the end of the seed, against the platform's
// ledger.
func (s *simulation) checkMoney() {
	r := s.r
	live := map[string][]settle.Money{} // bill -> own cash share of its live settlements
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoSettle && e.Live() {
			live[billOfBatch(e.ChrgBchno)] = append(live[billOfBatch(e.ChrgBchno)], e.PsnCashPay)
		}
	}
	days := map[string]bool{}
	for _, sb := range s.bills {
		if rec, err := r.eng.Bills.Bill(sb.bill.BillNo); err == nil {
			for _, d := range []string{rec.SettleDay, rec.QueueDay} {
				if d != "" {
					days[d] = true
				}
			}
		}
	}
	listed := map[string]bool{}
	for d := range days {
		recs, err := r.eng.Bills.BillsOfDay(d)
		if err != nil {
			s.fatalf("bills of %s: %v", d, err)
		}
		for _, rec := range recs {
			listed[rec.Bill.BillNo] = true
		}
	}
	for _, sb := range s.bills {
		no := sb.bill.BillNo
		rec, err := r.eng.Bills.Bill(no)
		if errors.Is(err, settle.ErrNotFound) {
			continue
		}
		if err != nil {
			s.fatalf("bill %s: %v", no, err)
		}
		if sb.toldSet && !sameMoney(sb.told, rec.Collected) {
			s.fatalf("bill %s: the window was told to collect %s; the bill says %s\nhistory %+v", no, moneyOf(sb.told), moneyOf(rec.Collected), rec.History)
		}
		if sb.online && rec.Collected != nil {
			s.fatalf("bill %s was settled online; it now says %s was collected offline", no, rec.Collected)
		}
		d, ok := workflow.DifferenceOf(rec)
		done := rec.State == workflow.StateSettled || rec.State == workflow.StateCancelled
		if rec.Collected != nil && done && !ok {
			s.fatalf("bill %s is %s with %s collected and states no refund or amount due", no, rec.State, rec.Collected)
		}
		if !ok {
			continue
		}
		s.count("money_checked")
		var own settle.Money
		switch l := live[no]; {
		case rec.State == workflow.StateSettled && len(l) == 1:
			own = l[0]
		case rec.State == workflow.StateCancelled && len(l) == 0:
		default:
			continue // the bookings are already judged by check (a late booking 3202 names)
		}
		if d.Refund-d.AmountDue != *rec.Collected-own || d.Refund < 0 || d.AmountDue < 0 || d.Refund != 0 && d.AmountDue != 0 {
			s.fatalf("bill %s (%s): refund %s, amount due %s; collected %s and the platform's own share %s", no, rec.State, d.Refund, d.AmountDue, rec.Collected, own)
		}
		if (d.Refund != 0 || d.AmountDue != 0) && !listed[no] {
			s.fatalf("bill %s has refund %s / amount due %s and is on no day's report", no, d.Refund, d.AmountDue)
		}
		if d.Refund != 0 {
			s.count("money_refund")
		}
		if d.AmountDue != 0 {
			s.count("money_due")
		}
	}
}

// checkReconMoney judges the day's reconciliation report (what /v1/reconciliation
// answers, JSON and CSV) by the oracle: each row's refund and amount due against what
// the window was told to collect and the own share of the settlement that stands at
// the platform's ledger (0 when none stands and the bill is cancelled).
func (s *simulation) checkReconMoney(day string, rep *recon.Reconciliation) {
	live := map[string][]settle.Money{}
	for _, e := range s.r.sim.Ledger() {
		if e.Infno == platform.InfnoSettle && e.Live() {
			live[billOfBatch(e.ChrgBchno)] = append(live[billOfBatch(e.ChrgBchno)], e.PsnCashPay)
		}
	}
	told := map[string]*simBill{}
	for _, sb := range s.bills {
		told[sb.bill.BillNo] = sb
	}
	for _, row := range rep.Differences {
		sb := told[row.BillNo]
		if sb == nil || !sb.toldSet || sb.told == nil || row.RealCash == nil {
			continue
		}
		if row.Collected != *sb.told {
			s.fatalf("reconciliation of %s: bill %s collected %s; the window was told to collect %s", day, row.BillNo, row.Collected, *sb.told)
		}
		var own settle.Money
		switch l := live[row.BillNo]; {
		case len(l) == 1 && row.State == string(workflow.StateSettled):
			own = l[0]
		case len(l) == 0 && row.State == string(workflow.StateCancelled):
		default:
			continue // the bookings are judged by check
		}
		refund, due := settle.Owed(*sb.told, own)
		if row.Refund != refund || row.AmountDue != due {
			s.fatalf("reconciliation of %s: bill %s refund %s, amount due %s; the oracle says refund %s, amount due %s (told %s, own share standing %s)",
				day, row.BillNo, row.Refund, row.AmountDue, refund, due, *sb.told, own)
		}
		s.count("recon_money_checked")
	}
}
