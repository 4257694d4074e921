package workflow

import (
	"context"
	"time"
)

// CancelBill cancels a bill: 2208 when settled, removal when queued and never sent,
// a queued cancellation (applied after the settlement it cancels) when offline.
func (e *Bills) CancelBill(ctx context.Context, billNo string) (Result, error) {
	ctx, rec, unlock, err := e.lockBill(ctx, billNo)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	switch rec.State {
	case StateCancelled:
		return Result{Kind: ResultFound, Bill: rec}, nil
	case StateDead:
		return Result{}, &StateError{Code: "bill_dead", Message: "bill " + billNo + " is dead; an administrator must retry or settle it by hand first"}
	}
	wasQueued := rec.State == StateQueued || rec.State == StateSettling
	rec.Goal = GoalCancel
	if !rec.SentAnyWrite() {
		// Nothing ever reached the platform: the bill is simply cancelled, and its
		// queue job, when it still waits, is withdrawn in the same commit.
		rec.State = StateCancelled
		release := rec.Carried
		rec.Carried = 0
		err := e.save(context.WithoutCancel(ctx), rec, func(tx Tx) error {
			if err := withdrawWaiting(tx, rec.QueueID); err != nil {
				return err
			}
			return addOutstanding(tx, -release)
		})
		if err != nil {
			rec.Carried = release
			return Result{}, err
		}
		if release != 0 {
			_ = e.loadOutstanding()
		}
		e.obs.BillEvent("cancelled", "")
		return Result{Kind: ResultCancelled, Bill: rec}, nil
	}
	if !wasQueued && e.link.breaker.Online() {
		dctx, cancel := context.WithTimeout(ctx, e.o.Deadline)
		err := e.advance(dctx, rec)
		cancel()
		switch {
		case err == nil:
			if err := e.finish(ctx, rec, nil); err != nil {
				return Result{}, err
			}
			e.obs.BillEvent("cancelled", "")
			return Result{Kind: ResultCancelled, Bill: rec}, nil
		case isFinal(err):
			rec.ErrMsg = refusalMessage(err)
			if err := e.saveAfterBooking(ctx, rec); err != nil {
				return Result{}, err
			}
			return Result{}, &Refusal{Code: "platform_refused", Message: refusalMessage(err)}
		}
	}
	if wasQueued && rec.QueueID != 0 {
		// The queue job already there carries the cancellation: the sync worker
		// settles first if a settlement may have been booked, then cancels.
		rec.State = StateQueued
		if err := e.save(context.WithoutCancel(ctx), rec, nil); err != nil {
			return Result{}, err
		}
		return Result{Kind: ResultQueued, Bill: rec}, nil
	}
	if err := e.enqueue(ctx, rec); err != nil {
		return Result{}, err
	}
	return Result{Kind: ResultQueued, Bill: rec}, nil
}

// withdrawWaiting ends queue job id when it waits (ready, failed or dead): its work
// is no longer wanted. A job being run (leased) is left to the sync worker, which
// finds the bill cancelled and acknowledges it without sending; a job the store
// cannot read is left the same way.
func withdrawWaiting(tx Tx, id uint64) error {
	if id == 0 {
		return nil
	}
	j, err := tx.Job(id)
	if err != nil || j.State == JobLeased || j.State == JobDone {
		return nil
	}
	return tx.Withdraw(id, "cancelled before anything was sent")
}

// finish stores a bill that reached its goal (settled or cancelled), releases the
// share carried for it (once: Carried is zeroed in the same commit) and runs also.
func (e *Bills) finish(ctx context.Context, rec *Record, also func(tx Tx) error) error {
	release := rec.Carried
	rec.Carried = 0
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := e.save(ctx, rec, func(tx Tx) error {
		if err := addOutstanding(tx, -release); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		rec.Carried = release
		return err
	}
	if release != 0 {
		_ = e.loadOutstanding()
	}
	return nil
}
