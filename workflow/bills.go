package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/offline"
)

// ResultKind says how a bill request ended when it did not fail.
type ResultKind string

// The kinds of result.
const (
	// ResultCreated: a new bill, pre-settled (by the platform, or estimated offline).
	ResultCreated ResultKind = "created"
	// ResultFound: the bill as it stands (a repeated request).
	ResultFound ResultKind = "found"
	// ResultSettled: settled at the platform.
	ResultSettled ResultKind = "settled"
	// ResultQueued: durably queued; the platform will be asked later.
	ResultQueued ResultKind = "queued"
	// ResultCancelled: cancelled.
	ResultCancelled ResultKind = "cancelled"
)

// resultRefused is how a remembered refusal is kept.
const resultRefused ResultKind = "refused"

// Result is the outcome of a bill request: what happened and the bill as it stands.
type Result struct {
	Kind ResultKind
	Bill *Record
}

// billHash is the identity of a bill's content for Idempotency-Key checks: the bill
// as it was posted, before the agent filled anything in.
func billHash(b *settle.Bill) string {
	data, _ := json.Marshal(b)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// SubmitBill stores a new bill and pre-settles it: online through the platform
// (2201 → 2203 → 2204 → 2206), offline with a local estimate. The same key with the
// same bill answers what the first call answered; with another bill, an error
// matching settle.ErrConflict. source names the input ("api", "hl7 <id>", ...).
func (e *Bills) SubmitBill(ctx context.Context, b settle.Bill, key, source string) (Result, error) {
	if e.isClosing() {
		return Result{}, ErrClosed
	}
	if key == "" {
		key = b.BillNo
	}
	// The hash is taken of the bill as posted: a bill without created_at gets the
	// agent's clock below, and the cashier's identical retry must still match.
	hash := billHash(&b)
	auto := false
	if b.CreatedAt.IsZero() {
		b.CreatedAt, auto = e.now(), true
	}
	if err := b.Validate(); err != nil {
		return Result{}, err
	}
	if e.o.Windows != nil && !e.o.Windows(b.Window) {
		v := &settle.ValidationError{What: "bill"}
		v.Add("window", "window %q is not configured in this agent", b.Window)
		return Result{}, v
	}
	ctx, unlock, err := e.locker.Lock(ctx, "idem\x00"+key)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	if ent, err := e.getIdem(key); err != nil {
		return Result{}, err
	} else if ent != nil {
		if ent.Hash != hash {
			return Result{}, fmt.Errorf("Idempotency-Key %q was used for another bill body: %w", key, settle.ErrConflict)
		}
		return e.replay(ent)
	}
	if err := e.mapItems(&b); err != nil {
		return Result{}, err
	}
	ctx, unlockBill, err := e.locker.Lock(ctx, b.BillNo)
	if err != nil {
		return Result{}, err
	}
	defer unlockBill()
	if old, err := e.Bill(b.BillNo); err == nil {
		// The bill exists under another key: same content answers its state, else conflict.
		if old.BodyHash != hash {
			return Result{}, fmt.Errorf("bill %s already exists with other content: %w", b.BillNo, settle.ErrConflict)
		}
		// The answer is not remembered under this new key: the bill itself is the
		// record (one bill posted under many keys must not grow the store).
		if old.State == StateReceived && old.Goal == GoalPresettle {
			// Its pre-settlement never finished (refused while offline, or the agent
			// stopped mid-way): try again now, from its stored step.
			res, perr := e.presettle(ctx, old)
			return e.answer(ctx, old, "", hash, res, perr)
		}
		return Result{Kind: ResultFound, Bill: old}, nil
	} else if !errors.Is(err, settle.ErrNotFound) {
		return Result{}, err
	}

	// The bill is stored with its first write message (2201), or with its answer:
	// whichever comes first, and never after the answer is given.
	rec := &Record{Bill: b, State: StateReceived, Goal: GoalPresettle, Source: source, BodyHash: hash,
		CreatedAt: e.now(), CreatedAuto: auto}
	e.obs.BillEvent("received", sourceKind(source))
	res, perr := e.presettle(ctx, rec)
	return e.answer(ctx, rec, key, hash, res, perr)
}

func sourceKind(source string) string {
	for i := 0; i < len(source); i++ {
		if source[i] == ' ' {
			return source[:i]
		}
	}
	return source
}

// replay answers what a remembered answer said: the record as answered, with its
// bill from the record the store holds.
func (e *Bills) replay(ent *idemEntry) (Result, error) {
	if ent.Kind == resultRefused {
		return Result{}, &Refusal{Code: ent.Code, Message: ent.Message}
	}
	if ent.Answer == nil {
		rec, err := decodeBill(ent.BillNo, ent.Bill)
		if err != nil {
			return Result{}, err
		}
		return Result{Kind: ent.Kind, Bill: rec}, nil
	}
	rec, err := decodeBill(ent.BillNo, ent.Answer)
	if err != nil {
		return Result{}, err
	}
	cur, err := e.Bill(ent.BillNo)
	if err != nil {
		return Result{}, err
	}
	rec.Bill = cur.Bill
	return Result{Kind: ent.Kind, Bill: rec}, nil
}

// answer stores the bill with the answer remembered under its idempotency key (none
// when key is empty), in one commit, and returns the answer. A passing condition
// (ErrRefusedOffline, a store failure) is not remembered: the same request later gets
// a fresh answer.
func (e *Bills) answer(ctx context.Context, rec *Record, key, hash string, res Result, rerr error) (Result, error) {
	ent := &idemEntry{Hash: hash, BillNo: rec.Bill.BillNo, Kind: res.Kind, At: e.now()}
	var ref *Refusal
	remember := false
	switch {
	case key == "":
	case rerr == nil:
		remember = true
	case errors.As(rerr, &ref):
		ent.Kind, ent.Code, ent.Message, remember = resultRefused, ref.Code, ref.Message, true
	}
	var enc []byte
	if remember && ent.Kind != resultRefused {
		// The snapshot is the bill as answered (its save time included).
		rec.UpdatedAt = e.now()
	}
	err := e.save(context.WithoutCancel(ctx), rec, func(tx Tx) error {
		if !remember {
			return nil
		}
		if enc == nil {
			snap := *rec
			snap.riders = nil
			if ent.Kind != resultRefused {
				data, err := json.Marshal(answeredRecord{Record: &snap})
				if err != nil {
					return err
				}
				ent.Answer = data
			}
			v, err := json.Marshal(ent)
			if err != nil {
				return err
			}
			if enc, err = e.st.Encode(KindIdem, key, v); err != nil {
				return err
			}
		}
		// The default key is the bill number: retention finds that entry by it, so it
		// needs no index row.
		var idx []string
		if key != rec.Bill.BillNo {
			idx = []string{IndexBill + rec.Bill.BillNo}
		}
		return tx.Put(KindIdem, key, enc, idx)
	})
	if err != nil {
		return Result{}, err
	}
	if rerr != nil {
		return Result{}, rerr
	}
	return res, nil
}

// mapItems fills every item's national codes, or refuses the bill listing every
// unmapped or expired code.
func (e *Bills) mapItems(b *settle.Bill) error {
	if e.o.Mapper == nil {
		for i := range b.Items {
			b.Items[i].MedListCodg, b.Items[i].MedinsListCodg = b.Items[i].HISCode, b.Items[i].HISCode
		}
		return nil
	}
	if err := e.o.Mapper.MapItems(b); err != nil {
		return fmt.Errorf("%w: %w", ErrUnmapped, err)
	}
	return nil
}

// presettle runs the pre-settlement chain within the cashier deadline; offline, or
// when the platform does not answer in time, the window gets a local estimate.
func (e *Bills) presettle(ctx context.Context, rec *Record) (Result, error) {
	if e.link.breaker.Online() {
		dctx, cancel := context.WithTimeout(ctx, e.o.Deadline)
		err := e.advance(dctx, rec)
		cancel()
		switch {
		case err == nil:
			return Result{Kind: ResultCreated, Bill: rec}, nil
		case isFinal(err):
			e.setFailed(rec, err)
			return Result{}, &Refusal{Code: rec.ErrorCode(), Message: rec.ErrMsg}
		}
		e.log.Warn("pre-settlement did not finish online; answering with a local estimate",
			"bill_no", rec.Bill.BillNo, "err", err)
	}
	if e.o.Policy.Mode == offline.Refuse {
		rec.ErrCode, rec.ErrMsg = "offline_refused", ErrRefusedOffline.Error()
		return Result{}, ErrRefusedOffline
	}
	e.offlinePerson(rec)
	est := e.link.estimate(rec)
	rec.Presettle, rec.Estimate = &est, true
	rec.State = StatePresettled
	return Result{Kind: ResultCreated, Bill: rec}, nil
}

// offlinePerson fills the person from the cache, or from what the card says.
func (e *Bills) offlinePerson(rec *Record) {
	if rec.Person != nil {
		return
	}
	pt := rec.Bill.Patient
	if cp, err := e.link.cachedPerson(pt.MdtrtCertType, pt.MdtrtCertNo); err == nil && cp != nil {
		e.setPerson(rec, &cp.Person, SourceCache)
		return
	}
	rec.Person = &settle.Person{PsnName: pt.PsnName}
	rec.PersonSource = SourceCard
}

// lockBill takes the bill's lock and loads it; the caller runs unlock when done.
// The returned context carries what the store writes made under the lock must honour
// (Locker).
func (e *Bills) lockBill(ctx context.Context, billNo string) (context.Context, *Record, func(), error) {
	if e.isClosing() {
		return ctx, nil, nil, ErrClosed
	}
	ctx, unlock, err := e.locker.Lock(ctx, billNo)
	if err != nil {
		return ctx, nil, nil, err
	}
	rec, err := e.Bill(billNo)
	if err != nil {
		unlock()
		return ctx, nil, nil, err
	}
	return ctx, rec, unlock, nil
}

// SettleBill settles a pre-settled bill (2207), or queues it durably when the
// platform cannot answer within the cashier deadline. acctUsed and setlway may be
// empty (defaults "1" and "01").
func (e *Bills) SettleBill(ctx context.Context, billNo, acctUsed, setlway string) (Result, error) {
	ctx, rec, unlock, err := e.lockBill(ctx, billNo)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	switch rec.State {
	case StateSettled:
		return Result{Kind: ResultFound, Bill: rec}, nil
	case StateQueued:
		return Result{Kind: ResultQueued, Bill: rec}, nil
	case StateSettling:
		if rec.QueueID != 0 {
			return Result{Kind: ResultQueued, Bill: rec}, nil
		}
		// A settlement cut short (the agent stopped mid-call) and not queued: drive
		// it on from its stored step; its pending message is resolved first.
	case StateCancelled, StateDead:
		return Result{}, &StateError{Code: "bill_" + string(rec.State), Message: fmt.Sprintf("bill %s is %s and cannot be settled", billNo, rec.State)}
	case StateFailed:
		return Result{}, &Refusal{Code: rec.ErrorCode(), Message: rec.ErrMsg}
	}
	if acctUsed != "" {
		rec.AcctUsedFlag = acctUsed
	}
	if setlway != "" {
		rec.PsnSetlway = setlway
	}
	rec.Goal = GoalSettle
	if e.link.breaker.Online() {
		dctx, cancel := context.WithTimeout(ctx, e.o.Deadline)
		err := e.advance(dctx, rec)
		cancel()
		switch {
		case err == nil:
			if err := e.saveAfterBooking(ctx, rec); err != nil {
				return Result{}, err
			}
			e.obs.BillEvent("settled", "online")
			return Result{Kind: ResultSettled, Bill: rec}, nil
		case isFinal(err):
			e.setFailed(rec, err)
			if err := e.saveAfterBooking(ctx, rec); err != nil {
				return Result{}, err
			}
			return Result{}, &Refusal{Code: rec.ErrorCode(), Message: rec.ErrMsg}
		}
		e.log.Warn("settlement did not finish online; queueing the bill", "bill_no", billNo, "err", err)
	}
	if e.o.Policy.Mode == offline.Refuse && !rec.SentAnyWrite() {
		return Result{}, ErrRefusedOffline
	}
	if err := e.enqueue(ctx, rec); err != nil {
		return Result{}, err
	}
	return Result{Kind: ResultQueued, Bill: rec}, nil
}

// saveAfterBooking stores what the platform did after the cashier deadline may have
// passed. It tries a few times; when the store still cannot keep it the request
// fails (the window must not be told "settled" while the store says otherwise).
func (e *Bills) saveAfterBooking(ctx context.Context, rec *Record) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	for try := 0; try < 3; try++ {
		if err = e.save(ctx, rec, nil); err == nil {
			return nil
		}
		e.log.Error("could not store bill state", "bill_no", rec.Bill.BillNo, "try", try+1, "err", err)
	}
	return err
}

