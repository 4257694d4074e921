package workflow

import (
	"context"
	"fmt"
)

// RetryJob puts a failed or dead queue job back in line, and its bill or stay
// back in line, in one transaction (an administrator's retry).
func (e *Queue) RetryJob(ctx context.Context, id uint64) error {
	return e.moveJob(ctx, id, true, func(tx Tx) error { return tx.Retry(id) })
}

// KillJob gives up on a queue job by hand (a person settles the bill
// or stay another way); the document is dead too.
func (e *Queue) KillJob(ctx context.Context, id uint64) error {
	return e.moveJob(ctx, id, false, func(tx Tx) error { return tx.Dead(id, "by an administrator") })
}

// moveJob is an administrator's move of one queue job (RetryJob, KillJob): the bill
// or stay it names changes in the same transaction as the job, under its lock.
func (e *Queue) moveJob(ctx context.Context, id uint64, retried bool, move func(Tx) error) error {
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
	case retried && j.State != JobFailed && j.State != JobDead:
		return fmt.Errorf("queue job %d is %s: only failed or dead jobs are retried by hand: %w", id, j.State, ErrJobMoved)
	case !retried && j.State == JobDone:
		return fmt.Errorf("queue job %d is done: a finished job cannot be given up: %w", id, ErrJobMoved)
	}
	f, docID, ok := e.flowOf(j)
	if !ok {
		f, docID = billFlow{e.bills}, j.Key
	}
	ctx, unlock, err := e.locker.Lock(ctx, f.lockKey(docID))
	if err != nil {
		return err
	}
	defer unlock()
	doc, err := f.load(docID)
	if err != nil {
		return err
	}
	f.moved(doc, retried)
	if err := f.save(ctx, doc, move); err != nil {
		return fmt.Errorf("queue job %d: %w", id, err)
	}
	what := "moved to dead"
	if retried {
		what = "retried"
	}
	k, v := doc.ref()
	e.log.Warn("queue job "+what+" by an administrator", "id", id, k, v)
	return nil
}
