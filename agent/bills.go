package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/queue"
)

// Where a person's data came from (cashier-api.md "source").
const (
	sourcePlatform = "platform"
	sourceCache    = "cache"
	sourceCard     = "card"
)

// queuePayload is what a queue record holds: only the bill's number. The bill itself,
// with its personal data sealed, stays in the bills bucket.
type queuePayload struct {
	BillNo string `json:"bill_no"`
}

// outcome is the answer to a bill request: an HTTP status and a JSON body.
type outcome struct {
	Status int
	Body   any
}

// billHash is the identity of a bill's content for Idempotency-Key checks.
func billHash(b *settle.Bill) string {
	data, _ := json.Marshal(b)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// submitBill stores a new bill and pre-settles it: online through the platform
// (2201 → 2203 → 2204 → 2206), offline with a local estimate. The same key with the
// same bill answers what the first call answered; with another bill, ErrConflict.
func (a *Agent) submitBill(ctx context.Context, b settle.Bill, key, source string) (outcome, error) {
	if a.isClosing() {
		return outcome{}, ErrClosed
	}
	if key == "" {
		key = b.BillNo
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = a.now()
	}
	if err := b.Validate(); err != nil {
		return outcome{}, err
	}
	if _, ok := a.cfg.Window(b.Window); !ok {
		v := &settle.ValidationError{What: "bill"}
		v.Add("window", "window %q is not configured in this agent", b.Window)
		return outcome{}, v
	}
	hash := billHash(&b)
	unlock, err := a.locks.lock(ctx, "idem\x00"+key)
	if err != nil {
		return outcome{}, err
	}
	defer unlock()
	if e, err := a.getIdem(key); err != nil {
		return outcome{}, err
	} else if e != nil {
		if e.Hash != hash {
			return outcome{}, fmt.Errorf("Idempotency-Key %q was used for another bill body: %w", key, settle.ErrConflict)
		}
		return outcome{Status: e.Status, Body: e.Body}, nil
	}
	if err := a.mapItems(&b); err != nil {
		return outcome{}, err
	}
	unlockBill, err := a.locks.lock(ctx, b.BillNo)
	if err != nil {
		return outcome{}, err
	}
	defer unlockBill()
	if old, err := a.loadBill(b.BillNo); err == nil {
		// The bill exists under another key: same content answers its state, else conflict.
		if old.BodyHash != hash {
			return outcome{}, fmt.Errorf("bill %s already exists with other content: %w", b.BillNo, settle.ErrConflict)
		}
		if old.State == StateReceived && old.Goal == goalPresettle {
			// Its pre-settlement never finished (refused while offline, or the agent
			// stopped mid-way): try again now, from its stored step.
			return a.answer(ctx, old, key, hash, a.presettle(ctx, old))
		}
		return a.answer(ctx, old, key, hash, outcome{Status: 200, Body: a.billView(old)})
	} else if !errors.Is(err, settle.ErrNotFound) {
		return outcome{}, err
	}

	// The bill is stored with its first write message (2201), or with its answer:
	// whichever comes first, and never after the answer is given.
	rec := &billRecord{Bill: b, State: StateReceived, Goal: goalPresettle, Source: source, BodyHash: hash,
		CreatedAt: a.now()}
	a.metrics.billReceived(source)
	out := a.presettle(ctx, rec)
	return a.answer(ctx, rec, key, hash, out)
}

// answer stores the bill with the answer remembered under its idempotency key, in one
// commit, and returns the answer as stored. A 5xx answer is not remembered.
func (a *Agent) answer(ctx context.Context, rec *billRecord, key, hash string, out outcome) (outcome, error) {
	body, err := json.Marshal(out.Body)
	if err != nil {
		return outcome{}, err
	}
	e := &idemEntry{Hash: hash, BillNo: rec.Bill.BillNo, Status: out.Status, Body: body, At: a.now()}
	sealed, err := a.sealIdem(key, e)
	if err != nil {
		return outcome{}, err
	}
	err = a.save(context.WithoutCancel(ctx), rec, func(tx *queue.Tx) error {
		if out.Status >= 500 {
			// A passing condition (refused while offline): the same request later
			// gets a fresh answer, not this one replayed.
			return nil
		}
		if err := putSealedIdem(tx.Bolt(), key, sealed); err != nil {
			return err
		}
		return putIdemDay(tx.Bolt(), dayOf(e.At), key)
	})
	if err != nil {
		return outcome{}, err
	}
	return outcome{Status: out.Status, Body: json.RawMessage(body)}, nil
}

// mapItems fills every item's national codes, or refuses the bill listing every
// unmapped or expired code.
func (a *Agent) mapItems(b *settle.Bill) error {
	if a.mapping == nil {
		for i := range b.Items {
			b.Items[i].MedListCodg, b.Items[i].MedinsListCodg = b.Items[i].HISCode, b.Items[i].HISCode
		}
		return nil
	}
	if err := a.mapping.Current().Map(b, b.CreatedAt); err != nil {
		return fmt.Errorf("%w: %w", ErrUnmapped, err)
	}
	return nil
}

// presettle runs the pre-settlement chain within the cashier deadline; offline, or when
// the platform does not answer in time, the window gets a local estimate.
func (a *Agent) presettle(ctx context.Context, rec *billRecord) outcome {
	if a.breaker.isOnline() {
		dctx, cancel := context.WithTimeout(ctx, a.cfg.Offline.Deadline.Duration)
		err := a.advance(dctx, rec)
		cancel()
		switch {
		case err == nil:
			return outcome{Status: 201, Body: a.billView(rec)}
		case isFinal(err):
			a.setFailed(rec, err)
			return outcome{Status: 422, Body: errorBody(rec.errCode(), businessMessage(err), nil)}
		}
		a.log.Warn("pre-settlement did not finish online; answering with a local estimate",
			"bill_no", rec.Bill.BillNo, "err", err)
	}
	if a.cfg.Offline.Policy == policyRefuse {
		rec.ErrCode, rec.ErrMsg = "offline_refused", ErrRefusedOffline.Error()
		return outcome{Status: 503, Body: errorBody("offline_refused", ErrRefusedOffline.Error()+"; the patient may pay in full as self-pay", nil)}
	}
	a.offlinePerson(rec)
	est := a.estimate(rec)
	rec.Presettle, rec.Estimate = &est, true
	rec.State = StatePresettled
	return outcome{Status: 201, Body: a.billView(rec)}
}

// offlinePerson fills the person from the cache, or from what the card says.
func (a *Agent) offlinePerson(rec *billRecord) {
	if rec.Person != nil {
		return
	}
	pt := rec.Bill.Patient
	if cp, err := a.cachedPerson(pt.MdtrtCertType, pt.MdtrtCertNo); err == nil && cp != nil {
		a.setPerson(rec, &cp.Person, sourceCache)
		return
	}
	rec.Person = &settle.Person{PsnName: pt.PsnName}
	rec.PersonSource = sourceCard
}

// lockBill takes the bill's lock and loads it; the caller runs unlock when done.
func (a *Agent) lockBill(ctx context.Context, billNo string) (*billRecord, func(), error) {
	if a.isClosing() {
		return nil, nil, ErrClosed
	}
	unlock, err := a.locks.lock(ctx, billNo)
	if err != nil {
		return nil, nil, err
	}
	rec, err := a.loadBill(billNo)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return rec, unlock, nil
}

// settleBill settles a pre-settled bill (2207), or queues it durably when the platform
// cannot answer within the cashier deadline.
func (a *Agent) settleBill(ctx context.Context, billNo, acctUsed, setlway string) (outcome, error) {
	rec, unlock, err := a.lockBill(ctx, billNo)
	if err != nil {
		return outcome{}, err
	}
	defer unlock()
	switch rec.State {
	case StateSettled:
		return outcome{Status: 200, Body: a.billView(rec)}, nil
	case StateQueued:
		return outcome{Status: 202, Body: a.billView(rec)}, nil
	case StateSettling:
		if rec.QueueID != 0 {
			return outcome{Status: 202, Body: a.billView(rec)}, nil
		}
		// A settlement cut short (the agent stopped mid-call) and not queued: drive
		// it on from its stored step; its pending message is reversed first.
	case StateCancelled, StateDead:
		return outcome{Status: 409, Body: errorBody("bill_"+string(rec.State), fmt.Sprintf("bill %s is %s and cannot be settled", billNo, rec.State), nil)}, nil
	case StateFailed:
		return outcome{Status: 422, Body: errorBody(rec.errCode(), rec.ErrMsg, nil)}, nil
	}
	if acctUsed != "" {
		rec.AcctUsedFlag = acctUsed
	}
	if setlway != "" {
		rec.PsnSetlway = setlway
	}
	rec.Goal = goalSettle
	if a.breaker.isOnline() {
		dctx, cancel := context.WithTimeout(ctx, a.cfg.Offline.Deadline.Duration)
		err := a.advance(dctx, rec)
		cancel()
		switch {
		case err == nil:
			a.saveQuietly(ctx, rec)
			a.metrics.billSettled(false)
			return outcome{Status: 200, Body: a.billView(rec)}, nil
		case isFinal(err):
			a.markFailed(ctx, rec, err)
			return outcome{Status: 422, Body: errorBody(rec.errCode(), businessMessage(err), nil)}, nil
		}
		a.log.Warn("settlement did not finish online; queueing the bill", "bill_no", billNo, "err", err)
	}
	if a.cfg.Offline.Policy == policyRefuse && !rec.sentAnyWrite() {
		return outcome{Status: 503, Body: errorBody("offline_refused", ErrRefusedOffline.Error()+"; the patient may pay in full as self-pay", nil)}, nil
	}
	if err := a.enqueue(ctx, rec); err != nil {
		return outcome{}, err
	}
	return outcome{Status: 202, Body: a.billView(rec)}, nil
}

// enqueue moves the bill into the durable queue and decides what the window collects
// now. The answer is given only after the queue record is committed and fsynced.
func (a *Agent) enqueue(ctx context.Context, rec *billRecord) error {
	if rec.Person == nil {
		a.offlinePerson(rec)
	}
	var carried settle.Money
	if rec.Goal == goalSettle {
		prov := rec.Presettle
		if prov == nil || rec.Estimate {
			est := a.estimate(rec)
			prov = &est
		}
		rec.Provisional = prov
		var collect settle.Money
		collect, carried = a.collectNow(rec, prov)
		rec.Collected = &collect
	}
	rec.State = StateQueued
	rec.Offline = true
	rec.QueuedAt = a.now()
	payload, _ := json.Marshal(queuePayload{BillNo: rec.Bill.BillNo})
	ctx = context.WithoutCancel(ctx) // the deadline may be spent; the bill must still be kept
	err := a.save(ctx, rec, func(tx *queue.Tx) error {
		id, err := tx.Enqueue(rec.Bill.BillNo, payload)
		if err != nil {
			return err
		}
		// The bill was sealed before the queue gave its id: write it again with it.
		rec.QueueID = id
		if err := a.putBill(tx.Bolt(), rec); err != nil {
			return err
		}
		return a.addOutstanding(tx, carried)
	})
	if err != nil {
		return fmt.Errorf("queue bill %s: %w", rec.Bill.BillNo, err)
	}
	if carried != 0 {
		_ = a.loadOutstanding()
	}
	a.metrics.billQueued()
	return nil
}

// cancelBill cancels a bill: 2208 when settled, removal when queued and never sent, a
// queued cancellation (applied after the settlement it cancels) when offline.
func (a *Agent) cancelBill(ctx context.Context, billNo string) (outcome, error) {
	rec, unlock, err := a.lockBill(ctx, billNo)
	if err != nil {
		return outcome{}, err
	}
	defer unlock()
	switch {
	case rec.State == StateCancelled:
		return outcome{Status: 200, Body: a.billView(rec)}, nil
	case rec.State == StateDead:
		return outcome{Status: 409, Body: errorBody("bill_dead", "bill "+billNo+" is dead; an administrator must retry or settle it by hand first", nil)}, nil
	}
	wasQueued := rec.State == StateQueued || rec.State == StateSettling
	rec.Goal = goalCancel
	if !rec.sentAnyWrite() {
		// Nothing ever reached the platform: the bill is simply cancelled. A queue
		// record left behind finds it cancelled and is acknowledged without sending.
		rec.State = StateCancelled
		err := a.save(context.WithoutCancel(ctx), rec, func(tx *queue.Tx) error { return a.releaseOutstanding(tx, rec) })
		if err != nil {
			return outcome{}, err
		}
		a.metrics.billCancelled()
		return outcome{Status: 200, Body: a.billView(rec)}, nil
	}
	if !wasQueued && a.breaker.isOnline() {
		dctx, cancel := context.WithTimeout(ctx, a.cfg.Offline.Deadline.Duration)
		err := a.advance(dctx, rec)
		cancel()
		switch {
		case err == nil:
			a.saveQuietly(ctx, rec)
			a.metrics.billCancelled()
			return outcome{Status: 200, Body: a.billView(rec)}, nil
		case isFinal(err):
			rec.ErrMsg = businessMessage(err)
			a.saveQuietly(ctx, rec)
			return outcome{Status: 422, Body: errorBody("platform_refused", businessMessage(err), nil)}, nil
		}
	}
	if wasQueued {
		// The queue record already there carries the cancellation: the sync worker
		// settles first if a settlement may have been booked, then cancels.
		rec.State = StateQueued
		if err := a.save(context.WithoutCancel(ctx), rec, nil); err != nil {
			return outcome{}, err
		}
		return outcome{Status: 202, Body: a.billView(rec)}, nil
	}
	if err := a.enqueue(ctx, rec); err != nil {
		return outcome{}, err
	}
	return outcome{Status: 202, Body: a.billView(rec)}, nil
}

// markFailed records a business refusal: the bill needs a person.
func (a *Agent) markFailed(ctx context.Context, rec *billRecord, err error) {
	a.setFailed(rec, err)
	a.saveQuietly(ctx, rec)
}

// setFailed records a business refusal in rec (saved by the caller).
func (a *Agent) setFailed(rec *billRecord, err error) {
	rec.State = StateFailed
	rec.ErrCode = "platform_refused"
	if errors.Is(err, errNotQualified) {
		rec.ErrCode = "not_qualified"
	}
	rec.ErrMsg = businessMessage(err)
	a.metrics.billFailed()
}

func (r *billRecord) errCode() string {
	if r.ErrCode != "" {
		return r.ErrCode
	}
	return "platform_refused"
}

// saveQuietly saves after the cashier deadline may have passed; a failure is logged
// loudly, and the stored state (with its pending msgid) still leads to a correct end.
func (a *Agent) saveQuietly(ctx context.Context, rec *billRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.save(ctx, rec, nil); err != nil {
		a.log.Error("could not store bill state", "bill_no", rec.Bill.BillNo, "err", err)
	}
}

// billView is the API's JSON for a bill.
func (a *Agent) billView(rec *billRecord) map[string]any {
	v := map[string]any{
		"bill_no":    rec.Bill.BillNo,
		"window":     rec.Bill.Window,
		"state":      rec.State,
		"total":      rec.Bill.Total,
		"med_type":   rec.Bill.MedType,
		"created_at": rec.CreatedAt,
		"updated_at": rec.UpdatedAt,
		"history":    rec.History,
	}
	if rec.Person != nil {
		v["person"] = rec.Person.Masked()
		v["person_source"] = rec.PersonSource
	}
	if rec.Presettle != nil {
		v["split"] = rec.Presettle
		v["estimate"] = rec.Estimate
	}
	if rec.Settlement != nil {
		v["settlement"] = rec.Settlement
	}
	if rec.State == StateQueued || rec.Offline {
		if rec.Provisional != nil {
			v["provisional"] = rec.Provisional
		}
		if rec.Collected != nil {
			v["collect_now"] = *rec.Collected
		}
	}
	if rec.Offline && rec.Settlement != nil && rec.Collected != nil {
		v["difference"] = differenceOf(rec)
	}
	if rec.Goal == goalCancel && rec.State != StateCancelled {
		v["cancel_pending"] = true
	}
	if rec.ErrMsg != "" {
		v["error"] = map[string]string{"code": rec.errCode(), "message": rec.ErrMsg}
	}
	if rec.MdtrtID != "" {
		v["mdtrt_id"] = rec.MdtrtID
	}
	return v
}

// difference is what the cashier office settles with the patient after an offline bill
// was settled for real: collected minus the real cash share.
type difference struct {
	Collected  settle.Money `json:"collected"`
	RealCash   settle.Money `json:"psn_cash_pay"`
	Refund     settle.Money `json:"refund"`
	AmountDue  settle.Money `json:"amount_due"`
	Settlement string       `json:"setl_id"`
}

func differenceOf(rec *billRecord) difference {
	d := difference{Collected: *rec.Collected, RealCash: rec.Settlement.PsnCashPay, Settlement: rec.Settlement.SetlID}
	if diff := d.Collected - d.RealCash; diff > 0 {
		d.Refund = diff
	} else {
		d.AmountDue = -diff
	}
	return d
}

var _ = platform.InfnoSettle
