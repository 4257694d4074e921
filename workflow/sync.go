package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"golang.org/x/time/rate"

	settle "github.com/settle-agent/settle-agent"
)

// syncLoop drains the durable queue while the platform is online: oldest first, bills
// of different visits concurrently (bounded by SyncConcurrency) and at a bounded rate,
// so that the windows' own online bills keep priority. Each job is driven to its goal
// by advance, resuming from the bill's stored step.
func (e *Queue) syncLoop(ctx context.Context) {
	conc := e.o.SyncConcurrency
	limit := rate.Inf
	if e.o.SyncRate > 0 {
		limit = rate.Limit(e.o.SyncRate)
	}
	limiter := rate.NewLimiter(limit, conc)
	slots := make(chan struct{}, conc)
	done := make(chan struct{}, conc)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	inflight := 0
	defer func() {
		for ; inflight > 0; inflight-- {
			<-done
		}
	}()
	for {
		if ctx.Err() != nil {
			return
		}
		e.hastenBacklog(ctx)
		free := conc - inflight
		var jobs []Job
		if free > 0 && e.link.breaker.Online() {
			var err error
			jobs, err = e.st.Lease(ctx, free)
			if err != nil && ctx.Err() == nil {
				e.log.Error("lease from queue", "err", err)
			}
		}
		for _, j := range jobs {
			if err := limiter.Wait(ctx); err != nil {
				// Shutting down: the lease runs out and the job comes back.
				return
			}
			inflight++
			slots <- struct{}{}
			go func() {
				defer func() { <-slots; done <- struct{}{} }()
				e.SyncJob(ctx, j)
			}()
		}
		if len(jobs) > 0 && len(jobs) == free {
			// There may be more: lease again as soon as a slot frees.
			select {
			case <-ctx.Done():
				return
			case <-done:
				inflight -= 1 + drain(done)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-done:
			inflight -= 1 + drain(done)
		case <-e.st.Ready():
		case <-tick.C:
		}
	}
}

// hastenBacklog makes the backlog due at once after the platform came back: no bill
// waits out a backoff it took while the platform was away.
func (e *Queue) hastenBacklog(ctx context.Context) {
	if !e.link.hasten.CompareAndSwap(true, false) {
		return
	}
	if n, err := e.st.Hasten(ctx); err != nil {
		e.log.Warn("hasten the queue", "err", err)
	} else if n > 0 {
		e.log.Info("platform back: the backlog is due now", "jobs", n)
	}
}

// drain takes every value already waiting in ch and says how many there were.
func drain(ch chan struct{}) int {
	n := 0
	for {
		select {
		case <-ch:
			n++
		default:
			return n
		}
	}
}

// lostLease reports a queue move refused because this worker's lease ran out and the
// job moved on: the bill's new state must be stored all the same, since it records
// what the platform did.
func lostLease(err error) bool {
	return errors.Is(err, ErrJobMoved)
}

// SyncOnce leases up to n due jobs and syncs them one after the other (tests and
// tools; the engine's Run drains concurrently). It returns how many it synced.
func (e *Queue) SyncOnce(ctx context.Context, n int) (int, error) {
	e.hastenBacklog(ctx)
	jobs, err := e.st.Lease(ctx, n)
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		e.SyncJob(ctx, j)
	}
	return len(jobs), nil
}

// SyncJob drives one queued bill and moves its job in the same transaction as the
// bill's new state: done when settled or cancelled, failed on a final refusal, back
// to ready with backoff otherwise (dead past the retry horizon, and the bill with it).
func (e *Queue) SyncJob(ctx context.Context, j Job) {
	sctx := context.WithoutCancel(ctx)
	var p jobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || (p.BillNo == "" && p.ID == "") {
		e.log.Error("queue job is not a bill; moved to failed", "id", j.ID, "err", err)
		_ = e.st.Update(sctx, func(tx Tx) error { return tx.Fail(j.ID, "payload is not a bill reference") })
		return
	}
	if p.Kind == KindStay {
		e.syncStay(ctx, j, p.ID)
		return
	}
	billNo := p.BillNo
	if billNo == "" {
		billNo = p.ID
	}
	ctx, unlock, err := e.locker.Lock(ctx, billNo)
	if err != nil {
		return
	}
	defer unlock()
	sctx = context.WithoutCancel(ctx) // the lock's fence with it
	rec, err := e.bills.Bill(billNo)
	if errors.Is(err, settle.ErrNotFound) {
		e.log.Error("queued bill not in the store; moved to failed", "bill_no", billNo, "id", j.ID)
		_ = e.st.Update(sctx, func(tx Tx) error { return tx.Fail(j.ID, "bill not found in the store") })
		return
	}
	if err != nil {
		e.log.Error("load queued bill", "bill_no", billNo, "err", err)
		_ = e.st.Update(sctx, func(tx Tx) error { _, err := tx.Nack(j.ID, err.Error()); return err })
		return
	}
	switch {
	case (rec.State == StateFailed || rec.State == StateDead) && rec.QueueID == j.ID:
		// Its job was put back in line by hand (settle-agent queue retry with the
		// agent stopped): the bill is retried too.
		e.log.Warn("queue job retried by hand; the bill is retried", "bill_no", billNo, "id", j.ID)
		rec.State, rec.ErrCode, rec.ErrMsg = StateQueued, "", ""
	case rec.State.Terminal() && !rec.unresolved():
		_ = e.st.Update(sctx, func(tx Tx) error { return ackLenient(tx, j.ID) })
		return
	}
	err = e.bills.advance(ctx, rec)
	switch {
	case err == nil:
		serr := e.bills.finish(sctx, rec, func(tx Tx) error { return ackLenient(tx, j.ID) })
		if serr != nil {
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
	case isFinal(err):
		e.bills.setFailed(rec, err)
		if serr := e.bills.save(sctx, rec, func(tx Tx) error {
			if err := tx.Fail(j.ID, rec.ErrMsg); err != nil && !lostLease(err) {
				return err
			}
			return nil
		}); serr != nil {
			e.log.Error("store failed bill", "bill_no", rec.Bill.BillNo, "err", serr)
		}
		e.log.Warn("queued bill refused by the platform; needs a person", "bill_no", rec.Bill.BillNo, "err_msg", rec.ErrMsg)
	default:
		e.retryLater(sctx, rec, j, err)
	}
}

// retryLater puts the job back with backoff; past the retry horizon the job comes
// back dead and the bill is stored dead in the same transaction.
func (e *Queue) retryLater(ctx context.Context, rec *Record, j Job, cause error) {
	if rec.State != StateSettling {
		rec.State = StateQueued
	}
	reason := cause.Error()
	dead := false
	trusted := e.link.trustClockFor("bill_no", rec.Bill.BillNo)
	serr := e.bills.save(ctx, rec, func(tx Tx) error {
		var err error
		if dead, err = returnJob(tx, j.ID, reason, trusted); err != nil || !dead {
			return err
		}
		d := *rec
		d.State = StateDead
		d.ErrCode, d.ErrMsg = "dead", "not settled within the retry horizon: "+reason
		return e.bills.putBill(tx, &d)
	})
	if serr != nil {
		e.log.Error("store retried bill", "bill_no", rec.Bill.BillNo, "err", serr)
		return
	}
	if dead {
		rec.State, rec.ErrCode, rec.ErrMsg = StateDead, "dead", "not settled within the retry horizon: "+reason
		rec.stored = StateDead
		e.obs.BillEvent("dead", "")
		e.log.Error("queued bill is dead: past the retry horizon", "bill_no", rec.Bill.BillNo)
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
