package workflow

import (
	"context"
	"errors"
	"fmt"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// advance drives rec towards its goal from the step its stored state says it reached.
// Before a write message leaves, its msgid is saved (fsynced) with the record — the
// first write of a run saves the msgids of the chain's later writes with its own; a
// stored msgid whose outcome is not known is resolved before anything else happens to
// the bill, and the step is then repeated with a new msgid. So a crash, a timeout or
// a lost answer at any instant leads to exactly one booking at the platform.
//
// It returns nil when the goal is reached (rec.State says which), a final error
// (isFinal) when a person must look, and any other error when it should be tried
// again later.
func (e *Engine) advance(ctx context.Context, rec *Record) error {
	defer rec.dropPlans()
	// Latest first: a settlement is undone before the fee details and the visit it
	// stands on.
	for len(rec.Pending) > 0 {
		if err := e.resolve(ctx, rec, rec.Pending[len(rec.Pending)-1]); err != nil {
			return err
		}
	}
	if rec.Goal == GoalCancel {
		return e.advanceCancel(ctx, rec)
	}
	if rec.PsnNo == "" {
		if err := e.identify(ctx, rec); err != nil {
			return err
		}
	}
	if rec.Bill.MedType == settle.MedTypeChronic && !rec.QualChecked {
		if err := e.checkQualification(ctx, rec); err != nil {
			return err
		}
	}
	if rec.MdtrtID == "" {
		var out platform.RegisterOutput
		if err := e.writeStep(ctx, rec, platform.InfnoRegister, RegisterInput(rec), &out); err != nil {
			return err
		}
		rec.MdtrtID = out.Data.MdtrtID
	}
	if rec.Bill.MedType == settle.MedTypeChronic && !rec.VisitDone {
		if err := e.readStep(ctx, rec, platform.InfnoVisitInfo, VisitInput(rec), nil); err != nil {
			return err
		}
		rec.VisitDone = true
	}
	if !rec.FeesDone {
		var out platform.FeeUploadOutput
		if err := e.writeStep(ctx, rec, platform.InfnoFeeUpload, FeeInput(rec), &out); err != nil {
			return err
		}
		rec.FeesDone = true
		e.learnFees(rec, out.Result)
	}
	if rec.Goal == GoalPresettle {
		var out platform.SettleOutput
		if err := e.readStep(ctx, rec, platform.InfnoPreSettle, SettleInput(rec), &out); err != nil {
			return err
		}
		split := out.Setlinfo.Split()
		split.Insutype, split.InsuplcAdmdvs = rec.Insutype, rec.Insuplc
		rec.Presettle, rec.Estimate = &split, false
		rec.State = StatePresettled
		return nil
	}
	if rec.Settlement == nil {
		rec.State = StateSettling
		var out platform.SettleOutput
		if err := e.writeStep(ctx, rec, platform.InfnoSettle, SettleInput(rec), &out); err != nil {
			return err
		}
		e.adoptSettlement(rec, out.Setlinfo, rec.History[len(rec.History)-1].Msgid)
	}
	rec.State = StateSettled
	rec.ErrCode, rec.ErrMsg = "", ""
	return nil
}

// adoptSettlement records the platform's settlement of the bill, booked by msgid.
func (e *Engine) adoptSettlement(rec *Record, s platform.Setlinfo, msgid string) {
	split := s.Split()
	split.Insutype, split.InsuplcAdmdvs = rec.Insutype, rec.Insuplc
	rec.Settlement = &split
	rec.SettledAt = e.now()
	rec.SettleDay = settle.Day(rec.SettledAt)
	rec.SettleMsgid = msgid
	e.learnSettlement(rec)
}

// advanceCancel undoes what the platform holds of the bill: the settlement (2208), or
// the fee details and the registration of a visit never settled (2205, 2202). A bill
// nothing was ever sent for is simply cancelled.
func (e *Engine) advanceCancel(ctx context.Context, rec *Record) error {
	switch {
	case rec.Settlement != nil && !rec.Cancelled:
		if err := e.writeStep(ctx, rec, platform.InfnoCancelSettle, CancelSettleInput(rec), nil); err != nil {
			return err
		}
		rec.Cancelled = true
		rec.CancelDay = settle.Day(e.now())
	case rec.Settlement == nil && rec.MdtrtID != "" && !rec.RegCancelled:
		if rec.FeesDone {
			if err := e.writeStep(ctx, rec, platform.InfnoCancelFee, CancelFeeInput(rec), nil); err != nil {
				return err
			}
			rec.FeesDone = false
		}
		if err := e.writeStep(ctx, rec, platform.InfnoCancelRegister, CancelRegisterInput(rec), nil); err != nil {
			return err
		}
		rec.RegCancelled = true
	}
	rec.State = StateCancelled
	return nil
}

// writeStep sends a write message exactly once: its msgid is stored before it leaves.
// The first write of a run stores the msgids of the chain's later writes with its own
// (one commit for the chain, not one per step); a stored msgid may have been sent, so
// after a crash every one of them is resolved before the chain is repeated.
func (e *Engine) writeStep(ctx context.Context, rec *Record, infno string, in, out any) error {
	i := rec.plannedFor(infno)
	if i < 0 {
		plan := chainFrom(rec, infno)
		for _, inf := range plan {
			msgid, err := e.nextMsgid()
			if err != nil {
				rec.dropPlans()
				return err
			}
			p := Pending{Infno: inf, Msgid: msgid, planned: true}
			if inf == platform.InfnoFeeUpload {
				p.Batch = ChargeBatch(rec)
			}
			rec.Pending = append(rec.Pending, p)
		}
		if err := e.save(ctx, rec, nil); err != nil {
			rec.dropPlans() // nothing was sent
			return err
		}
		i = rec.plannedFor(infno)
	}
	rec.Pending[i].planned = false
	msgid := rec.Pending[i].Msgid
	rec.logMsg(msgid, infno, OutcomeSent, "", e.now())
	err := e.call(ctx, infno, e.meta(msgid, rec), in, out)
	e.recordOutcome(rec, msgid, infno, err)
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
		return fmt.Errorf("%s for bill %s: %w", infno, rec.Bill.BillNo, err)
	}
	return nil
}

