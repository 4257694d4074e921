package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/settle-agent/settle-agent/platform"
)

// Outcome unknown (platform.md): a write whose answer never came may or may not
// have been booked. Before the step is repeated the engine finds out, with the
// transaction's own tools:
//
//   - 2207, 2208 (and a stay's 2304, 2305, 2401): 2601 naming the original msgid
//     until it gets a definite answer, success or "原交易不存在"; then the step
//     again with a new msgid;
//   - 2201: 5201 by psn_no and the hospital's ipt_otp_no; adopt the visit's mdtrt_id
//     when it is there, register again when it is not;
//   - 2204: cancel that charge batch (2205 by chrg_bchno), success or "nothing to
//     cancel" both meaning none of it stands, then upload again under a new batch;
//   - 2202, 2205: repeat (a cancellation of what is gone is "nothing to cancel").
//
// A msgid stored before sending may never have left the machine: every rule is safe
// when nothing was booked.

// resolveRank orders the resolution of a bill's pending messages: the reversible
// ones first, latest first (a settlement is undone before what it stands on), then the
// registration (its mdtrt_id is what a fee batch is cancelled by), then fee batches.
func resolveRank(infno string) int {
	switch {
	case platform.IsReversible(infno):
		return 0
	case infno == platform.InfnoRegister:
		return 1
	case infno == platform.InfnoFeeUpload:
		return 2
	}
	return 3
}

// nextPending is the pending message to resolve first.
func nextPending(pending []Pending) Pending {
	best := len(pending) - 1
	for i := len(pending) - 1; i >= 0; i-- {
		if resolveRank(pending[i].Infno) < resolveRank(pending[best].Infno) {
			best = i
		}
	}
	return pending[best]
}

// ResolutionOrder is the order in which pending messages are resolved (for tests and
// the docs): their infnos.
func ResolutionOrder(pending []Pending) []string {
	p := slices.Clone(pending)
	var out []string
	for len(p) > 0 {
		n := nextPending(p)
		out = append(out, n.Infno)
		p = slices.DeleteFunc(p, func(x Pending) bool { return x.Msgid == n.Msgid })
	}
	return out
}

// resolve settles the outcome of one pending message and forgets it once known.
func (e *Bills) resolve(ctx context.Context, rec *Record, p Pending) error {
	switch {
	case platform.IsReversible(p.Infno):
		return e.reverse(ctx, rec, p)
	case p.Infno == platform.InfnoRegister:
		return e.findVisit(ctx, rec, p)
	case p.Infno == platform.InfnoFeeUpload:
		return e.cancelBatch(ctx, rec, p)
	}
	// 2202, 2205: the cancellation is repeated by the step itself.
	rec.logMsg(p.Msgid, p.Infno, OutcomeUnknown, "repeated", e.now())
	rec.resolvePending(p.Msgid)
	return nil
}

// reverse sends 2601 for one pending reversible message until the platform answers
// definitely: success (undone) or "the original does not exist" (never booked, or
// no longer standing). A 2601 that times out is tried again with a new msgid of its
// own; the original's omsgid stays the same.
func (e *Bills) reverse(ctx context.Context, rec *Record, p Pending) error {
	// Each try has a msgid of its own (none is stored: a 2601 repeated is harmless),
	// and a refusal because the platform forgot the session signs in again.
	err := e.readStep(ctx, rec, platform.InfnoReversal, ReversalInput(rec, p), nil)
	rec.Reversing.after(p, err)
	switch {
	case err == nil:
		rec.logMsg(p.Msgid, p.Infno, OutcomeReversed, "", e.now())
	case errors.Is(err, platform.ErrOriginalNotFound):
		rec.logMsg(p.Msgid, p.Infno, OutcomeNotBooked, "", e.now())
	default:
		return fmt.Errorf("reverse %s %s of bill %s: %w", p.Infno, p.Msgid, rec.Bill.BillNo, err)
	}
	rec.resolvePending(p.Msgid)
	return nil
}

