package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// resolveStay settles the outcome of one pending message of the stay with the
// transaction's own tools (platform.md "Outcome unknown") and forgets it once known:
//
//   - 2401, 2304, 2305: 2601 naming the msgid — success (reversed) or "original does
//     not exist" (not booked) both mean: not booked now; any other refusal leaves the
//     message pending for a person — then the operation is sent again with a new msgid;
//   - 2301: 5204 — all the upload's lines stand: it was booked, go on; else its lines
//     that stand are withdrawn (2302) and the batch is uploaded again as a new attempt;
//   - 2401 first 5201 by the ipt_no: adopted when found;
//   - 2402: 5201 — discharged (endtime set): go on; else 2402 again;
//   - 2302, 2403, 2405, 2404: sent again — each is harmless when already done.
func (e *Stays) resolveStay(ctx context.Context, rec *StayRecord, p Pending) error {
	switch p.Infno {
	case platform.InfnoAdmission, platform.InfnoInpatientSettle, platform.InfnoInpatientCancelSettle:
		if p.Infno == platform.InfnoAdmission && rec.PsnNo != "" && !rec.Admitted {
			// A lost admission: 5201 by the ipt_no first — adopted when it is there.
			v, ok, err := e.findStayVisit(ctx, rec)
			if err != nil {
				return err
			}
			// Found, but a 2601 of it went out unanswered: that 2601 may still land
			// and undo the admission under the stay's feet (seed 314). It is reversed
			// for certain below, and the stay admitted anew.
			if ok && !rec.Reversing.has(p.Msgid) {
				rec.MdtrtID, rec.Admitted = v.MdtrtID, true
				rec.logMsg(p.Msgid, p.Infno, OutcomeAdopted, "found by 5201 as "+v.MdtrtID, e.now())
				break
			}
		}
		// Each try has a msgid of its own (none is stored: a 2601 repeated is
		// harmless), and a refusal because the platform forgot the session signs in
		// again.
		// Only "the original does not exist" (platform.ErrOriginalNotFound, whose
		// wordings are configuration) means not booked: any other refusal leaves the
		// message unresolved and never sent again — the original may stand.
		err := e.stayRead(ctx, rec, platform.InfnoReversal, StayReversalInput(rec, p), nil)
		rec.Reversing.after(p, err)
		if err != nil && !errors.Is(err, platform.ErrOriginalNotFound) {
			if isFinal(err) {
				// The platform will not reverse it (it stands and others build on it,
				// or it says something else): a person must look; the stay waits.
				return fmt.Errorf("reverse %s %s of stay %s: %w (needs a person)", p.Infno, p.Msgid, rec.Admission.IptNo, err)
			}
			return fmt.Errorf("reverse %s %s of stay %s: %w", p.Infno, p.Msgid, rec.Admission.IptNo, err)
		}
		if err != nil {
			// 原交易不存在: never booked (or no longer standing), as the bill flow logs it.
			rec.logMsg(p.Msgid, p.Infno, OutcomeNotBooked, "", e.now())
		} else {
			rec.logMsg(p.Msgid, p.Infno, OutcomeReversed, "", e.now())
		}
	case platform.InfnoInpatientFeeUpload:
		no, attempt, _ := strings.Cut(p.Batch, "#")
		b := rec.batch(no)
		outcome := OutcomeNotBooked
		if b != nil && fmt.Sprint(b.Attempt) == attempt {
			complete, err := e.resolveLostUpload(ctx, rec, b)
			if err != nil {
				return err
			}
			if complete {
				outcome = OutcomeAdopted
			}
		}
		rec.logMsg(p.Msgid, p.Infno, outcome, "", e.now())
	case platform.InfnoDischarge:
		// A lost discharge: 5201 shows whether the stay is discharged (endtime); go
		// on when it is, send 2402 again when not (a late one then answers
		// "discharged already", which counts as done).
		v, ok, err := e.findStayVisit(ctx, rec)
		if err != nil {
			return err
		}
		rec.Discharged = ok && v.Endtime != ""
		outcome := OutcomeNotBooked
		if rec.Discharged {
			outcome = OutcomeOK
		}
		rec.logMsg(p.Msgid, p.Infno, outcome, "5201: endtime "+v.Endtime, e.now())
	default:
		rec.logMsg(p.Msgid, p.Infno, OutcomeUnknown, "sent again", e.now())
	}
	rec.resolvePending(p.Msgid)
	return nil
}

