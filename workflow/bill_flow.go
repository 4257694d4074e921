package workflow

import "context"

// billFlow is the bill workflow as the drain path drives a queued bill.
type billFlow struct{ b *Bills }

func (billFlow) noun() string                           { return "bill" }
func (billFlow) lockKey(billNo string) string           { return billNo }
func (f billFlow) load(billNo string) (document, error) { return load(billShelf, f.b.st, billNo) }

// revive: a failed or dead bill whose job was put back in line by hand (settle-agent
// queue retry with the agent stopped) is retried too.
func (billFlow) revive(doc document, j Job) bool {
	rec := doc.(*Record)
	if (rec.State == StateFailed || rec.State == StateDead) && rec.QueueID == j.ID {
		rec.State, rec.ErrCode, rec.ErrMsg = StateQueued, "", ""
		return true
	}
	return false
}

// idle: a bill settled or cancelled with nothing unresolved only has its job acked.
func (f billFlow) idle(ctx context.Context, doc document, ack func(Tx) error) bool {
	rec := doc.(*Record)
	if !rec.State.Terminal() || rec.unresolved() {
		return false
	}
	_ = f.b.st.Update(ctx, ack)
	return true
}

func (f billFlow) advance(ctx context.Context, doc document) error {
	return f.b.advance(ctx, doc.(*Record))
}

// synced stores the bill at its goal (releasing what was carried for it) and tells
// what the cashier settles with the patient.
func (f billFlow) synced(ctx context.Context, doc document, ack func(Tx) error) {
	rec, e := doc.(*Record), f.b
	if serr := e.finish(ctx, rec, ack); serr != nil {
		e.log.Error("store synced bill", "bill_no", rec.Bill.BillNo, "err", serr)
		return
	}
	if rec.State == StateSettled {
		e.obs.BillEvent("settled", "queue")
		if d, ok := DifferenceOf(rec); ok {
			e.log.Info("queued bill settled", "bill_no", rec.Bill.BillNo, "setl_id", rec.Settlement.SetlID,
				"collected", d.Collected, "psn_cash_pay", d.RealCash, "refund", d.Refund, "amount_due", d.AmountDue)
		}
	} else {
		e.obs.BillEvent("cancelled", "")
		e.log.Info("queued cancellation applied", "bill_no", rec.Bill.BillNo)
	}
}

func (f billFlow) refuse(doc document, err error) { f.b.setFailed(doc.(*Record), err) }

func (f billFlow) refused(doc document) {
	rec := doc.(*Record)
	f.b.log.Warn("queued bill refused by the platform; needs a person", "bill_no", rec.Bill.BillNo, "err_msg", rec.ErrMsg)
}

func (f billFlow) save(ctx context.Context, doc document, also func(Tx) error) error {
	return f.b.save(ctx, doc.(*Record), also)
}

// prepareRetry: a bill waits queued (or settling, when a settlement may be in flight).
func (billFlow) prepareRetry(doc document) {
	if rec := doc.(*Record); rec.State != StateSettling {
		rec.State = StateQueued
	}
}

func (billFlow) clone(doc document) document {
	d := *doc.(*Record)
	return &d
}

func (billFlow) markDead(doc document, reason string) {
	rec := doc.(*Record)
	rec.State, rec.ErrCode, rec.ErrMsg = StateDead, "dead", "not settled within the retry horizon: "+reason
	rec.stored = StateDead
}

func (f billFlow) died(doc document) {
	f.b.obs.BillEvent("dead", "")
	f.b.log.Error("queued bill is dead: past the retry horizon", "bill_no", doc.(*Record).Bill.BillNo)
}

// moved: retried, a failed or dead bill is queued again; given up, it is dead.
func (billFlow) moved(doc document, retried bool) {
	rec := doc.(*Record)
	switch {
	case !retried:
		rec.State, rec.ErrCode, rec.ErrMsg = StateDead, "dead", "moved to dead by an administrator"
	case rec.State == StateFailed || rec.State == StateDead:
		rec.State = StateQueued
		rec.ErrCode, rec.ErrMsg = "", ""
	}
}
