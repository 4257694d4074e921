package workflow_test

import (
	"context"
	"slices"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/workflow"
)

// The stay simulation's money oracle (issue 28, docs/architecture.md "Money
// invariants"). A stay collects nothing offline: a settlement asked while the
// platform cannot be reached is deferred and the deposit (押金) covers the patient, so
// the difference — the platform's psn_cash_pay — is due when the real settlement
// comes, on its day's report. So:
//   - at every step: the hospital carries nothing for stays (Outstanding is 0), and a
//     settlement a window was told stands in the stay's record as told — the same
//     setl_id and the same money — until its cancellation is asked;
//   - at the end, against the platform's ledger: each settlement standing at the
//     platform is one of the stay's, with the platform's money, mid flag and day (its
//     setl_time); each one the stay holds as standing stands; each cancelled one is
//     cancelled at the platform, on the cancellation's day; a settlement the window
//     was told queued is marked deferred (the report asks its psn_cash_pay from the
//     deposit), one told settled online is not (the window collected it); every stay
//     with money due is on its settlement day's report.

// checkStep is the oracle's check after every answer and every drain round.
func (s *staySim) checkStep() {
	if got := s.r.eng.Bills.Outstanding(); got != 0 {
		s.fatalf("the outstanding (carried) amount is %s with only stays; want 0 (a stay carries nothing)", got)
	}
	for _, st := range s.stays {
		rec, err := s.r.eng.Stays.Stay(st.a.IptNo)
		if err != nil {
			continue
		}
		for id, told := range st.told {
			l := settlementOf(rec, id)
			if l == nil {
				s.fatalf("stay %s: the window was told settlement %s; the stay no longer holds it", st.a.IptNo, id)
			}
			if l.Split.PsnCashPay != told.PsnCashPay || l.Split.MedfeeSumamt != told.MedfeeSumamt {
				s.fatalf("stay %s: the window was told settlement %s with cash %s of %s; the stay now says %s of %s",
					st.a.IptNo, id, told.PsnCashPay, told.MedfeeSumamt, l.Split.PsnCashPay, l.Split.MedfeeSumamt)
			}
			if l.Cancelled && !st.cancelAsked[id] {
				s.fatalf("stay %s: settlement %s the window was told is marked cancelled; nobody asked", st.a.IptNo, id)
			}
		}
	}
}

func settlementOf(rec *workflow.StayRecord, setlID string) *workflow.StaySettlement {
	for i := range rec.Settlements {
		if rec.Settlements[i].Split.SetlID == setlID {
			return &rec.Settlements[i]
		}
	}
	return nil
}