// findVisit resolves a lost 2201: the visit is looked up (5201) by the bill number
// (ipt_otp_no) alone; found, its mdtrt_id is adopted; not found, the bill registers
// again.
func (e *Bills) findVisit(ctx context.Context, rec *Record, p Pending) error {
	var out platform.VisitQueryOutput
	if err := e.readStep(ctx, rec, platform.InfnoVisitQuery, VisitQueryInput(rec, e.now()), &out); err != nil {
		return fmt.Errorf("find the visit of a lost 2201 %s: %w", p.Msgid, err)
	}
	if v, ok := out.ByIptOtpNo(rec.Bill.BillNo); ok {
		rec.MdtrtID = v.MdtrtID
		rec.logMsg(p.Msgid, p.Infno, OutcomeAdopted, "visit "+v.MdtrtID+" found by 5201", e.now())
	} else {
		rec.logMsg(p.Msgid, p.Infno, OutcomeNotBooked, "no visit found by 5201", e.now())
		rec.StrayVisits = true
	}
	rec.resolvePending(p.Msgid)
	return nil
}

// adoptVisit resolves a 2201 (msgid) refused because the bill's visit number is
// already registered: a lost 2201 of the bill landed late. The visit is found with
// 5201 by ipt_otp_no and adopted; when 5201 does not list it (yet), the outcome is
// unknown and the bill is tried again later.
func (e *Bills) adoptVisit(ctx context.Context, rec *Record, msgid string) error {
	var out platform.VisitQueryOutput
	if err := e.readStep(ctx, rec, platform.InfnoVisitQuery, VisitQueryInput(rec, e.now()), &out); err != nil {
		return fmt.Errorf("find the visit registered under %s: %w", rec.Bill.BillNo, err)
	}
	v, ok := out.ByIptOtpNo(rec.Bill.BillNo)
	if !ok {
		return fmt.Errorf("2201 %s refused as already registered, but 5201 lists no visit %s: %w", msgid, rec.Bill.BillNo, platform.ErrOutcomeUnknown)
	}
	rec.MdtrtID = v.MdtrtID
	rec.logMsg(msgid, platform.InfnoRegister, OutcomeAdopted, "already registered: visit "+v.MdtrtID+" found by 5201", e.now())
	return nil
}

// closeStrayVisits looks, once the bill reached its goal, for a registration of the
// bill that a lost 2201 booked late (after 5201 had not found it and the bill had
// registered again), and cancels it (2202), so that the platform holds no orphan
// visit. A refusal is noted on the bill for a person; a 5201 or a 2202 without a
// definite answer keeps StrayVisits set, and the bill stays in the recovery index
// until a later run (Recover, its queue job) gets one.
func (e *Bills) closeStrayVisits(ctx context.Context, rec *Record) {
	if !rec.StrayVisits || rec.PsnNo == "" {
		return
	}
	var out platform.VisitQueryOutput
	if err := e.readStep(ctx, rec, platform.InfnoVisitQuery, VisitQueryInput(rec, e.now()), &out); err != nil {
		rec.addNote(&rec.Surprises, "a registration lost earlier may stand at the platform as an open visit of bill "+rec.Bill.BillNo+": check 5201 ("+err.Error()+")")
		if platform.Classify(err) == platform.OutcomeBusiness {
			rec.StrayVisits = false
		}
		return
	}
	done := true
	for _, v := range out.Mdtrtinfo {
		if v.IptOtpNo != rec.Bill.BillNo || v.MdtrtID == "" || v.MdtrtID == rec.MdtrtID || v.ValiFlag == "0" {
			continue
		}
		stray := CancelRegisterInput(rec)
		stray.Data.MdtrtID = v.MdtrtID
		if _, err := e.writeStep(ctx, rec, platform.InfnoCancelRegister, stray, nil); err != nil && !errors.Is(err, platform.ErrNothingToCancel) {
			rec.addNote(&rec.Surprises, "visit "+v.MdtrtID+" of bill "+rec.Bill.BillNo+" (a registration that landed late) could not be cancelled: "+err.Error())
			done = done && platform.Classify(err) == platform.OutcomeBusiness
		}
	}
	rec.StrayVisits = !done
}

