package workflow

import (
	"context"
	"fmt"

	settle "github.com/settle-agent/settle-agent"
)

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
	op := StayOp{Kind: OpSettle, Mid: req.MidSetl, PayChoice: PayChoice{AcctUsedFlag: req.AcctUsedFlag, PsnSetlway: req.PsnSetlway}}
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
	id := rec.addOp(StayOp{Kind: OpSettle, Mid: req.MidSetl, PayChoice: PayChoice{AcctUsedFlag: req.AcctUsedFlag, PsnSetlway: req.PsnSetlway}, At: e.now()})
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
