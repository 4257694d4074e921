package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// StayOffline is what a discharge settlement asked while the platform cannot be
// reached does ([offline] inpatient). The estimate policy of bills never applies to
// stays: inpatient amounts are large.
type StayOffline string

// The inpatient offline policies.
const (
	// StayDefer (default): the settlement is queued (202); the deposit (押金) stays with
	// the hospital and the difference comes with the real settlement.
	StayDefer StayOffline = "defer"
	// StayRefuse: the settlement is refused while offline (503).
	StayRefuse StayOffline = "refuse"
)

// StayResult is the outcome of a stay request: what happened, the stay as it stands,
// and the part the request was about.
type StayResult struct {
	Kind       ResultKind
	Stay       *StayRecord
	Batch      *StayBatch      // a fee request's batch
	Settlement *StaySettlement // a settle request's settlement
	Split      *settle.Split   // a pre-settlement's answer
}

// lockStay takes the stay's lock and loads it; the caller runs unlock when done; the
// returned context carries what the store writes made under the lock must honour.
func (e *Stays) lockStay(ctx context.Context, iptNo string) (context.Context, *StayRecord, func(), error) {
	if e.isClosing() {
		return ctx, nil, nil, ErrClosed
	}
	if err := settle.CheckIdentifier("ipt_no", iptNo); err != nil {
		return ctx, nil, nil, fmt.Errorf("stay %q: %w", iptNo, settle.ErrNotFound)
	}
	ctx, unlock, err := e.locker.Lock(ctx, "stay\x00"+iptNo)
	if err != nil {
		return ctx, nil, nil, err
	}
	rec, err := e.Stay(iptNo)
	if err != nil {
		unlock()
		return ctx, nil, nil, err
	}
	return ctx, rec, unlock, nil
}

// stayStateError is a request the stay's state does not allow (409): e is a
// StateError whose code says why; its message names the stay.
func stayStateError(rec *StayRecord, e *StateError) error {
	e.Message = fmt.Sprintf("stay %s (%s): %s", rec.Admission.IptNo, rec.State, e.Message)
	return e
}

// closedStay refuses a request on a stay that is over (cancelled, failed, dead) or
// settled for good.
func closedStay(rec *StayRecord) error {
	switch {
	case rec.Dead:
		return &StateError{Code: "stay_dead", Message: fmt.Sprintf("stay %s is dead (not sent within the retry horizon); an administrator must retry its queue job", rec.Admission.IptNo)}
	case rec.AdmFailed:
		return &Refusal{Code: rec.ErrCode, Message: rec.ErrMsg}
	case rec.Cancelled || rec.waiting(OpCancel, ""):
		return stayStateError(rec, &StateError{Code: "stay_cancelled", Message: "it is cancelled"})
	}
	return nil
}