// enqueue moves the bill into the durable queue and, the first time a bill asked to
// settle is queued before it settled, decides what the window collects now. The
// carried share is reserved against max_outstanding_amount inside the transaction
// that queues the bill (the store's "outstanding" value is read and written there),
// so concurrent windows cannot carry more than the bound between them. A bill queued
// again (Recover, a cancellation) keeps what was decided: a bill settled online is
// never made an offline one. The answer is given only after the queue record is
// committed and fsynced.
func (e *Bills) enqueue(ctx context.Context, rec *Record) error {
	if rec.Person == nil {
		e.offlinePerson(rec)
	}
	decide := rec.Goal == GoalSettle && rec.Collected == nil && rec.Settlement == nil
	var prov *settle.Split
	if decide {
		prov = rec.Presettle
		if prov == nil || rec.Estimate {
			est := e.link.estimate(rec)
			prov = &est
		}
		rec.Provisional = prov
		rec.Offline = true
		rec.QueuedAt = e.now()
		if rec.QueueDay == "" {
			rec.QueueDay = settle.Day(rec.QueuedAt)
		}
	}
	if rec.QueuedAt.IsZero() {
		rec.QueuedAt = e.now()
	}
	rec.State = StateQueued
	payload, _ := json.Marshal(jobPayload{Kind: KindBill, ID: rec.Bill.BillNo, BillNo: rec.Bill.BillNo})
	ctx = context.WithoutCancel(ctx) // the deadline may be spent; the bill must still be kept
	oldID := rec.QueueID
	err := e.save(ctx, rec, func(tx Tx) error {
		if decide {
			cur, err := outstandingIn(tx)
			if err != nil {
				return err
			}
			collect, carried := e.o.Policy.Collect(rec.Bill.Total, prov.PsnCashPay, cur)
			rec.Collected, rec.Carried = &collect, carried
			if err := addOutstanding(tx, carried); err != nil {
				return err
			}
		}
		id, err := e.requeue(tx, oldID, rec.Bill.BillNo, payload)
		if err != nil {
			return err
		}
		// The bill was encoded before the queue gave its id (and the money was
		// decided): write it again with both.
		rec.QueueID = id
		return e.putBill(tx, rec)
	})
	if err != nil {
		rec.QueueID = oldID
		if decide {
			rec.Collected, rec.Carried = nil, 0
		}
		return fmt.Errorf("queue bill %s: %w", rec.Bill.BillNo, err)
	}
	if rec.Carried != 0 {
		_ = e.loadOutstanding()
	}
	e.obs.BillEvent("queued", "")
	return nil
}