// checkMoney judges each stay's settlements against the platform's ledger.
func (s *staySim) checkMoney() {
	r := s.r
	ledger := r.sim.Ledger()
	byMsgid := map[string]sim.Entry{}
	for _, e := range ledger {
		byMsgid[e.Msgid] = e
	}
	for _, e := range ledger {
		if r.pf.answered[e.Msgid] && e.Reversed && !r.pf.restartedBetween(e.Msgid, e.ReversedBy) {
			// (A crash between the answer and its commit loses what the agent
			// read: then the 2304 is an unknown outcome like any lost answer.)
			r.dumpStay(s.t, e.IptNo)
			s.fatalf("%s %s (stay %s) was booked and answered infcode 0 (unreadable); it was reversed by %s — a success is a success", e.Infno, e.Msgid, e.IptNo, e.ReversedBy)
		}
	}
	for _, st := range s.stays {
		ipt := st.a.IptNo
		rec := r.mustStay(ipt)
		platformLive := map[string]sim.Entry{}
		platformAll := map[string]sim.Entry{}
		for _, e := range ledger {
			if e.IptNo != ipt || e.Infno != platform.InfnoInpatientSettle {
				continue
			}
			platformAll[e.SetlID] = e
			if e.Live() {
				platformLive[e.SetlID] = e
			}
		}
		for id, e := range platformLive {
			l := settlementOf(rec, id)
			switch {
			case l == nil:
				r.dumpStay(s.t, ipt)
				s.fatalf("stay %s: the platform holds settlement %s (msgid %s); the stay does not", ipt, id, e.Msgid)
			case l.Cancelled:
				r.dumpStay(s.t, ipt)
				s.fatalf("stay %s: settlement %s stands at the platform; the stay says it is cancelled", ipt, id)
			case l.Split.PsnCashPay != e.PsnCashPay || l.Split.MedfeeSumamt != e.MedfeeSumamt || l.Split.FundPaySumamt != e.FundPaySumamt:
				s.fatalf("stay %s: settlement %s says cash %s fund %s of %s; the platform booked cash %s fund %s of %s",
					ipt, id, l.Split.PsnCashPay, l.Split.FundPaySumamt, l.Split.MedfeeSumamt, e.PsnCashPay, e.FundPaySumamt, e.MedfeeSumamt)
			case l.Mid != e.MidSetl:
				s.fatalf("stay %s: settlement %s mid %v; the platform booked mid %v", ipt, id, l.Mid, e.MidSetl)
			case l.SettleDay != settle.Day(e.Time):
				s.fatalf("stay %s: settlement %s counts on %s; the platform booked it on %s (skew %v)", ipt, id, l.SettleDay, settle.Day(e.Time), r.skew)
			}
			told, wasTold := st.told[id]
			if wasTold && told.PsnCashPay != e.PsnCashPay {
				s.fatalf("stay %s: the window was told cash %s for %s; the platform booked %s", ipt, told.PsnCashPay, id, e.PsnCashPay)
			}
			// Deferred or collected: the settlement the window was told queued is
			// asked from the deposit on its day's report; one told settled online
			// is not asked again.
			switch {
			case wasTold && l.Offline && !st.queued[l.Mid]:
				s.fatalf("stay %s: settlement %s was settled online (the window collected %s) and is marked deferred: its cash would be asked again from the deposit", ipt, id, e.PsnCashPay)
			case !wasTold && st.queued[l.Mid] && !l.Offline:
				r.dumpStay(s.t, ipt)
				s.fatalf("stay %s: the window was told its settlement (mid %v) queued; settlement %s is not marked deferred, so no report asks its cash %s from the deposit", ipt, l.Mid, id, e.PsnCashPay)
			}
			if l.Offline {
				recs, err := r.eng.Stays.StaysOfDay(l.SettleDay)
				if err != nil {
					s.fatalf("stays of %s: %v", l.SettleDay, err)
				}
				if !slices.ContainsFunc(recs, func(x *workflow.StayRecord) bool { return x.Admission.IptNo == ipt }) {
					s.fatalf("stay %s: deferred settlement %s (cash %s due) is on no report of %s", ipt, id, e.PsnCashPay, l.SettleDay)
				}
			}
		}
		for _, l := range rec.Settlements {
			e, ok := platformAll[l.Split.SetlID]
			switch {
			case !ok:
				r.dumpStay(s.t, ipt)
				s.fatalf("stay %s holds settlement %s; the platform never booked it", ipt, l.Split.SetlID)
			case !l.Cancelled && !e.Live():
				r.dumpStay(s.t, ipt)
				s.fatalf("stay %s holds settlement %s as standing; the platform's is reversed %v / cancelled %v", ipt, l.Split.SetlID, e.Reversed, e.Cancelled)
			case l.Cancelled && e.Live():
				s.fatalf("stay %s says settlement %s is cancelled; it stands at the platform", ipt, l.Split.SetlID)
			case l.Cancelled && e.Cancelled:
				if c, ok := byMsgid[e.CancelledBy]; ok && l.CancelDay != settle.Day(c.Time) {
					s.fatalf("stay %s: the cancellation of %s counts on %s; the platform booked it on %s", ipt, l.Split.SetlID, l.CancelDay, settle.Day(c.Time))
				}
			}
		}
	}
}

// checkRetention: a month on, the retention sweep removes only stays done before the
// retention; one whose settlement was cancelled and made again later is kept from the
// day it was done again.
func (s *staySim) checkRetention() {
	r := s.r
	ctx := context.Background()
	var again *simStay
	for _, st := range s.stays {
		if !st.cancel {
			again = st
			break
		}
	}
	const retention = 30 * 24 * time.Hour
	r.clock.Advance(time.Duration(10+s.rng.IntN(10)) * 24 * time.Hour)
	if again != nil {
		// Cancelled and settled again, days after it was first done.
		rec := r.mustStay(again.a.IptNo)
		if f := rec.Final(); f != nil {
			s.cancelSettlement(again, f.Split.SetlID)
			s.settle(again, false)
			r.drain(20, 31*time.Second)
		}
	}
	doneAt := map[string]time.Time{} // ipt_no -> when the platform booked what made it done
	for _, e := range r.sim.Ledger() {
		if e.IptNo == "" {
			continue
		}
		if e.Infno == platform.InfnoInpatientSettle && !e.MidSetl && e.Live() || e.Infno == platform.InfnoCancelAdmission && e.Live() {
			if e.Time.After(doneAt[e.IptNo]) {
				doneAt[e.IptNo] = e.Time
			}
		}
	}
	for _, st := range s.stays {
		if st.cancelledAt.After(doneAt[st.a.IptNo]) {
			doneAt[st.a.IptNo] = st.cancelledAt
		}
	}
	r.clock.Advance(retention - time.Duration(s.rng.IntN(5))*24*time.Hour)
	if _, err := r.eng.Queue.Sweep(ctx); err != nil {
		s.fatalf("sweep: %v", err)
	}
	cutoff := settle.Day(r.now().Add(-retention))
	for _, st := range s.stays {
		_, err := r.eng.Stays.Stay(st.a.IptNo)
		done := doneAt[st.a.IptNo]
		if err != nil && (done.IsZero() || settle.Day(done) >= settle.Day(r.now().Add(-retention+24*time.Hour))) {
			s.fatalf("stay %s was swept (cutoff %s); it was done on %s, inside the retention", st.a.IptNo, cutoff, done.Format(time.DateTime))
		}
	}
}
