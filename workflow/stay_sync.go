package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	settle "github.com/settle-agent/settle-agent"
)

// syncStay drives one queued stay's line and moves its job in the same transaction as
// the stay's new state: done when the line is empty, failed when a pending message
// cannot be resolved without a person, back to ready with backoff otherwise (dead past
// the retry horizon, and the stay with it).
func (e *Queue) syncStay(ctx context.Context, j Job, iptNo string) {
	sctx := context.WithoutCancel(ctx)
	ctx, unlock, err := e.locker.Lock(ctx, "stay\x00"+iptNo)
	if err != nil {
		return
	}
	defer unlock()
	sctx = context.WithoutCancel(ctx) // the lock's fence with it
	rec, err := e.stays.Stay(iptNo)
	if errors.Is(err, settle.ErrNotFound) {
		e.log.Error("queued stay not in the store; moved to failed", "ipt_no", iptNo, "id", j.ID)
		_ = e.st.Update(sctx, func(tx Tx) error { return tx.Fail(j.ID, "stay not found in the store") })
		return
	}
	if err != nil {
		e.log.Error("load queued stay", "ipt_no", iptNo, "err", err)
		_ = e.st.Update(sctx, func(tx Tx) error { _, err := tx.Nack(j.ID, err.Error()); return err })
		return
	}
	if rec.Dead && rec.QueueID == j.ID {
		e.log.Warn("queue job retried by hand; the stay is retried", "ipt_no", iptNo, "id", j.ID)
		rec.Dead = false
	}
	if len(rec.Ops) == 0 && len(rec.Pending) == 0 {
		_ = e.stays.saveStay(sctx, rec, func(tx Tx) error { return ackLenient(tx, j.ID) })
		return
	}
	settled := len(rec.Settlements)
	err = e.stays.advanceStay(ctx, rec)
	switch {
	case err == nil:
		if serr := e.stays.saveStay(sctx, rec, func(tx Tx) error { return ackLenient(tx, j.ID) }); serr != nil {
			e.log.Error("store synced stay", "ipt_no", iptNo, "err", serr)
			return
		}
		e.log.Info("queued stay synced", "ipt_no", iptNo, "state", string(rec.State))
		// What the inpatient office settles with the patient, as for a queued bill.
		for _, st := range rec.Settlements[min(settled, len(rec.Settlements)):] {
			e.log.Info("queued stay settled", "ipt_no", iptNo, "setl_id", st.Split.SetlID, "mid_setl", st.Mid,
				"medfee_sumamt", st.Split.MedfeeSumamt, "fund_pay_sumamt", st.Split.FundPaySumamt,
				"acct_pay", st.Split.AcctPay, "psn_cash_pay", st.Split.PsnCashPay)
		}
	case isFinal(err):
		rec.ErrCode, rec.ErrMsg = "platform_refused", refusalMessage(err)
		if serr := e.stays.saveStay(sctx, rec, func(tx Tx) error {
			if err := tx.Fail(j.ID, rec.ErrMsg); err != nil && !lostLease(err) {
				return err
			}
			return nil
		}); serr != nil {
			e.log.Error("store failed stay", "ipt_no", iptNo, "err", serr)
		}
		e.log.Warn("queued stay needs a person", "ipt_no", iptNo, "err_msg", rec.ErrMsg)
	default:
		reason := err.Error()
		dead := false
		trusted := e.link.trustClockFor("ipt_no", iptNo)
		serr := e.stays.saveStay(sctx, rec, func(tx Tx) error {
			var err error
			if dead, err = returnJob(tx, j.ID, reason, trusted); err != nil || !dead {
				return err
			}
			d := *rec
			d.Dead, d.ErrCode, d.ErrMsg = true, "dead", "not sent within the retry horizon: "+reason
			d.State = d.derive()
			return e.stays.putStay(tx, &d)
		})
		if serr != nil {
			e.log.Error("store retried stay", "ipt_no", iptNo, "err", serr)
			return
		}
		if dead {
			rec.Dead, rec.ErrCode, rec.ErrMsg = true, "dead", "not sent within the retry horizon: "+reason
			e.obs.BillEvent("stay_dead", "")
			e.log.Error("queued stay is dead: past the retry horizon", "ipt_no", iptNo)
		}
	}
}

// recoverStays queues the stays whose line was cut short by the last stop without a
// queue job in line (an online request that crashed mid-way): their stored msgids are
// resolved and their operations sent by the sync loop.
func (e *Queue) recoverStays(ctx context.Context) error {
	var recs []*StayRecord
	err := e.st.View(func(tx ReadTx) error {
		ids, err := tx.IDs(KindStay, IndexState+string(StateQueued), "", 1<<20)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rec, err := getStay(tx, id)
			if err != nil {
				return err
			}
			if rec.QueueID != 0 {
				if j, err := tx.Job(rec.QueueID); err == nil && (j.State == JobReady || j.State == JobLeased) {
					continue
				}
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if len(rec.Ops) == 0 && len(rec.Pending) == 0 {
			continue
		}
		if err := e.stays.enqueueStay(ctx, rec); err != nil {
			return err
		}
		e.log.Warn("stay interrupted by the last stop; queued to finish it", "ipt_no", rec.Admission.IptNo)
	}
	return nil
}

// isStayJob reports whether a queue job drives a stay.
func isStayJob(j Job) bool {
	var p jobPayload
	return json.Unmarshal(j.Payload, &p) == nil && p.Kind == KindStay
}

// moveStayJob is an administrator's move of a stay's queue job: retried, the stay is
// no longer dead and its line is sent again; moved to dead, the stay is dead too.
func (e *Queue) moveStayJob(ctx context.Context, j Job, what string, move func(Tx) error) error {
	iptNo := jobBillNo(j)
	ctx, unlock, err := e.locker.Lock(ctx, "stay\x00"+iptNo)
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := e.stays.Stay(iptNo)
	if err != nil {
		return err
	}
	if what == "retried" {
		rec.Dead, rec.ErrCode, rec.ErrMsg = false, "", ""
	} else {
		rec.Dead, rec.ErrCode, rec.ErrMsg = true, "dead", "moved to dead by an administrator"
	}
	if err := e.stays.saveStay(ctx, rec, move); err != nil {
		return fmt.Errorf("queue job %d: %w", j.ID, err)
	}
	e.log.Warn("queue job "+what+" by an administrator", "id", j.ID, "ipt_no", iptNo)
	return nil
}

// sweepStays removes the stays settled for good or cancelled before cutoff (their
// IndexDone day), in batches; a stay with operations waiting or a message whose
// outcome is unknown stays whatever its day. It returns how many went.
func (e *Queue) sweepStays(ctx context.Context, cutoff string) (int, error) {
	total := 0
	for {
		n, seen := 0, 0
		err := e.st.Update(ctx, func(tx Tx) error {
			n, seen = 0, 0
			old, err := tx.Before(KindStay, IndexDone, cutoff, sweepBatch)
			if err != nil {
				return err
			}
			seen = len(old)
			for _, ent := range old {
				rec, err := getStay(tx, ent.ID)
				if err != nil || len(rec.Ops) > 0 || len(rec.Pending) > 0 ||
					rec.State != StateSettled && rec.State != StateCancelled {
					continue
				}
				if err := tx.Delete(KindStay, ent.ID); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if seen < sweepBatch || n == 0 {
			return total, nil
		}
	}
}