// resolveLostUpload settles the outcome of a 2301 whose answer was lost: 5204 lists the
// stay's standing lines. All of the upload's lines there: it was booked, the batch is
// uploaded (true). None: it was not. Some: they are withdrawn (2302). Either way the
// batch is then uploaded again as a new attempt, under new feedetl_sns.
func (e *Stays) resolveLostUpload(ctx context.Context, rec *StayRecord, b *StayBatch) (bool, error) {
	var out platform.FeeQueryOutput
	in := platform.FeeQueryInput{Data: platform.FeeQueryData{PsnNo: rec.PsnNo, MdtrtID: rec.MdtrtID}}
	if err := e.stayRead(ctx, rec, platform.InfnoFeeQuery, in, &out); err != nil {
		return false, fmt.Errorf("5204 for the lost upload of batch %s of stay %s: %w", b.Batch.BatchNo, rec.Admission.IptNo, err)
	}
	standing := map[string]platform.FeeRecord{}
	for _, f := range out.Feedetail {
		standing[f.FeedetlSn] = f
	}
	var found []platform.FeeRecord
	for _, it := range b.Batch.Items {
		if f, ok := standing[StayFeedetlSn(b, it.Line)]; ok {
			found = append(found, f)
		}
	}
	if len(found) == len(b.Batch.Items) {
		b.Uploaded, b.Refused = true, ""
		b.Results = b.Results[:0]
		for _, f := range found {
			b.Results = append(b.Results, FeeLine{FeedetlSn: f.FeedetlSn, FulamtOwnpayAmt: f.FulamtOwnpayAmt.Money(),
				OverlmtAmt: f.OverlmtAmt.Money(), PreselfpayAmt: f.PreselfpayAmt.Money(), InscpScpAmt: f.InscpScpAmt.Money()})
		}
		return true, nil
	}
	for _, f := range found {
		// Repeatable (a withdrawal of what is gone is "nothing to cancel"): a msgid of
		// its own per try, and a sign-in when the platform forgot the session.
		err := e.stayRead(ctx, rec, platform.InfnoInpatientCancelFee, InpatientCancelFeeInput(rec, f.FeedetlSn), nil)
		if err != nil && !nothingThere(err) {
			return false, fmt.Errorf("withdraw the lost upload of batch %s of stay %s: %w", b.Batch.BatchNo, rec.Admission.IptNo, err)
		}
	}
	b.Attempt++
	return false, nil
}

// adoptAdmission resolves a 2401 (msgid) refused because the ipt_no is already
// admitted (platform.ErrAlreadyRegistered, refused): a lost 2401 of the stay landed
// late. The visit is found with 5201 by the ipt_no and its mdtrt_id adopted; when
// 5201 does not list it (yet), the outcome is unknown and the stay is tried again
// later — never failed while the platform may hold its admission.
func (e *Stays) adoptAdmission(ctx context.Context, rec *StayRecord, msgid string, refused error) error {
	v, ok, err := e.findStayVisit(ctx, rec)
	if err != nil {
		return err // no definite answer to the query: try again later
	}
	if !ok {
		return fmt.Errorf("2401 %s of stay %s refused as already admitted (%s), but 5201 lists no visit %s: %w",
			msgid, rec.Admission.IptNo, refusalMessage(refused), rec.Admission.IptNo, platform.ErrOutcomeUnknown)
	}
	rec.MdtrtID, rec.Admitted = v.MdtrtID, true
	rec.ErrCode, rec.ErrMsg = "", ""
	rec.logMsg(msgid, platform.InfnoAdmission, OutcomeAdopted, "already admitted: visit "+v.MdtrtID+" found by 5201", e.now())
	return nil
}

// lastMsgid is the msgid of the stay's latest message of infno in its history.
func lastMsgid(rec *StayRecord, infno string) string {
	for i := len(rec.History) - 1; i >= 0; i-- {
		if rec.History[i].Infno == infno {
			return rec.History[i].Msgid
		}
	}
	return ""
}

