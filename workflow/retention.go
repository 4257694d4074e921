package workflow

import (
	"context"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// sweepBatch bounds one sweep transaction, so a sweep never holds the writer long.
const sweepBatch = 500

// retentionLoop removes, once an hour, the bills that are over with (settled or
// cancelled) longer than Retention ago, with their remembered answers. Failed and
// dead bills, and bills still in flight, are never removed: a person has to look at
// them. The queue sweeps its own done records.
func (e *Queue) retentionLoop(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := e.Sweep(ctx); err != nil {
			e.log.Error("retention sweep", "err", err)
		} else if n > 0 {
			e.log.Info("retention sweep removed old bills", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep removes what is past retention; it returns how many bills went. A bill's
// retention counts from the day it was settled or cancelled (IndexDone), never from
// the day it was received or queued.
func (e *Queue) Sweep(ctx context.Context) (int, error) {
	if e.o.Retention <= 0 {
		return 0, nil
	}
	if !e.link.ClockTrusted() {
		skew, _ := e.link.ClockSkew()
		e.log.Warn("retention sweep skipped: the agent's clock disagrees with the platform's", "skew", skew.String())
		return 0, nil
	}
	cutoff := settle.Day(e.now().Add(-e.o.Retention))
	total := 0
	for {
		n := 0
		err := e.st.Update(ctx, func(tx Tx) error {
			n = 0
			old, err := tx.Before(KindBill, IndexDone, cutoff, sweepBatch)
			if err != nil {
				return err
			}
			for _, ent := range old {
				gone, err := removeBill(tx, ent.ID)
				if err != nil {
					return err
				}
				if gone {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < sweepBatch {
			stays, err := e.sweepStays(ctx, cutoff)
			return total + stays, err
		}
	}
}

// removeBill deletes a settled or cancelled bill and its remembered answers; others
// stay.
func removeBill(tx Tx, billNo string) (bool, error) {
	rec, err := getBill(tx, billNo)
	if err != nil {
		return false, nil // already gone, or unreadable: leave it for a person
	}
	if rec.State != StateSettled && rec.State != StateCancelled {
		return false, nil
	}
	keys, err := tx.IDs(KindIdem, IndexBill+billNo, "", 1<<20)
	if err != nil {
		return false, err
	}
	keys = append(keys, billNo) // the default key has no index row
	for _, k := range keys {
		if err := tx.Delete(KindIdem, k); err != nil {
			return false, err
		}
	}
	return true, tx.Delete(KindBill, billNo)
}

// Recover queues the work a previous run left mid-call: a settlement in flight
// (state settling) or any bill asked to settle or cancel that still has messages whose
// outcome is not known, when it is not in the queue. The sync worker resolves the
// pending messages and drives the bill to its goal. Only those bills are read (an
// index), never the whole store.
func (e *Queue) Recover(ctx context.Context) error {
	ids, err := e.midStepBillIDs()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		rec, err := e.bills.Bill(id)
		if err != nil {
			return err
		}
		if e.inLine(rec) || (rec.State != StateSettling && !rec.unresolved()) {
			continue
		}
		if err := e.bills.enqueue(ctx, rec); err != nil {
			return err
		}
		e.log.Warn("work on a bill interrupted by the last stop; queued to finish it", "bill_no", rec.Bill.BillNo, "goal", rec.Goal)
	}
	return e.recoverStays(ctx)
}

// inLine reports whether rec's queue job is waiting or running.
func (e *Queue) inLine(rec *Record) bool {
	if rec.QueueID == 0 {
		return false
	}
	var j Job
	err := e.st.View(func(tx ReadTx) error {
		var err error
		j, err = tx.Job(rec.QueueID)
		return err
	})
	return err == nil && (j.State == JobReady || j.State == JobLeased)
}

// midStepBillIDs lists the bills a run may have left in the middle of a step: a
// settlement in flight (state settling) or a goal with messages whose outcome is not
// known. Recover and a group leader's recoverAbandoned read the same index entries.
func (e *Queue) midStepBillIDs() ([]string, error) {
	var ids []string
	err := e.st.View(func(tx ReadTx) error {
		for _, entry := range []string{IndexState + string(StateSettling), IndexPending + string(GoalSettle), IndexPending + string(GoalCancel)} {
			got, err := tx.IDs(KindBill, entry, "", 1<<20)
			if err != nil {
				return err
			}
			ids = append(ids, got...)
		}
		return nil
	})
	return ids, err
}