// cancelBatch resolves a lost 2204: its charge batch is cancelled (2205 by
// chrg_bchno); success or "nothing to cancel" both mean none of it stands, and the
// fees go up again under a new batch number (the platform refuses a feedetl_sn it has
// seen, even cancelled).
func (e *Bills) cancelBatch(ctx context.Context, rec *Record, p Pending) error {
	if rec.MdtrtID == "" {
		// No visit: the upload cannot have been booked.
		rec.logMsg(p.Msgid, p.Infno, OutcomeNotBooked, "no visit", e.now())
		rec.resolvePending(p.Msgid)
		return nil
	}
	batch := p.Batch
	if batch == "" {
		batch = ChargeBatch(rec)
	}
	err := e.cancelFees(ctx, rec, batch)
	if errors.Is(err, platform.ErrAlreadySettled) && rec.Settlement == nil {
		// The batch was uploaded and a late 2207 of the bill settled it: adopt that
		// settlement; the fees stand with it.
		if err := e.adoptBooked(ctx, rec); err != nil {
			return fmt.Errorf("cancel the batch of a lost 2204 %s: %w", p.Msgid, err)
		}
		rec.logMsg(p.Msgid, p.Infno, OutcomeAdopted, "batch "+batch+" settled (found by 5203)", e.now())
		rec.resolvePending(p.Msgid)
		rec.FeesDone = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("cancel the batch of a lost 2204 %s: %w", p.Msgid, err)
	}
	rec.logMsg(p.Msgid, p.Infno, OutcomeNotBooked, "batch "+batch+" cancelled (2205)", e.now())
	rec.resolvePending(p.Msgid)
	rec.FeesDone = false
	rec.Presettle, rec.FeeResults = nil, nil
	rec.FeeBatch = max(rec.FeeBatch, 1) + 1
	return nil
}

// cancelFees sends 2205 for one charge batch ("0000": every unsettled line); "nothing
// to cancel" is a success.
func (e *Bills) cancelFees(ctx context.Context, rec *Record, batch string) error {
	// Repeatable like a read (a cancellation of what is gone is "nothing to cancel"),
	// so it signs in again when the platform forgot the session.
	err := e.readStep(ctx, rec, platform.InfnoCancelFee, CancelFeeInput(rec, batch), nil)
	if err != nil && !errors.Is(err, platform.ErrNothingToCancel) {
		return err
	}
	return nil
}

// adoptBooked resolves a step (a repeated 2207, or a 2204, 2205, 2206, 2202) refused
// because the visit is already settled:
// that settlement is the one this bill was making (booked late, after the agent gave
// up on it). It is found with 5203 by mdtrt_id and adopted.
func (e *Bills) adoptBooked(ctx context.Context, rec *Record) error {
	var out platform.SettleQueryOutput
	in := platform.SettleQueryInput{Data: platform.SettleQueryData{PsnNo: rec.PsnNo, MdtrtID: rec.MdtrtID}}
	if err := e.readStep(ctx, rec, platform.InfnoSettleQuery, in, &out); err != nil {
		return fmt.Errorf("find the settlement of visit %s: %w", rec.MdtrtID, err)
	}
	standing := out.Standing()
	if len(standing) == 0 {
		return fmt.Errorf("visit %s said settled, but 5203 lists no standing settlement: %w", rec.MdtrtID, platform.ErrOutcomeUnknown)
	}
	s := standing[0]
	if rec.reversing(s.MedinsSetlID) {
		// A 2601 of the message that booked it went out unanswered and may still
		// land and undo it: adopted, the bill would say settled while the platform
		// holds nothing. It is reversed now for certain, and the bill settles anew.
		rec.logMsg(s.MedinsSetlID, platform.InfnoSettle, OutcomeUnknown, "settlement "+s.SetlID+" stands, but a 2601 of it may still land: reversed again", e.now())
		rec.Pending = append(rec.Pending, Pending{Infno: platform.InfnoSettle, Msgid: s.MedinsSetlID, Unknown: true})
		return fmt.Errorf("settlement %s of visit %s was booked by %s, whose reversal is in flight: %w", s.SetlID, rec.MdtrtID, s.MedinsSetlID, errRebook)
	}
	ours := false
	for _, m := range rec.History {
		if m.Infno == platform.InfnoSettle && m.Msgid == s.MedinsSetlID {
			ours = true
		}
	}
	if !ours {
		rec.Surprises = append(rec.Surprises, fmt.Sprintf("settlement %s of visit %s was booked by msgid %q, not one this bill sent; adopted: check it in the day's 3202", s.SetlID, rec.MdtrtID, s.MedinsSetlID))
	}
	if len(standing) > 1 {
		rec.Surprises = append(rec.Surprises, fmt.Sprintf("visit %s holds %d standing settlements at the platform; %s adopted", rec.MdtrtID, len(standing), s.SetlID))
	}
	rec.logMsg(s.MedinsSetlID, platform.InfnoSettle, OutcomeAdopted, "settlement "+s.SetlID+" found by 5203", e.now())
	e.adoptSettlement(rec, s, s.MedinsSetlID)
	return nil
}