// findStayVisit asks 5201 for the person's inpatient visits and returns the one with the
// stay's ipt_no (its endtime is set once discharged).
func (e *Stays) findStayVisit(ctx context.Context, rec *StayRecord) (platform.VisitRecord, bool, error) {
	var out platform.VisitQueryOutput
	in := platform.VisitQueryInput{Data: platform.VisitQueryData{PsnNo: rec.PsnNo, MedType: settle.MedTypeInpatient}}
	if err := e.stayRead(ctx, rec, platform.InfnoVisitQuery, in, &out); err != nil {
		if isFinal(err) {
			return platform.VisitRecord{}, false, nil
		}
		return platform.VisitRecord{}, false, fmt.Errorf("5201 for stay %s: %w", rec.Admission.IptNo, err)
	}
	v, ok := out.ByIptOtpNo(rec.Admission.IptNo)
	return v, ok && v.MdtrtID != "", nil
}

// adoptLateSettlement asks 5203 for the stay's settlements and adopts one that stands
// and the agent does not know: a 2304 of ours booked late. The error is set when the
// query got no definite answer.
func (e *Stays) adoptLateSettlement(ctx context.Context, rec *StayRecord, op StayOp) (bool, error) {
	var out platform.SettleQueryOutput
	in := platform.SettleQueryInput{Data: platform.SettleQueryData{PsnNo: rec.PsnNo, MdtrtID: rec.MdtrtID}}
	if err := e.stayRead(ctx, rec, platform.InfnoSettleQuery, in, &out); err != nil {
		if isFinal(err) {
			return false, nil
		}
		return false, fmt.Errorf("5203 for stay %s: %w", rec.Admission.IptNo, err)
	}
	for _, s := range out.Standing() {
		if s.SetlID == "" || rec.settlement(s.SetlID) != nil {
			continue
		}
		if rec.Reversing.has(s.MedinsSetlID) {
			// A 2601 of the 2304 that booked it went out unanswered and may still land
			// and undo it: adopted, the stay would say settled on nothing. It is
			// reversed now for certain (resolveStay), and the stay settles anew.
			rec.logMsg(s.MedinsSetlID, platform.InfnoInpatientSettle, OutcomeUnknown, "settlement "+s.SetlID+" stands, but a 2601 of it may still land: reversed again", e.now())
			rec.Pending = append(rec.Pending, Pending{Infno: platform.InfnoInpatientSettle, Msgid: s.MedinsSetlID, Unknown: true})
			return false, fmt.Errorf("settlement %s of stay %s was booked by %s, whose reversal is in flight: %w", s.SetlID, rec.Admission.IptNo, s.MedinsSetlID, platform.ErrOutcomeUnknown)
		}
		e.adoptStaySettlement(rec, op, s, s.MedinsSetlID)
		rec.logMsg(s.MedinsSetlID, platform.InfnoInpatientSettle, OutcomeAdopted, "settled earlier as "+s.SetlID, e.now())
		return true, nil
	}
	return false, nil
}

// withdrawStrays cancels (2302) the fee lines the platform holds for the stay that
// the agent does not: lines of an upload it gave up on (resolved as not booked) that
// the platform booked late. It asks 5204 only when such an upload exists, or when
// always is set.
func (e *Stays) withdrawStrays(ctx context.Context, rec *StayRecord, always bool) error {
	known := map[string]bool{}
	superseded := false
	for i := range rec.Batches {
		b := &rec.Batches[i]
		superseded = superseded || b.Attempt > 0 || b.Cancelled
		if b.Uploaded && !b.Cancelled {
			for _, it := range b.Batch.Items {
				known[StayFeedetlSn(b, it.Line)] = true
			}
		}
	}
	if !superseded && !always {
		return nil
	}
	var out platform.FeeQueryOutput
	in := platform.FeeQueryInput{Data: platform.FeeQueryData{PsnNo: rec.PsnNo, MdtrtID: rec.MdtrtID}}
	if err := e.stayRead(ctx, rec, platform.InfnoFeeQuery, in, &out); err != nil {
		return fmt.Errorf("5204 for stay %s: %w", rec.Admission.IptNo, err)
	}
	for _, f := range out.Feedetail {
		if f.SetlID != "" || known[f.FeedetlSn] {
			continue
		}
		err := e.stayWrite(ctx, rec, platform.InfnoInpatientCancelFee, "", InpatientCancelFeeInput(rec, f.FeedetlSn), nil)
		if err != nil && !nothingThere(err) {
			return err
		}
	}
	return nil
}
