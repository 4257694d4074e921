package workflow

import (
	"context"
	"encoding/json"
	"errors"

	settle "github.com/settle-agent/settle-agent"
)

// flow is a settlement workflow as the one drain path drives its queued documents
// (billFlow, stayFlow): the drain locks, loads, advances and stores the document and
// moves its queue job in the same transaction; the flow says what its document does
// at each end. A next workflow is one more flow.
type flow interface {
	// noun names the flow's documents in logs and job reasons: "bill", "stay".
	noun() string
	// lockKey is the key of the lock that serialises the work on document id.
	lockKey(id string) string
	load(id string) (document, error)
	// revive puts doc back in line when its job j was retried by hand while the
	// document was failed or dead; it reports whether it did.
	revive(doc document, j Job) bool
	// idle finishes a document with nothing left to do (its job acked with ack);
	// it reports whether doc was idle.
	idle(ctx context.Context, doc document, ack func(Tx) error) bool
	advance(ctx context.Context, doc document) error
	// synced stores doc at its goal with its job acked (ack), and says so.
	synced(ctx context.Context, doc document, ack func(Tx) error)
	// refuse records a final refusal in doc; refused tells of it once stored; save
	// stores doc with also.
	refuse(doc document, err error)
	refused(doc document)
	save(ctx context.Context, doc document, also func(Tx) error) error
	// prepareRetry readies doc for its job's return to the line.
	prepareRetry(doc document)
	// clone copies doc; markDead marks it dead past the retry horizon (reason); died
	// tells of it once stored.
	clone(doc document) document
	markDead(doc document, reason string)
	died(doc document)
	// moved changes doc as an administrator's move of its job does: retried (back in
	// line) or given up (dead).
	moved(doc document, retried bool)
}

// flowOf is the flow that drives job j and the id of its document; ok is false for a
// payload that names no document.
func (e *Queue) flowOf(j Job) (f flow, id string, ok bool) {
	var p jobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || (p.BillNo == "" && p.ID == "") {
		return nil, "", false
	}
	if p.Kind == KindStay {
		return &stayFlow{s: e.stays}, p.ID, true
	}
	if p.BillNo != "" {
		return billFlow{e.bills}, p.BillNo, true
	}
	return billFlow{e.bills}, p.ID, true
}

// SyncJob drives one queued document (a bill, a stay) and moves its job in the same
// transaction as the document's new state: done when it reached its goal, failed on a
// final refusal, back to ready with backoff otherwise (dead past the retry horizon,
// and the document with it).
func (e *Queue) SyncJob(ctx context.Context, j Job) {
	sctx := context.WithoutCancel(ctx)
	f, id, ok := e.flowOf(j)
	if !ok {
		e.log.Error("queue job is not a bill; moved to failed", "id", j.ID)
		_ = e.st.Update(sctx, func(tx Tx) error { return tx.Fail(j.ID, "payload is not a bill reference") })
		return
	}
	ctx, unlock, err := e.locker.Lock(ctx, f.lockKey(id))
	if err != nil {
		return
	}
	defer unlock()
	sctx = context.WithoutCancel(ctx) // the lock's fence with it
	doc, err := f.load(id)
	if errors.Is(err, settle.ErrNotFound) {
		e.log.Error("queued "+f.noun()+" not in the store; moved to failed", "id", id, "job", j.ID)
		_ = e.st.Update(sctx, func(tx Tx) error { return tx.Fail(j.ID, f.noun()+" not found in the store") })
		return
	}
	if err != nil {
		e.log.Error("load queued "+f.noun(), "id", id, "err", err)
		_ = e.st.Update(sctx, func(tx Tx) error { _, err := tx.Nack(j.ID, err.Error()); return err })
		return
	}
	k, v := doc.ref()
	ack := func(tx Tx) error { return ackLenient(tx, j.ID) }
	if f.revive(doc, j) {
		e.log.Warn("queue job retried by hand; the "+f.noun()+" is retried", k, v, "id", j.ID)
	}
	if f.idle(sctx, doc, ack) {
		return
	}
	err = f.advance(ctx, doc)
	switch {
	case err == nil:
		f.synced(sctx, doc, ack)
	case isFinal(err):
		f.refuse(doc, err)
		msg := doc.journal().ErrMsg
		if serr := f.save(sctx, doc, func(tx Tx) error {
			if err := tx.Fail(j.ID, msg); err != nil && !lostLease(err) {
				return err
			}
			return nil
		}); serr != nil {
			e.log.Error("store the refused "+doc.name(), k, v, "err", serr)
		}
		f.refused(doc)
	default:
		e.retryLater(sctx, f, doc, j, err)
	}
}

// retryLater puts the job back with backoff, for every workflow; past the retry
// horizon the job comes back dead and the document is stored dead in the same
// transaction — unless the agent's clock disagrees with the platform's, when the job
// is only postponed (a clock jump kills nothing).
func (e *Queue) retryLater(ctx context.Context, f flow, doc document, j Job, cause error) {
	f.prepareRetry(doc)
	reason := cause.Error()
	dead := false
	k, v := doc.ref()
	trusted := e.link.trustClockFor(k, v)
	serr := f.save(ctx, doc, func(tx Tx) error {
		var err error
		if dead, err = returnJob(tx, j.ID, reason, trusted); err != nil || !dead {
			return err
		}
		d := f.clone(doc)
		f.markDead(d, reason)
		return e.put(tx, d)
	})
	if serr != nil {
		e.log.Error("store the retried "+doc.name(), k, v, "err", serr)
		return
	}
	if dead {
		f.markDead(doc, reason)
		f.died(doc)
	}
}

// ackLenient acks a job; a job that is no longer leased by this worker is left as is.
func ackLenient(tx Tx, id uint64) error {
	if err := tx.Ack(id); err != nil && !lostLease(err) {
		return err
	}
	return nil
}

// trustClockFor reports whether the agent's clock may decide the retry horizon now,
// and logs for the document named by key, value when it may not.
func (e *Link) trustClockFor(key, value string) bool {
	trusted := e.ClockTrusted()
	if !trusted {
		e.log.Warn("the agent's clock disagrees with the platform's: the retry horizon is not applied", key, value)
	}
	return trusted
}

// returnJob gives a leased job back for a later try, in tx, for every workflow (bills
// and stays): with backoff, and dead past the retry horizon — unless the clock is not
// trusted, when it is postponed whatever its age (a clock jump kills nothing). dead
// says the job came back dead: the caller stores its document dead in the same tx. A
// job whose lease ran out and moved on is left as it is.
func returnJob(tx Tx, id uint64, reason string, trusted bool) (dead bool, err error) {
	if !trusted {
		if err := tx.Postpone(id, reason); err != nil && !lostLease(err) {
			return false, err
		}
		return false, nil
	}
	got, err := tx.Nack(id, reason)
	if err != nil {
		if lostLease(err) {
			return false, nil
		}
		return false, err
	}
	return got.State == JobDead, nil
}
