package agent

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"golang.org/x/time/rate"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/queue"
)

// syncLoop drains the durable queue while the platform is online: oldest first, bills
// of different visits concurrently (bounded by [sync] concurrency) and at a bounded
// rate, so that the windows' own online bills keep priority. Each record is driven to
// its goal by advance, resuming from the bill's stored step.
func (a *Agent) syncLoop(ctx context.Context) {
	conc := a.cfg.Sync.Concurrency
	if conc <= 0 {
		conc = 8
	}
	limit := rate.Inf
	if a.cfg.Sync.RatePerSecond > 0 {
		limit = rate.Limit(a.cfg.Sync.RatePerSecond)
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
		free := conc - inflight
		var recs []*queue.Record
		if free > 0 && a.breaker.isOnline() {
			var err error
			recs, err = a.store.Lease(ctx, free)
			if err != nil && ctx.Err() == nil {
				a.log.Error("lease from queue", "err", err)
			}
		}
		for _, r := range recs {
			if err := limiter.Wait(ctx); err != nil {
				// Shutting down: the lease runs out and the record comes back.
				return
			}
			inflight++
			slots <- struct{}{}
			r := r
			go func() {
				defer func() { <-slots; done <- struct{}{} }()
				a.syncOne(ctx, r)
			}()
		}
		if len(recs) > 0 && len(recs) == free {
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
		case <-a.store.Ready():
		case <-tick.C:
		}
	}
}

// drain takes every value already waiting in ch and says how many there were: the
// loop then leases for all freed slots in one commit, not one record per commit.
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

// lostLease reports a queue move refused because this worker's lease ran out and
// the record moved on: the bill's new state must be stored all the same, since it
// records what the platform did.
func lostLease(err error) bool {
	return errors.Is(err, queue.ErrNotLeased) || errors.Is(err, queue.ErrWrongState)
}

// syncOne drives one queued bill and moves its queue record in the same transaction
// as the bill's new state: done when settled or cancelled, failed on a business
// refusal, back to ready with backoff otherwise (dead past the retry horizon).
func (a *Agent) syncOne(ctx context.Context, r *queue.Record) {
	var p queuePayload
	if err := json.Unmarshal(r.Payload, &p); err != nil || p.BillNo == "" {
		a.log.Error("queue record is not a bill; moved to failed", "id", r.ID, "err", err)
		_ = a.store.Fail(context.WithoutCancel(ctx), r.ID, "payload is not a bill reference")
		return
	}
	unlock, err := a.locks.lock(ctx, p.BillNo)
	if err != nil {
		return
	}
	defer unlock()
	rec, err := a.loadBill(p.BillNo)
	if errors.Is(err, settle.ErrNotFound) {
		a.log.Error("queued bill not in the store; moved to failed", "bill_no", p.BillNo, "id", r.ID)
		_ = a.store.Fail(context.WithoutCancel(ctx), r.ID, "bill not found in the store")
		return
	}
	if err != nil {
		a.log.Error("load queued bill", "bill_no", p.BillNo, "err", err)
		_ = a.store.Nack(context.WithoutCancel(ctx), r.ID, err.Error())
		return
	}
	if rec.State.terminal() && len(rec.Pending) == 0 {
		_ = a.store.Ack(context.WithoutCancel(ctx), r.ID)
		return
	}
	err = a.advance(ctx, rec)
	sctx := context.WithoutCancel(ctx)
	switch {
	case err == nil:
		serr := a.save(sctx, rec, func(tx *queue.Tx) error {
			if err := tx.Ack(r.ID); err != nil && !lostLease(err) {
				return err
			}
			return a.releaseOutstanding(tx, rec)
		})
		if serr != nil {
			a.log.Error("store synced bill", "bill_no", rec.Bill.BillNo, "err", serr)
			return
		}
		_ = a.loadOutstanding()
		if rec.State == StateSettled {
			a.metrics.billSettled(true)
			if rec.Collected != nil {
				d := differenceOf(rec)
				a.log.Info("queued bill settled", "bill_no", rec.Bill.BillNo, "setl_id", rec.Settlement.SetlID,
					"collected", d.Collected, "psn_cash_pay", d.RealCash, "refund", d.Refund, "amount_due", d.AmountDue)
			}
		} else {
			a.metrics.billCancelled()
			a.log.Info("queued cancellation applied", "bill_no", rec.Bill.BillNo)
		}
	case isFinal(err):
		a.setFailed(rec, err)
		if serr := a.save(sctx, rec, func(tx *queue.Tx) error {
			if err := tx.Fail(r.ID, rec.ErrMsg); err != nil && !lostLease(err) {
				return err
			}
			return nil
		}); serr != nil {
			a.log.Error("store failed bill", "bill_no", rec.Bill.BillNo, "err", serr)
		}
		a.log.Warn("queued bill refused by the platform; needs a person", "bill_no", rec.Bill.BillNo, "err_msg", rec.ErrMsg)
	default:
		if rec.State != StateSettling {
			rec.State = StateQueued
		}
		serr := a.save(sctx, rec, func(tx *queue.Tx) error {
			if err := tx.Nack(r.ID, err.Error()); err != nil {
				if lostLease(err) {
					return nil
				}
				return err
			}
			q, err := tx.Get(r.ID)
			if err != nil {
				return err
			}
			if q.State == queue.StateDead {
				rec.State = StateDead
				rec.ErrCode, rec.ErrMsg = "dead", "not settled within the retry horizon: "+err.Error()
				return a.putBill(tx.Bolt(), rec)
			}
			return nil
		})
		if serr != nil {
			a.log.Error("store retried bill", "bill_no", rec.Bill.BillNo, "err", serr)
		}
		if rec.State == StateDead {
			a.metrics.billDead()
			a.log.Error("queued bill is dead: past the retry horizon", "bill_no", rec.Bill.BillNo)
		}
	}
}
