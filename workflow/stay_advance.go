package workflow

import (
	"context"
	"errors"
	"fmt"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// advanceStay drives the stay's line: first every stored msgid whose outcome is not
// known is resolved (latest first), then the waiting operations are sent in order.
// An operation refused for good (a business error, or the agent's own refusal) is
// recorded in Refusals and leaves the line; the next one goes on — except a refused
// admission, which fails the stay and every operation behind it. It returns nil when
// the line is empty, and the first error to retry later otherwise (the line keeps the
// operation that met it).
func (e *Stays) advanceStay(ctx context.Context, rec *StayRecord) error {
	for len(rec.Pending) > 0 {
		if err := e.resolveStay(ctx, rec, rec.Pending[len(rec.Pending)-1]); err != nil {
			return err
		}
	}
	for len(rec.Ops) > 0 {
		op := rec.Ops[0]
		err := e.stayStep(ctx, rec, op)
		if err != nil && !isFinal(err) {
			return err
		}
		rec.Ops = rec.Ops[1:]
		if err != nil {
			e.refuseOp(rec, op, err)
		}
	}
	rec.Ops = nil
	return nil
}

// refuseOp records the final refusal of op; a refused admission fails the stay.
func (e *Stays) refuseOp(rec *StayRecord, op StayOp, err error) {
	ref := StayRefusal{Op: op.ID, Kind: op.Kind, Batch: op.Batch, Code: "platform_refused", Message: refusalMessage(err), At: e.now()}
	if errors.Is(err, errStayRefused) {
		// The agent's own refusal: the platform was not asked.
		ref = StayRefusal{Op: op.ID, Kind: op.Kind, Batch: op.Batch, Code: "stay_refused", Message: refusalMessage(err), At: e.now()}
	}
	code := ref.Code
	rec.Refusals = append(rec.Refusals, ref)
	rec.ErrCode, rec.ErrMsg = ref.Code, ref.Message
	switch op.Kind {
	case OpFees:
		if b := rec.batch(op.Batch); b != nil {
			b.Refused = ref.Message
		}
	case OpAdmit:
		rec.AdmFailed = true
		for _, later := range rec.Ops {
			rec.Refusals = append(rec.Refusals, StayRefusal{Op: later.ID, Kind: later.Kind, Batch: later.Batch, Code: code,
				Message: "the admission was refused: " + ref.Message, At: ref.At})
		}
		rec.Ops = nil
	}
	e.obs.BillEvent("stay_refused", string(op.Kind))
	e.log.Warn("stay operation refused; needs a person", "ipt_no", rec.Admission.IptNo, "op", string(op.Kind), "err_msg", ref.Message)
}

// errStayRefused marks the agent's own final refusal of a stay operation.
var errStayRefused = &stayRefusal{}

type stayRefusal struct{ msg string }

func (e *stayRefusal) Error() string { return e.msg }
func (e *stayRefusal) Is(target error) bool {
	return target == errStayRefused || target == platform.ErrBusiness
}

func refuseStay(format string, args ...any) error {
	return &stayRefusal{msg: fmt.Sprintf(format, args...)}
}

// stayStep sends one operation.
func (e *Stays) stayStep(ctx context.Context, rec *StayRecord, op StayOp) error {
	switch op.Kind {
	case OpAdmit:
		return e.stayAdmit(ctx, rec)
	case OpFees:
		return e.stayFees(ctx, rec, op)
	case OpCancelFees:
		return e.stayCancelFees(ctx, rec, op)
	case OpDischarge:
		if rec.Discharged {
			return nil
		}
		err := e.stayWrite(ctx, rec, platform.InfnoDischarge, "", DischargeInput(rec), nil)
		if err != nil && !errors.Is(err, platform.ErrAlreadyDischarged) {
			return err
		}
		// Discharged (or discharged already: a 2402 of ours booked late).
		rec.Discharged = true
		return nil
	case OpCancelDischarge:
		if !rec.Discharged {
			return nil
		}
		err := e.stayWrite(ctx, rec, platform.InfnoCancelDischarge, "", StayRef(rec), nil)
		if err != nil && !nothingThere(err) {
			return err
		}
		rec.Discharged = false
		return nil
	case OpSettle:
		return e.staySettle(ctx, rec, op)
	case OpCancelSettlement:
		return e.stayCancelSettlement(ctx, rec, op)
	case OpCancel:
		return e.stayCancel(ctx, rec)
	case OpChange:
		if op.Change == nil || !rec.Admitted {
			return nil
		}
		// A lost 2403 is simply sent again: it sets the same fields.
		if err := e.stayWrite(ctx, rec, platform.InfnoAdmissionChange, "", AdmissionChangeInput(rec, op.Change), nil); err != nil {
			return err
		}
		c := op.Change
		if c.Bed != "" {
			rec.Admission.Bed = c.Bed
		}
		if c.Dept.Code != "" {
			rec.Admission.Dept = c.Dept
		}
		if c.Doctor.Code != "" || c.Doctor.Name != "" {
			rec.Admission.Doctor = c.Doctor
		}
		return nil
	}
	return refuseStay("unknown stay operation %q", op.Kind)
}

// nothingThere reports whether err is the platform saying that what a cancellation
// (2302, 2305, 2404, 2405) names is not (or no longer) there: platform.ErrNothingToCancel,
// whose wordings are configuration (platform.Phrases; 2405's "not discharged" among
// them). Any other refusal — one that merely contains "不存在", say of the
// person or of the visit — is not: what the cancellation names may stand.
func nothingThere(err error) bool {
	return errors.Is(err, platform.ErrNothingToCancel)
}

func (e *Stays) stayAdmit(ctx context.Context, rec *StayRecord) error {
	if rec.Admitted {
		return nil
	}
	if rec.PsnNo == "" {
		var out platform.PersonInfoOutput
		pt := rec.Admission.Patient
		if err := e.stayRead(ctx, rec, platform.InfnoPersonInfo, PersonInput(pt, e.now()), &out); err != nil {
			return fmt.Errorf("1101 for stay %s: %w", rec.Admission.IptNo, err)
		}
		p := out.Person()
		rec.Person, rec.PersonSource, rec.PsnNo = &p, SourcePlatform, p.PsnNo
		if in, ok := p.Primary(); ok {
			rec.Insutype, rec.Insuplc = in.Insutype, in.InsuplcAdmdvs
		}
		if err := e.link.cachePerson(ctx, nil, pt.MdtrtCertType, pt.MdtrtCertNo, p); err != nil {
			e.log.Warn("cache person", "err", err)
		}
	}
	var out platform.AdmissionOutput
	if err := e.stayWrite(ctx, rec, platform.InfnoAdmission, "", AdmissionInput(rec), &out); err != nil {
		if errors.Is(err, platform.ErrAlreadyRegistered) {
			// An admission of ours booked late (after its reversal was answered "does
			// not exist"): find it by the ipt_no and adopt it (the bill flow's
			// adoptVisit).
			return e.adoptAdmission(ctx, rec, lastMsgid(rec, platform.InfnoAdmission), err)
		}
		return err
	}
	rec.MdtrtID, rec.Admitted = out.Result.MdtrtID, true
	return nil
}

func (e *Stays) stayFees(ctx context.Context, rec *StayRecord, op StayOp) error {
	b := rec.batch(op.Batch)
	if b == nil || b.Uploaded || b.Cancelled {
		return nil
	}
	if !rec.Admitted {
		return refuseStay("stay %s is not admitted at the platform", rec.Admission.IptNo)
	}
	var out platform.InpatientFeeOutput
	tag := op.Batch + "#" + fmt.Sprint(b.Attempt)
	if err := e.stayWrite(ctx, rec, platform.InfnoInpatientFeeUpload, tag, InpatientFeeInput(rec, b), &out); err != nil {
		return err
	}
	b = rec.batch(op.Batch)
	b.Uploaded, b.Refused = true, ""
	b.Results = b.Results[:0]
	for _, r := range out.Result {
		b.Results = append(b.Results, FeeLine{FeedetlSn: r.FeedetlSn, FulamtOwnpayAmt: r.FulamtOwnpayAmt.Money(),
			OverlmtAmt: r.OverlmtAmt.Money(), PreselfpayAmt: r.PreselfpayAmt.Money(), InscpScpAmt: r.InscpScpAmt.Money()})
	}
	return nil
}

// stayCancelFees withdraws one batch's lines (2302 each), resuming after the lines a
// cancellation cut short already withdrew.
func (e *Stays) stayCancelFees(ctx context.Context, rec *StayRecord, op StayOp) error {
	b := rec.batch(op.Batch)
	if b == nil || b.Cancelled {
		return nil
	}
	if b.SettledBy != "" {
		return refuseStay("fee batch %s is settled (setl_id %s): cancel that settlement first", op.Batch, b.SettledBy)
	}
	if b.Uploaded {
		for b.Withdrawn < len(b.Batch.Items) {
			sn := StayFeedetlSn(b, b.Batch.Items[b.Withdrawn].Line)
			err := e.stayWrite(ctx, rec, platform.InfnoInpatientCancelFee, op.Batch, InpatientCancelFeeInput(rec, sn), nil)
			if err != nil && !nothingThere(err) {
				return err
			}
			b = rec.batch(op.Batch)
			b.Withdrawn++
		}
	}
	b.Cancelled, b.Uploaded = true, false
	return nil
}

// staySettle pre-settles the unsettled fees (2303) and settles them (2304) with the
// pre-settlement's amounts.
func (e *Stays) staySettle(ctx context.Context, rec *StayRecord, op StayOp) error {
	if !op.Mid && rec.final() != nil {
		return nil
	}
	if !rec.Admitted {
		return refuseStay("stay %s is not admitted at the platform", rec.Admission.IptNo)
	}
	for _, b := range rec.Batches {
		if b.Refused != "" && !b.Cancelled {
			return refuseStay("fee batch %s was refused by the platform (%s): cancel it or send corrected fees under a new batch number before settling", b.Batch.BatchNo, b.Refused)
		}
	}
	if !op.Mid && !rec.Discharged {
		return refuseStay("stay %s is not discharged: discharge it first, or settle mid-stay (mid_setl)", rec.Admission.IptNo)
	}
	if op.Mid && rec.Discharged {
		return refuseStay("stay %s is discharged: settle it for good (mid_setl false)", rec.Admission.IptNo)
	}
	batches, total := rec.unsettled()
	if len(batches) == 0 {
		return refuseStay("stay %s has no unsettled fees", rec.Admission.IptNo)
	}
	if err := e.withdrawStrays(ctx, rec, false); err != nil {
		return err
	}
	pre := InpatientPreSettleInput(rec, op, total)
	var out platform.InpatientSettleOutput
	var err error
	for try := 0; try < 2; try++ {
		err = e.stayPresettle(ctx, rec, pre)
		if err == nil {
			err = e.stayWrite(ctx, rec, platform.InfnoInpatientSettle, "", InpatientSettleInput(pre, platformSetlinfo(rec.Presettle)), &out)
		}
		if try == 0 && errors.Is(err, platform.ErrLinesDiffer) {
			// The platform holds other lines than the agent: an upload given up on
			// landed late. Withdraw what the agent does not know and ask again.
			if werr := e.withdrawStrays(ctx, rec, true); werr != nil {
				return werr
			}
			continue
		}
		break
	}
	if err != nil {
		if errors.Is(err, platform.ErrAlreadySettled) || errors.Is(err, ErrBookedUnread) || platform.Classify(err) == platform.OutcomeBusiness {
			// Booked late (a 2304 of ours given up on), or booked now in an answer the
			// agent cannot read in full: that settlement is the one being made. A
			// late 2304 also shows as a 2303 refused for the lines it settled ("no
			// unsettled fees", the total differing): any refusal asks 5203 first.
			adopted, qerr := e.adoptLateSettlement(ctx, rec, op)
			switch {
			case qerr != nil:
				return qerr // no definite answer to the query: try again later
			case adopted:
				return nil // a 2304 of ours booked late: that settlement is the one being made
			case errors.Is(err, platform.ErrAlreadySettled) || errors.Is(err, ErrBookedUnread):
				// Said settled, and 5203 lists no settlement the stay does not know:
				// the one seen went away meanwhile (a late 2601 undid it). Not a
				// refusal: the settlement is asked again later.
				return fmt.Errorf("stay %s said settled, but 5203 lists no settlement it does not know: %w", rec.Admission.IptNo, platform.ErrOutcomeUnknown)
			}
		}
		return err
	}
	e.adoptStaySettlement(rec, op, out.Setlinfo, rec.History[len(rec.History)-1].Msgid)
	return nil
}

// stayPresettle sends 2303 and keeps its answer in rec.Presettle.
func (e *Stays) stayPresettle(ctx context.Context, rec *StayRecord, pre platform.InpatientPreSettleInput) error {
	var out platform.InpatientSettleOutput
	if err := e.stayRead(ctx, rec, platform.InfnoInpatientPreSettle, pre, &out); err != nil {
		return fmt.Errorf("2303 for stay %s: %w", rec.Admission.IptNo, err)
	}
	split := out.Setlinfo.Split()
	split.Insutype, split.InsuplcAdmdvs = rec.Insutype, rec.Insuplc
	rec.Presettle = &split
	return nil
}

// platformSetlinfo is the wire form of a kept split (the four scope amounts go back
// to the platform with 2304).
func platformSetlinfo(s *settle.Split) platform.Setlinfo {
	if s == nil {
		return platform.Setlinfo{}
	}
	return platform.SetlinfoOf(*s)
}

// adoptStaySettlement records the platform's settlement booked by msgid: the unsettled
// batches are settled by it.
func (e *Stays) adoptStaySettlement(rec *StayRecord, op StayOp, s platform.Setlinfo, msgid string) {
	split := s.Split()
	split.Insutype, split.InsuplcAdmdvs = rec.Insutype, rec.Insuplc
	batches, _ := rec.unsettled()
	st := StaySettlement{Split: split, Mid: op.Mid, Msgid: msgid, SettledAt: e.bills.bookedAt(s), Offline: op.Offline}
	st.SettleDay = settle.Day(st.SettledAt)
	for _, b := range batches {
		b.SettledBy = split.SetlID
		st.Batches = append(st.Batches, b.Batch.BatchNo)
	}
	rec.Settlements = append(rec.Settlements, st)
	e.obs.BillEvent("stay_settled", "")
}

func (e *Stays) stayCancelSettlement(ctx context.Context, rec *StayRecord, op StayOp) error {
	st := rec.settlement(op.SetlID)
	if st == nil || st.Cancelled {
		return nil
	}
	var out platform.InpatientCancelSettleOutput
	err := e.stayWrite(ctx, rec, platform.InfnoInpatientCancelSettle, "", InpatientCancelSettleInput(rec, op.SetlID), &out)
	if err != nil && !nothingThere(err) {
		// "Does not exist or cancelled": a 2305 of ours booked late did it already.
		return err
	}
	st = rec.settlement(op.SetlID)
	st.Cancelled, st.CancelDay = true, settle.Day(e.bills.bookedAt(out.Setlinfo))
	for i := range rec.Batches {
		if rec.Batches[i].SettledBy == op.SetlID {
			rec.Batches[i].SettledBy = ""
		}
	}
	return nil
}

// stayCancel cancels the admission: the discharge first (2405), every unsettled fee
// line (2302 "0000"), then 2404. A stay never admitted at the platform is simply
// cancelled.
func (e *Stays) stayCancel(ctx context.Context, rec *StayRecord) error {
	if rec.Cancelled {
		return nil
	}
	if !rec.Admitted {
		rec.Cancelled = true
		return nil
	}
	if len(rec.live()) > 0 {
		return refuseStay("stay %s has a settlement that stands: cancel it first", rec.Admission.IptNo)
	}
	if rec.Discharged {
		err := e.stayWrite(ctx, rec, platform.InfnoCancelDischarge, "", StayRef(rec), nil)
		if err != nil && !nothingThere(err) {
			return err
		}
		rec.Discharged = false
	}
	if bs, _ := rec.unsettled(); len(bs) > 0 {
		err := e.stayWrite(ctx, rec, platform.InfnoInpatientCancelFee, "", InpatientCancelFeeInput(rec, platform.FeedetlSnAll), nil)
		if err != nil && !nothingThere(err) {
			return err
		}
		for _, b := range bs {
			b.Cancelled, b.Uploaded = true, false
		}
	}
	err := e.stayWrite(ctx, rec, platform.InfnoCancelAdmission, "", StayRef(rec), nil)
	if platform.Classify(err) == platform.OutcomeBusiness && !nothingThere(err) {
		// A lost 2301 landed late, after the 2302: its lines stand and the platform
		// refuses the 2404 for them (存在未撤销的费用明细). Every unsettled line goes
		// (2302 "0000"), then the 2404 again.
		if cerr := e.stayWrite(ctx, rec, platform.InfnoInpatientCancelFee, "", InpatientCancelFeeInput(rec, platform.FeedetlSnAll), nil); cerr != nil && !nothingThere(cerr) {
			return cerr
		}
		err = e.stayWrite(ctx, rec, platform.InfnoCancelAdmission, "", StayRef(rec), nil)
	}
	if err != nil && !nothingThere(err) {
		return err
	}
	rec.Cancelled = true
	return nil
}

// stayWrite sends one write of the stay exactly once: its msgid is stored (fsynced)
// with the stay before it leaves; a send without a definite answer leaves it pending,
// to be resolved before anything else happens to the stay. A refusal because the
// platform forgot the session (nothing was processed) is followed by one sign-in and
// the write again, with a new msgid.
func (e *Stays) stayWrite(ctx context.Context, rec *StayRecord, infno, batch string, in, out any) error {
	stale := e.link.pf.SignNo()
	err := e.stayWriteOnce(ctx, rec, infno, batch, in, out)
	if errors.Is(err, platform.ErrSessionExpired) && e.link.renewSession(ctx, stale) {
		err = e.stayWriteOnce(ctx, rec, infno, batch, in, out)
	}
	return err
}

func (e *Stays) stayWriteOnce(ctx context.Context, rec *StayRecord, infno, batch string, in, out any) error {
	msgid, err := e.link.nextMsgid()
	if err != nil {
		return err
	}
	rec.Pending = append(rec.Pending, Pending{Infno: infno, Msgid: msgid, Batch: batch})
	if err := e.saveStay(ctx, rec, nil); err != nil {
		rec.resolvePending(msgid) // nothing was sent
		return err
	}
	rec.logMsg(msgid, infno, OutcomeSent, "", e.now())
	resp, err := e.stayCall(ctx, rec, infno, msgid, in, out)
	if e.keptBooked(rec, &rec.Surprises, infno, msgid, resp, err) {
		if infno == platform.InfnoInpatientCancelSettle {
			return nil
		}
		return fmt.Errorf("%s for stay %s: %w: %w", infno, rec.Admission.IptNo, ErrBookedUnread, err)
	}
	switch platform.Classify(err) {
	case platform.OutcomeOK, platform.OutcomeBusiness, platform.OutcomeNotSent:
		rec.resolvePending(msgid)
	default:
		for j := range rec.Pending {
			if rec.Pending[j].Msgid == msgid {
				rec.Pending[j].Unknown = true
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s for stay %s: %w", infno, rec.Admission.IptNo, err)
	}
	return nil
}

// stayRead sends a message of the stay that books nothing, or one whose repetition
// is harmless and whose msgid need not be stored (the resolution's own 2601 and
// 2302): a msgid of its own per try, and once more after a sign-in when the platform
// forgot the session (as the bill flow's readStep).
func (e *Stays) stayRead(ctx context.Context, rec *StayRecord, infno string, in, out any) error {
	for try := 0; ; try++ {
		msgid, err := e.link.nextMsgid()
		if err != nil {
			return err
		}
		stale := e.link.pf.SignNo()
		_, err = e.stayCall(ctx, rec, infno, msgid, in, out)
		if errors.Is(err, platform.ErrSessionExpired) && try == 0 && e.link.renewSession(ctx, stale) {
			continue
		}
		return err
	}
}

// stayCall sends one message of the stay and records its outcome in the stay's
// history, with what the answer said for people: a warning (warn_msg) and what
// surprised the client in a successful answer (kept, shown, never reversed).
func (e *Stays) stayCall(ctx context.Context, rec *StayRecord, infno, msgid string, in, out any) (*platform.Response, error) {
	resp, err := e.link.call(ctx, infno, e.stayMeta(msgid, rec), in, out)
	e.stayOutcome(rec, msgid, infno, err)
	if resp != nil {
		if resp.WarnMsg != "" {
			rec.addNote(&rec.Warnings, infno+": "+resp.WarnMsg)
		}
		for _, sp := range resp.Surprises {
			rec.addNote(&rec.Surprises, infno+" "+msgid+": "+sp.String())
		}
	}
	return resp, err
}

func (e *Stays) stayOutcome(rec *StayRecord, msgid, infno string, err error) {
	now := e.now()
	switch platform.Classify(err) {
	case platform.OutcomeOK:
		rec.logMsg(msgid, infno, OutcomeOK, "", now)
	case platform.OutcomeBusiness:
		rec.logMsg(msgid, infno, OutcomeRefused, refusalMessage(err), now)
	case platform.OutcomeNotSent:
		rec.logMsg(msgid, infno, OutcomeNotSent, err.Error(), now)
	default:
		rec.logMsg(msgid, infno, OutcomeUnknown, err.Error(), now)
	}
}

// stayMeta is the envelope part of a stay's message: its window and insured place.
func (e *Stays) stayMeta(msgid string, rec *StayRecord) platform.Meta {
	m := platform.Meta{Msgid: msgid, OpterType: platform.OpterStaff, Opter: rec.Admission.Window,
		OpterName: "window " + rec.Admission.Window, InsuplcAdmdvs: rec.Insuplc}
	if m.InsuplcAdmdvs == "" {
		m.InsuplcAdmdvs = e.o.Admdvs
	}
	return m
}