// requeue gives a bill a queue job: its old job when that one is failed or dead (it
// heads the bill's key: a new job behind it would never run), else a new one.
func (e *core) requeue(tx Tx, oldID uint64, key string, payload []byte) (uint64, error) {
	if oldID != 0 {
		if j, err := tx.Job(oldID); err == nil {
			switch j.State {
			case JobFailed, JobDead:
				return oldID, tx.Retry(oldID)
			case JobReady, JobLeased:
				return oldID, nil // still in line: it carries the new goal
			}
		}
	}
	return tx.Enqueue(key, payload)
}

// jobPayload is what a queue job holds: which document to drive. The bill itself,
// with its personal data sealed, stays in the store.
type jobPayload struct {
	Kind   string `json:"kind,omitempty"`
	ID     string `json:"id,omitempty"`
	BillNo string `json:"bill_no,omitempty"` // earlier builds: the only field
}

// setFailed records a final refusal in rec (saved by the caller).
func (e *Bills) setFailed(rec *Record, err error) {
	rec.State = StateFailed
	rec.ErrCode = "platform_refused"
	if errors.Is(err, ErrNotQualified) {
		rec.ErrCode = "not_qualified"
	}
	rec.ErrMsg = refusalMessage(err)
	e.obs.BillEvent("failed", "")
}
