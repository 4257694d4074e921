package workflow

import "context"

// stayFlow is the stay workflow as the drain path drives a queued stay's line.
type stayFlow struct {
	s *Stays
	// settled counts the stay's settlements before this sync advanced it.
	settled int
}

func (*stayFlow) noun() string                          { return "stay" }
func (*stayFlow) lockKey(iptNo string) string           { return "stay\x00" + iptNo }
func (f *stayFlow) load(iptNo string) (document, error) { return load(stayShelf, f.s.st, iptNo) }

// revive: a dead stay whose job was put back in line by hand is retried.
func (*stayFlow) revive(doc document, j Job) bool {
	rec := doc.(*StayRecord)
	if rec.Dead && rec.QueueID == j.ID {
		rec.Dead = false
		return true
	}
	return false
}

// idle: a stay whose line is empty and nothing unresolved is stored (its state
// derived again) with its job acked.
func (f *stayFlow) idle(ctx context.Context, doc document, ack func(Tx) error) bool {
	rec := doc.(*StayRecord)
	if len(rec.Ops) > 0 || len(rec.Pending) > 0 {
		return false
	}
	_ = f.s.saveStay(ctx, rec, ack)
	return true
}

func (f *stayFlow) advance(ctx context.Context, doc document) error {
	rec := doc.(*StayRecord)
	f.settled = len(rec.Settlements)
	return f.s.advanceStay(ctx, rec)
}

// synced stores the stay with its job acked and tells what the inpatient office
// settles with the patient, as for a queued bill.
func (f *stayFlow) synced(ctx context.Context, doc document, ack func(Tx) error) {
	rec := doc.(*StayRecord)
	if serr := f.s.saveStay(ctx, rec, ack); serr != nil {
		f.s.log.Error("store synced stay", "ipt_no", rec.Admission.IptNo, "err", serr)
		return
	}
	f.s.log.Info("queued stay synced", "ipt_no", rec.Admission.IptNo, "state", string(rec.State))
	for _, st := range rec.Settlements[min(f.settled, len(rec.Settlements)):] {
		f.s.log.Info("queued stay settled", "ipt_no", rec.Admission.IptNo, "setl_id", st.Split.SetlID, "mid_setl", st.Mid,
			"medfee_sumamt", st.Split.MedfeeSumamt, "fund_pay_sumamt", st.Split.FundPaySumamt,
			"acct_pay", st.Split.AcctPay, "psn_cash_pay", st.Split.PsnCashPay)
	}
}

func (*stayFlow) refuse(doc document, err error) {
	rec := doc.(*StayRecord)
	rec.ErrCode, rec.ErrMsg = "platform_refused", refusalMessage(err)
}

func (f *stayFlow) refused(doc document) {
	rec := doc.(*StayRecord)
	f.s.log.Warn("queued stay needs a person", "ipt_no", rec.Admission.IptNo, "err_msg", rec.ErrMsg)
}

func (f *stayFlow) save(ctx context.Context, doc document, also func(Tx) error) error {
	return f.s.saveStay(ctx, doc.(*StayRecord), also)
}

func (*stayFlow) prepareRetry(document) {}

func (*stayFlow) clone(doc document) document {
	d := *doc.(*StayRecord)
	return &d
}

func (*stayFlow) markDead(doc document, reason string) {
	rec := doc.(*StayRecord)
	rec.Dead, rec.ErrCode, rec.ErrMsg = true, "dead", "not sent within the retry horizon: "+reason
	rec.State = rec.derive()
}

func (f *stayFlow) died(doc document) {
	f.s.obs.BillEvent("stay_dead", "")
	f.s.log.Error("queued stay is dead: past the retry horizon", "ipt_no", doc.(*StayRecord).Admission.IptNo)
}

// moved: retried, the stay is no longer dead and its line is sent again; given up,
// the stay is dead.
func (*stayFlow) moved(doc document, retried bool) {
	rec := doc.(*StayRecord)
	if retried {
		rec.Dead, rec.ErrCode, rec.ErrMsg = false, "", ""
	} else {
		rec.Dead, rec.ErrCode, rec.ErrMsg = true, "dead", "moved to dead by an administrator"
	}
}