// chainFrom lists the write messages advance sends from infno on in this run: the
// settlement chain 2201 → 2204 → 2207 as far as the goal and the stored state need it;
// any other write alone.
func chainFrom(rec *Record, infno string) []string {
	chain := []string{}
	switch infno {
	case platform.InfnoRegister:
		chain = append(chain, platform.InfnoRegister)
		fallthrough
	case platform.InfnoFeeUpload:
		if !rec.FeesDone {
			chain = append(chain, platform.InfnoFeeUpload)
		}
		fallthrough
	case platform.InfnoSettle:
		if rec.Goal == GoalSettle && rec.Settlement == nil {
			chain = append(chain, platform.InfnoSettle)
		}
	default:
		chain = append(chain, infno)
	}
	if len(chain) == 0 || chain[0] != infno {
		chain = append([]string{infno}, chain...)
	}
	return chain
}

// readStep sends a message that books nothing; it may be repeated freely.
func (e *Engine) readStep(ctx context.Context, rec *Record, infno string, in, out any) error {
	msgid, err := e.nextMsgid()
	if err != nil {
		return err
	}
	err = e.call(ctx, infno, e.meta(msgid, rec), in, out)
	e.recordOutcome(rec, msgid, infno, err)
	if err != nil {
		return fmt.Errorf("%s for bill %s: %w", infno, rec.Bill.BillNo, err)
	}
	return nil
}

