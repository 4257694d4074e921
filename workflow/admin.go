package workflow

import (
	"context"
	"encoding/json"
	"fmt"
)

// RetryJob puts a failed or dead queue job back in line, and its bill back to
// queued, in one transaction (an administrator's retry).
func (e *Queue) RetryJob(ctx context.Context, id uint64) error {
	return e.moveJob(ctx, id, "retried", func(rec *Record) {
		if rec.State == StateFailed || rec.State == StateDead {
			rec.State = StateQueued
			rec.ErrCode, rec.ErrMsg = "", ""
		}
	}, func(tx Tx) error { return tx.Retry(id) })
}

// KillJob gives up on a queue job by hand (a person settles the bill another way);
// its bill is dead too.
func (e *Queue) KillJob(ctx context.Context, id uint64) error {
	return e.moveJob(ctx, id, "moved to dead", func(rec *Record) {
		rec.State, rec.ErrCode, rec.ErrMsg = StateDead, "dead", "moved to dead by an administrator"
	}, func(tx Tx) error { return tx.Dead(id, "by an administrator") })
}

// moveJob is an administrator's move of one queue job: the bill it names changes in
// the same transaction as the job, under the bill's lock.
func (e *Queue) moveJob(ctx context.Context, id uint64, what string, change func(*Record), move func(Tx) error) error {
	var j Job
	if err := e.st.View(func(tx ReadTx) error {
		var err error
		j, err = tx.Job(id)
		return err
	}); err != nil {
		return err
	}
	// Say plainly when the queue would refuse the move, before any bill or stay is
	// touched: only failed or dead jobs are retried, done ones are not given up.
	switch {
	case what == "retried" && j.State != JobFailed && j.State != JobDead:
		return fmt.Errorf("queue job %d is %s: only failed or dead jobs are retried by hand: %w", id, j.State, ErrJobMoved)
	case what != "retried" && j.State == JobDone:
		return fmt.Errorf("queue job %d is done: a finished job cannot be given up: %w", id, ErrJobMoved)
	}
	if isStayJob(j) {
		return e.moveStayJob(ctx, j, what, move)
	}
	billNo := jobBillNo(j)
	ctx, unlock, err := e.locker.Lock(ctx, billNo)
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := e.bills.Bill(billNo)
	if err != nil {
		return err
	}
	change(rec)
	if err := e.bills.save(ctx, rec, move); err != nil {
		return fmt.Errorf("queue job %d: %w", id, err)
	}
	e.log.Warn("queue job "+what+" by an administrator", "id", id, "bill_no", billNo)
	return nil
}

func jobBillNo(j Job) string {
	var p jobPayload
	_ = json.Unmarshal(j.Payload, &p)
	if p.BillNo != "" {
		return p.BillNo
	}
	if p.ID != "" {
		return p.ID
	}
	return j.Key
}