// SubmitAdmission stores a new stay and admits it (2401; 1101 first): online within
// the cashier deadline, else queued. The same admission again answers what it
// answered; another under the same ipt_no is settle.ErrConflict — unless the first
// was refused and nothing was ever booked, when the new one replaces it (the window
// fixed the cause, e.g. the patient filed 备案 since).
func (e *Stays) SubmitAdmission(ctx context.Context, a settle.Admission, source string) (StayResult, error) {
	if e.isClosing() {
		return StayResult{}, ErrClosed
	}
	hash := contentHash(&a)
	if err := a.Validate(); err != nil {
		return StayResult{}, err
	}
	if e.o.Windows != nil && !e.o.Windows(a.Window) {
		v := &settle.ValidationError{What: "admission"}
		v.Add("window", "window %q is not configured in this agent", a.Window)
		return StayResult{}, v
	}
	ctx, unlock, err := e.locker.Lock(ctx, "stay\x00"+a.IptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	old, err := e.Stay(a.IptNo)
	switch {
	case err == nil:
		replace := old.AdmFailed && !old.Admitted && len(old.Pending) == 0
		if old.AdmHash == hash && !replace {
			return e.admissionAnswer(old)
		}
		if !replace {
			return StayResult{}, fmt.Errorf("stay %s already exists with another admission: %w", a.IptNo, settle.ErrConflict)
		}
	case !errors.Is(err, settle.ErrNotFound):
		return StayResult{}, err
	}
	rec := &StayRecord{Admission: a, AdmHash: hash, Source: source, CreatedAt: e.now()}
	if old != nil {
		rec.CreatedAt, rec.History, rec.NextOp, rec.QueueID = old.CreatedAt, old.History, old.NextOp, old.QueueID
	}
	id := rec.addOp(StayOp{Kind: OpAdmit, At: e.now()})
	e.obs.BillEvent("stay_received", sourceKind(source))
	kind, err := e.runStay(ctx, rec, id, ResultCreated)
	if err != nil {
		return StayResult{}, err
	}
	return StayResult{Kind: kind, Stay: rec}, nil
}

// admissionAnswer is what a repeated admission answers: created once admitted, queued
// while it waits, the refusal when it was refused.
func (e *Stays) admissionAnswer(rec *StayRecord) (StayResult, error) {
	switch {
	case rec.AdmFailed:
		return StayResult{}, &Refusal{Code: rec.ErrCode, Message: rec.ErrMsg}
	case rec.Admitted:
		return StayResult{Kind: ResultCreated, Stay: rec}, nil
	}
	return StayResult{Kind: ResultQueued, Stay: rec}, nil
}

// runStay drives the stay's line after operation op was added, within the cashier
// deadline when the platform is online; what does not finish is queued durably. It
// returns done when op went through, ResultQueued when it waits, or op's refusal.
func (e *Stays) runStay(ctx context.Context, rec *StayRecord, op int, done ResultKind) (ResultKind, error) {
	if e.link.breaker.Online() {
		dctx, cancel := context.WithTimeout(ctx, e.o.Deadline)
		err := e.advanceStay(dctx, rec)
		cancel()
		if err != nil {
			e.log.Warn("stay operation did not finish online; queueing it", "ipt_no", rec.Admission.IptNo, "err", err)
		}
	}
	if len(rec.Ops) > 0 || len(rec.Pending) > 0 {
		if e.o.StayOffline == StayRefuse && rec.opWaiting(op) && len(rec.Pending) == 0 {
			if o := rec.Ops[len(rec.Ops)-1]; o.ID == op && o.Kind == OpSettle {
				rec.Ops = rec.Ops[:len(rec.Ops)-1]
				if err := e.saveStayAfter(ctx, rec, nil); err != nil {
					return "", err
				}
				return "", ErrRefusedOffline
			}
		}
		if err := e.enqueueStay(ctx, rec); err != nil {
			return "", err
		}
		if rec.opWaiting(op) {
			return ResultQueued, nil
		}
	} else if err := e.saveStayAfter(ctx, rec, nil); err != nil {
		return "", err
	}
	if ref := rec.refusalOf(op); ref != nil {
		return "", &Refusal{Code: ref.Code, Message: ref.Message}
	}
	return done, nil
}

// saveStayAfter stores what the platform did after the cashier deadline may have
// passed: without the request's deadline, a few tries.
func (e *Stays) saveStayAfter(ctx context.Context, rec *StayRecord, also func(Tx) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	for try := 0; try < 3; try++ {
		if err = e.saveStay(ctx, rec, also); err == nil {
			return nil
		}
		e.log.Error("could not store stay state", "ipt_no", rec.Admission.IptNo, "try", try+1, "err", err)
	}
	return err
}

// enqueueStay gives the stay's line a queue job (one per stay, key "stay/<ipt_no>")
// and stores the stay with it in one commit; the answer is given only after it.
func (e *Stays) enqueueStay(ctx context.Context, rec *StayRecord) error {
	now := e.now()
	for i := range rec.Ops {
		rec.Ops[i].Offline = true
	}
	rec.QueuedAt = now
	payload, _ := json.Marshal(jobPayload{Kind: KindStay, ID: rec.Admission.IptNo})
	oldID := rec.QueueID
	err := e.saveStayAfter(ctx, rec, func(tx Tx) error {
		id, err := e.requeue(tx, oldID, "stay/"+rec.Admission.IptNo, payload)
		if err != nil {
			return err
		}
		rec.QueueID = id
		return e.putStay(tx, rec)
	})
	if err != nil {
		rec.QueueID = oldID
		return fmt.Errorf("queue stay %s: %w", rec.Admission.IptNo, err)
	}
	e.obs.BillEvent("stay_queued", "")
	return nil
}

// SubmitStayFees stores one fee batch of an admitted (or queued) stay and uploads it
// (2301): mapped to national codes, in order behind what waits. The same batch again
// answers what it answered; another under the same batch_no is settle.ErrConflict.
func (e *Stays) SubmitStayFees(ctx context.Context, iptNo string, b settle.FeeBatch, source string) (StayResult, error) {
	b.IptNo = iptNo
	b.Items = slices.Clone(b.Items) // mapping fills them in: the caller's stay as posted
	hash := contentHash(&b)
	if err := b.Validate(); err != nil {
		return StayResult{}, err
	}
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	if old := rec.batch(b.BatchNo); old != nil {
		if old.Hash != hash {
			return StayResult{}, fmt.Errorf("fee batch %s of stay %s already exists with other lines: %w", b.BatchNo, iptNo, settle.ErrConflict)
		}
		return batchAnswer(rec, old)
	}
	if err := closedStay(rec); err != nil {
		return StayResult{}, err
	}
	if rec.final() != nil || finalWaiting(rec) {
		return StayResult{}, stayStateError(rec, &StateError{Code: "stay_settled", Message: "it is settled for good; cancel the settlement first to add fees"})
	}
	for i, it := range b.Items {
		if it.OccurredAt.Before(rec.Admission.AdmittedAt) {
			v := &settle.ValidationError{What: "fee batch"}
			v.Add(fmt.Sprintf("items[%d].occurred_at", i), "%s is before the admission (%s)", it.OccurredAt.Format(time.RFC3339), rec.Admission.AdmittedAt.Format(time.RFC3339))
			return StayResult{}, v
		}
	}
	if err := e.mapBatch(&b); err != nil {
		return StayResult{}, err
	}
	rec.Batches = append(rec.Batches, StayBatch{Batch: b, Hash: hash, Seq: len(rec.Batches) + 1, Source: source, At: e.now()})
	id := rec.addOp(StayOp{Kind: OpFees, Batch: b.BatchNo, At: e.now()})
	kind, err := e.runStay(ctx, rec, id, ResultCreated)
	if err != nil {
		return StayResult{}, err
	}
	return StayResult{Kind: kind, Stay: rec, Batch: rec.batch(b.BatchNo)}, nil
}

// finalWaiting reports whether a final settlement waits in the stay's line.
func finalWaiting(rec *StayRecord) bool {
	for _, op := range rec.Ops {
		if op.Kind == OpSettle && !op.Mid {
			return true
		}
	}
	return false
}

func batchAnswer(rec *StayRecord, b *StayBatch) (StayResult, error) {
	switch {
	case b.Refused != "":
		return StayResult{}, &Refusal{Code: "platform_refused", Message: b.Refused}
	case b.Uploaded || b.Cancelled:
		return StayResult{Kind: ResultCreated, Stay: rec, Batch: b}, nil
	}
	return StayResult{Kind: ResultQueued, Stay: rec, Batch: b}, nil
}

// mapBatch fills every line's national codes by the batch's latest day, or refuses
// the batch listing every unmapped code.
func (e *Stays) mapBatch(b *settle.FeeBatch) error {
	bill := settle.Bill{BillNo: b.BatchNo, Items: make([]settle.Item, len(b.Items))}
	for i, it := range b.Items {
		bill.Items[i] = it.Item
		if it.OccurredAt.After(bill.CreatedAt) {
			bill.CreatedAt = it.OccurredAt
		}
	}
	if err := e.bills.mapItems(&bill); err != nil {
		return err
	}
	for i := range b.Items {
		b.Items[i].Item = bill.Items[i]
	}
	return nil
}

// CancelStayFees withdraws one fee batch (2302 of its lines); a batch not sent yet is
// simply dropped from the line.
func (e *Stays) CancelStayFees(ctx context.Context, iptNo, batchNo string) (StayResult, error) {
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	b := rec.batch(batchNo)
	if b == nil {
		return StayResult{}, fmt.Errorf("fee batch %s of stay %s: %w", batchNo, iptNo, settle.ErrNotFound)
	}
	if b.Cancelled || rec.waiting(OpCancelFees, batchNo) {
		return StayResult{Kind: ResultCancelled, Stay: rec, Batch: b}, nil
	}
	if b.SettledBy != "" {
		return StayResult{}, &StateError{Code: "batch_settled", Message: fmt.Sprintf("fee batch %s is settled (setl_id %s): cancel that settlement first", batchNo, b.SettledBy)}
	}
	if !b.Uploaded && (b.Refused != "" || !pendingFor(rec, batchNo)) {
		// Never booked: it leaves the line without a word to the platform.
		kept := rec.Ops[:0]
		for _, op := range rec.Ops {
			if !(op.Kind == OpFees && op.Batch == batchNo) {
				kept = append(kept, op)
			}
		}
		rec.Ops = kept
		b.Cancelled = true
		if err := e.saveStayAfter(ctx, rec, nil); err != nil {
			return StayResult{}, err
		}
		return StayResult{Kind: ResultCancelled, Stay: rec, Batch: rec.batch(batchNo)}, nil
	}
	id := rec.addOp(StayOp{Kind: OpCancelFees, Batch: batchNo, At: e.now()})
	kind, err := e.runStay(ctx, rec, id, ResultCancelled)
	if err != nil {
		return StayResult{}, err
	}
	return StayResult{Kind: kind, Stay: rec, Batch: rec.batch(batchNo)}, nil
}

func pendingFor(rec *StayRecord, batchNo string) bool {
	for _, p := range rec.Pending {
		if p.Batch == batchNo || len(p.Batch) > len(batchNo) && p.Batch[:len(batchNo)+1] == batchNo+"#" {
			return true
		}
	}
	return false
}

// SubmitDischarge discharges the stay (2402). The same discharge again answers what it
// answered; another while the first stands is settle.ErrConflict.
func (e *Stays) SubmitDischarge(ctx context.Context, iptNo string, d settle.Discharge, source string) (StayResult, error) {
	d.IptNo = iptNo
	hash := contentHash(&d)
	if err := d.Validate(); err != nil {
		return StayResult{}, err
	}
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	if rec.Discharge != nil && (rec.Discharged || rec.waiting(OpDischarge, "")) {
		if rec.DischargeHash != hash {
			return StayResult{}, fmt.Errorf("stay %s is discharged already with another discharge: %w", iptNo, settle.ErrConflict)
		}
		if rec.Discharged {
			return StayResult{Kind: ResultFound, Stay: rec}, nil
		}
		return StayResult{Kind: ResultQueued, Stay: rec}, nil
	}
	if err := closedStay(rec); err != nil {
		return StayResult{}, err
	}
	if rec.final() != nil {
		return StayResult{}, stayStateError(rec, &StateError{Code: "stay_settled", Message: "it is settled for good"})
	}
	if d.DischargedAt.Before(rec.Admission.AdmittedAt) {
		v := &settle.ValidationError{What: "discharge"}
		v.Add("discharged_at", "%s is before the admission (%s)", d.DischargedAt.Format(time.RFC3339), rec.Admission.AdmittedAt.Format(time.RFC3339))
		return StayResult{}, v
	}
	rec.Discharge, rec.DischargeHash = &d, hash
	id := rec.addOp(StayOp{Kind: OpDischarge, At: e.now()})
	kind, err := e.runStay(ctx, rec, id, ResultFound)
	if err != nil {
		return StayResult{}, err
	}
	return StayResult{Kind: kind, Stay: rec}, nil
}

// CancelDischarge takes the discharge back (2405): the stay is in hospital again.
func (e *Stays) CancelDischarge(ctx context.Context, iptNo, source string) (StayResult, error) {
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	if err := closedStay(rec); err != nil {
		return StayResult{}, err
	}
	if rec.final() != nil {
		return StayResult{}, stayStateError(rec, &StateError{Code: "stay_settled", Message: "it is settled for good; cancel the settlement first"})
	}
	if !rec.Discharged && !rec.waiting(OpDischarge, "") {
		return StayResult{Kind: ResultFound, Stay: rec}, nil
	}
	id := rec.addOp(StayOp{Kind: OpCancelDischarge, At: e.now()})
	kind, err := e.runStay(ctx, rec, id, ResultFound)
	if err != nil {
		return StayResult{}, err
	}
	return StayResult{Kind: kind, Stay: rec}, nil
}

// PresettleStay asks the platform what the unsettled fees would settle to (2303),
// after whatever waits in the stay's line. It needs the platform: offline it is
// ErrOffline (no estimate is made for a stay).
func (e *Stays) PresettleStay(ctx context.Context, iptNo string, req settle.StaySettle) (StayResult, error) {
	if err := req.Validate(); err != nil {
		return StayResult{}, err
	}
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	if err := closedStay(rec); err != nil {
		return StayResult{}, err
	}
	if err := settleAllowed(rec, req.MidSetl); err != nil {
		return StayResult{}, err
	}
	if !e.link.breaker.Online() {
		return StayResult{}, fmt.Errorf("pre-settle stay %s: %w", iptNo, ErrOffline)
	}
	dctx, cancel := context.WithTimeout(ctx, e.o.Deadline)
	defer cancel()
	if err := e.advanceStay(dctx, rec); err != nil {
		if serr := e.afterStayAdvance(ctx, rec); serr != nil {
			return StayResult{}, serr
		}
		return StayResult{}, fmt.Errorf("pre-settle stay %s: what waits in its line did not reach the platform: %w", iptNo, ErrOffline)
	}
	_, total := rec.unsettled()
	if total == 0 {
		_ = e.saveStayAfter(ctx, rec, nil)
		return StayResult{}, stayStateError(rec, &StateError{Code: "stay_no_fees", Message: "it has no unsettled fees"})
	}
	op := StayOp{Kind: OpSettle, Mid: req.MidSetl, AcctUsedFlag: req.AcctUsedFlag, PsnSetlway: req.PsnSetlway}
	err = e.stayPresettle(dctx, rec, InpatientPreSettleInput(rec, op, total))
	if serr := e.saveStayAfter(ctx, rec, nil); serr != nil {
		return StayResult{}, serr
	}
	switch {
	case err == nil:
		return StayResult{Kind: ResultFound, Stay: rec, Split: rec.Presettle}, nil
	case isFinal(err):
		return StayResult{}, &Refusal{Code: "platform_refused", Message: refusalMessage(err)}
	}
	return StayResult{}, fmt.Errorf("pre-settle stay %s: %v: %w", iptNo, err, ErrOffline)
}

// afterStayAdvance stores a line that did not finish: queued when it waits.
func (e *Stays) afterStayAdvance(ctx context.Context, rec *StayRecord) error {
	if len(rec.Ops) > 0 || len(rec.Pending) > 0 {
		return e.enqueueStay(ctx, rec)
	}
	return e.saveStayAfter(ctx, rec, nil)
}

// settleAllowed checks a settlement request against the stay: a final settlement
// needs the discharge (sent or waiting), a mid-stay one a stay still in hospital.
func settleAllowed(rec *StayRecord, mid bool) error {
	discharged := rec.Discharged || rec.waiting(OpDischarge, "")
	switch {
	case rec.finalKept() != nil:
		return stayStateError(rec, &StateError{Code: "stay_settled", Message: "it is settled for good"})
	case !mid && !discharged:
		return stayStateError(rec, &StateError{Code: "stay_not_discharged", Message: "it is not discharged: discharge it first, or settle mid-stay (mid_setl: true)"})
	case mid && discharged:
		return stayStateError(rec, &StateError{Code: "stay_discharged", Message: "it is discharged: settle it for good (mid_setl: false)"})
	}
	return nil
}

// SettleStay settles the stay's unsettled fees (2303, then 2304): for good after the
// discharge, or mid-stay (中途结算). Offline it follows the inpatient offline policy:
// defer queues it (ResultQueued), refuse is ErrRefusedOffline. A stay settled for good
// answers its settlement again.
func (e *Stays) SettleStay(ctx context.Context, iptNo string, req settle.StaySettle) (StayResult, error) {
	if err := req.Validate(); err != nil {
		return StayResult{}, err
	}
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	if f := rec.finalKept(); f != nil && !req.MidSetl {
		return StayResult{Kind: ResultFound, Stay: rec, Settlement: f}, nil
	}
	if err := closedStay(rec); err != nil {
		return StayResult{}, err
	}
	if live := rec.live(); req.MidSetl && len(live) > 0 && live[len(live)-1].Mid && !rec.waiting(OpFees, "") {
		if _, total := rec.unsettled(); total == 0 {
			// The mid-stay settlement asked again (its answer was lost): nothing came
			// since the one that stands; it is the answer.
			return StayResult{Kind: ResultFound, Stay: rec, Settlement: live[len(live)-1]}, nil
		}
	}
	for i, op := range rec.Ops {
		if op.Kind == OpSettle && op.Mid == req.MidSetl {
			if !op.Offline {
				// The window is told queued now (a crash cut the first answer short
				// and Recover queued the line): the deposit covers the patient, and
				// the settlement's cash is asked on its day's report.
				rec.Ops[i].Offline = true
				if err := e.saveStayAfter(ctx, rec, nil); err != nil {
					return StayResult{}, err
				}
			}
			return StayResult{Kind: ResultQueued, Stay: rec}, nil
		}
	}
	if err := settleAllowed(rec, req.MidSetl); err != nil {
		return StayResult{}, err
	}
	if e.o.StayOffline == StayRefuse && !e.link.breaker.Online() {
		return StayResult{}, ErrRefusedOffline
	}
	id := rec.addOp(StayOp{Kind: OpSettle, Mid: req.MidSetl, AcctUsedFlag: req.AcctUsedFlag, PsnSetlway: req.PsnSetlway, At: e.now()})
	n := len(rec.Settlements)
	kind, err := e.runStay(ctx, rec, id, ResultSettled)
	if err != nil {
		return StayResult{}, err
	}
	res := StayResult{Kind: kind, Stay: rec}
	if kind == ResultSettled && len(rec.Settlements) > n {
		res.Settlement = &rec.Settlements[len(rec.Settlements)-1]
	}
	return res, nil
}

// CancelStaySettlement cancels one settlement of the stay (2305): the stay is back to
// discharged (or in hospital, for a mid-stay one). Only the newest that stands may be.
func (e *Stays) CancelStaySettlement(ctx context.Context, iptNo, setlID string) (StayResult, error) {
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	st := rec.settlement(setlID)
	if st == nil {
		return StayResult{}, fmt.Errorf("settlement %s of stay %s: %w", setlID, iptNo, settle.ErrNotFound)
	}
	for _, op := range rec.Ops {
		if op.Kind == OpCancelSettlement && op.SetlID == setlID {
			return StayResult{Kind: ResultQueued, Stay: rec, Settlement: st}, nil
		}
	}
	if st.Cancelled {
		return StayResult{Kind: ResultCancelled, Stay: rec, Settlement: st}, nil
	}
	if live := rec.live(); live[len(live)-1] != st {
		return StayResult{}, &StateError{Code: "settlement_not_latest", Message: fmt.Sprintf("settlement %s of stay %s has a later one standing: cancel that one first", setlID, iptNo)}
	}
	id := rec.addOp(StayOp{Kind: OpCancelSettlement, SetlID: setlID, At: e.now()})
	kind, err := e.runStay(ctx, rec, id, ResultCancelled)
	if err != nil {
		return StayResult{}, err
	}
	return StayResult{Kind: kind, Stay: rec, Settlement: rec.settlement(setlID)}, nil
}

// CancelStay cancels the admission (2405 when discharged, 2302 of the unsettled fees,
// 2404); a stay nothing was ever booked for is simply cancelled. A stay with a
// settlement standing is refused: cancel the settlement first.
func (e *Stays) CancelStay(ctx context.Context, iptNo, source string) (StayResult, error) {
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	if rec.Cancelled || rec.waiting(OpCancel, "") {
		if rec.Cancelled {
			return StayResult{Kind: ResultCancelled, Stay: rec}, nil
		}
		return StayResult{Kind: ResultQueued, Stay: rec}, nil
	}
	if len(rec.live()) > 0 || rec.waiting(OpSettle, "") {
		return StayResult{}, stayStateError(rec, &StateError{Code: "stay_has_settlement", Message: "a settlement stands (or waits): cancel it first"})
	}
	if !rec.Admitted && len(rec.Pending) == 0 {
		// Nothing reached the platform: the stay is cancelled, and its queue job,
		// when it still waits, is withdrawn in the same commit.
		rec.Ops, rec.Cancelled, rec.AdmFailed = nil, true, false
		if err := e.saveStayAfter(ctx, rec, func(tx Tx) error { return withdrawWaiting(tx, rec.QueueID) }); err != nil {
			return StayResult{}, err
		}
		e.obs.BillEvent("stay_cancelled", "")
		return StayResult{Kind: ResultCancelled, Stay: rec}, nil
	}
	id := rec.addOp(StayOp{Kind: OpCancel, At: e.now()})
	kind, err := e.runStay(ctx, rec, id, ResultCancelled)
	if err != nil {
		return StayResult{}, err
	}
	if kind == ResultCancelled {
		e.obs.BillEvent("stay_cancelled", "")
	}
	return StayResult{Kind: kind, Stay: rec}, nil
}

// ChangeAdmission changes the bed, department or doctor of a stay in hospital (2403),
// in order behind what waits in its line. The admission's identity (its body for
// idempotency) stays what was posted; the stay shows the change.
func (e *Stays) ChangeAdmission(ctx context.Context, iptNo string, c settle.AdmissionChange, source string) (StayResult, error) {
	c.IptNo = iptNo
	if err := c.Validate(); err != nil {
		return StayResult{}, err
	}
	ctx, rec, unlock, err := e.lockStay(ctx, iptNo)
	if err != nil {
		return StayResult{}, err
	}
	defer unlock()
	if err := closedStay(rec); err != nil {
		return StayResult{}, err
	}
	if rec.final() != nil {
		return StayResult{}, stayStateError(rec, &StateError{Code: "stay_settled", Message: "it is settled for good"})
	}
	id := rec.addOp(StayOp{Kind: OpChange, Change: &c, At: e.now()})
	kind, err := e.runStay(ctx, rec, id, ResultFound)
	if err != nil {
		return StayResult{}, err
	}
	return StayResult{Kind: kind, Stay: rec}, nil
}