func (e *Engine) recordOutcome(rec *Record, msgid, infno string, err error) {
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

// resolve settles the outcome of one pending message and forgets it once known.
func (e *Engine) resolve(ctx context.Context, rec *Record, p Pending) error {
	return e.reverse(ctx, rec, p)
}

// reverse sends 2601 for one pending message, and forgets it once the platform has
// answered definitely.
func (e *Engine) reverse(ctx context.Context, rec *Record, p Pending) error {
	msgid, err := e.nextMsgid()
	if err != nil {
		return err
	}
	err = e.call(ctx, platform.InfnoReversal, e.meta(msgid, rec), ReversalInput(rec, p), nil)
	e.recordOutcome(rec, msgid, platform.InfnoReversal, err)
	if err != nil {
		return fmt.Errorf("reverse %s %s of bill %s: %w", p.Infno, p.Msgid, rec.Bill.BillNo, err)
	}
	rec.logMsg(p.Msgid, p.Infno, OutcomeReversed, "", e.now())
	rec.resolvePending(p.Msgid)
	return nil
}

// identify finds the person (1101) and the insurance record that pays.
func (e *Engine) identify(ctx context.Context, rec *Record) error {
	p, err := e.personOnline(ctx, rec.Bill.Patient, rec)
	if err != nil {
		return err
	}
	e.setPerson(rec, p, SourcePlatform)
	return nil
}

func (e *Engine) setPerson(rec *Record, p *settle.Person, source string) {
	rec.Person = p
	rec.PersonSource = source
	rec.PsnNo = p.PsnNo
	if in, ok := p.Primary(); ok {
		rec.Insutype, rec.Insuplc = in.Insutype, in.InsuplcAdmdvs
	}
}

// personOnline asks the platform (1101) and caches the answer for offline use.
func (e *Engine) personOnline(ctx context.Context, pt settle.Patient, rec *Record) (*settle.Person, error) {
	msgid, err := e.nextMsgid()
	if err != nil {
		return nil, err
	}
	var out platform.PersonInfoOutput
	err = e.call(ctx, platform.InfnoPersonInfo, e.meta(msgid, rec), PersonInput(pt, e.now()), &out)
	if rec != nil {
		e.recordOutcome(rec, msgid, platform.InfnoPersonInfo, err)
	}
	if err != nil {
		return nil, fmt.Errorf("1101 person info: %w", err)
	}
	p := out.Person()
	if err := e.cachePerson(ctx, rec, pt.MdtrtCertType, pt.MdtrtCertNo, p); err != nil {
		e.log.Warn("cache person", "err", err)
	}
	return &p, nil
}

// checkQualification asks 5301 whether the patient is filed for one of the bill's
// diagnoses (病种资格参保地认定) on the bill's day.
func (e *Engine) checkQualification(ctx context.Context, rec *Record) error {
	var out platform.ChronicQueryOutput
	in := platform.ChronicQueryInput{Data: platform.ChronicQueryData{PsnNo: rec.PsnNo}}
	if err := e.readStep(ctx, rec, platform.InfnoChronicQuery, in, &out); err != nil {
		return err
	}
	day := settle.Day(rec.Bill.CreatedAt)
	for _, d := range rec.Bill.Diagnoses {
		for _, f := range out.Feedetail {
			if f.OpspDiseCode == d.Code && (f.Begndate == "" || f.Begndate[:min(10, len(f.Begndate))] <= day) &&
				(f.Enddate == "" || f.Enddate[:min(10, len(f.Enddate))] >= day) {
				rec.QualChecked = true
				return nil
			}
		}
	}
	codes := make([]string, len(rec.Bill.Diagnoses))
	for i, d := range rec.Bill.Diagnoses {
		codes[i] = d.Code
	}
	return fmt.Errorf("%w: the patient is not filed (5301) for chronic/special disease %v; settle as general outpatient (med_type 11) or have the insured place file the disease", ErrNotQualified, codes)
}

// refusalMessage is the platform's err_msg, verbatim, for the cashier.
func refusalMessage(err error) string {
	var be *platform.BusinessError
	if errors.As(err, &be) {
		return be.ErrMsg
	}
	return err.Error()
}

// isFinal reports whether err needs a person (a refusal) rather than a retry.
func isFinal(err error) bool {
	return errors.Is(err, platform.ErrBusiness) || errors.Is(err, ErrNotQualified)
}
