package workflow

import (
	"context"
)

// recoverStays queues the stays whose line was cut short by the last stop without a
// queue job in line (an online request that crashed mid-way): their stored msgids are
// resolved and their operations sent by the sync loop.
func (e *Queue) recoverStays(ctx context.Context) error {
	var recs []*StayRecord
	err := e.st.View(func(tx ReadTx) error {
		queued, err := stayShelf.listIn(tx, stayShelf.byIndex(IndexState+string(StateQueued), 1<<20), failUnreadable)
		for _, rec := range queued {
			if rec.QueueID != 0 {
				if j, err := tx.Job(rec.QueueID); err == nil && (j.State == JobReady || j.State == JobLeased) {
					continue
				}
			}
			recs = append(recs, rec)
		}
		return err
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
