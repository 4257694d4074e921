package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

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
func (e *Bills) advance(ctx context.Context, rec *Record) error {
	for try := 0; ; try++ {
		err := e.advanceOnce(ctx, rec)
		if !errors.Is(err, errRebook) || try == 2 {
			return err
		}
	}
}

// errRebook: a settlement found standing cannot be kept (a reversal of the message
// that booked it is in flight); it is pending again and advance starts over.
var errRebook = fmt.Errorf("the settlement is undone and made again: %w", platform.ErrOutcomeUnknown)

func (e *Bills) advanceOnce(ctx context.Context, rec *Record) error {
	defer rec.dropPlans()
	// In resolveRank order: a settlement is undone before the fee details and the
	// visit it stands on.
	for len(rec.Pending) > 0 {
		if err := e.resolve(ctx, rec, nextPending(rec.Pending)); err != nil {
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
		msgid, err := e.writeStep(ctx, rec, platform.InfnoRegister, RegisterInput(rec), &out)
		switch {
		case errors.Is(err, platform.ErrAlreadyRegistered):
			// A lost 2201 of this bill landed late, after 5201 had not found it: the
			// visit number stands. That visit is the one being made.
			if err := e.adoptVisit(ctx, rec, msgid); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			rec.MdtrtID = out.Data.MdtrtID
		}
	}
	if rec.Bill.MedType == settle.MedTypeChronic && !rec.VisitDone && rec.Settlement == nil {
		err := e.readStep(ctx, rec, platform.InfnoVisitInfo, VisitInput(rec), nil)
		if err := e.orSettled(ctx, rec, err); err != nil {
			return err
		}
		rec.VisitDone = true
	}
	if !rec.FeesDone && rec.Settlement == nil {
		var out platform.FeeUploadOutput
		_, err := e.writeStep(ctx, rec, platform.InfnoFeeUpload, FeeInput(rec), &out)
		if err := e.orSettled(ctx, rec, err); err != nil {
			return err
		}
		rec.FeesDone = true
		e.link.learnFees(rec, out.Result)
	}
	if rec.Goal == GoalPresettle && rec.Settlement == nil {
		if err := e.preSettle(ctx, rec); err != nil || rec.Settlement != nil {
			return e.reachedOr(ctx, rec, err)
		}
		rec.State = StatePresettled
		return nil
	}
	if rec.Settlement == nil {
		// The 2207 carries the amounts of a platform pre-settlement of the same batch
		// (an offline estimate does not do).
		if rec.Presettle == nil || rec.Estimate || rec.PresettleBatch != rec.FeeBatch {
			if err := e.preSettle(ctx, rec); err != nil || rec.Settlement != nil {
				return e.reachedOr(ctx, rec, err)
			}
		}
		rec.State = StateSettling
		var out platform.SettleOutput
		msgid, err := e.writeStep(ctx, rec, platform.InfnoSettle, ConfirmInput(rec), &out)
		switch {
		case errors.Is(err, platform.ErrAlreadySettled), errors.Is(err, ErrBookedUnread):
			// Booked late, after the agent gave up on an earlier 2207 of this bill, or
			// booked now in an answer the agent cannot read in full: that settlement
			// is the one being made.
			if err := e.adoptBooked(ctx, rec); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			e.adoptSettlement(rec, out.Setlinfo, msgid)
		}
	}
	return e.reached(ctx, rec)
}

// preSettle sends 2206 and keeps its answer as the bill's pre-settlement of the
// current batch; refused because a late 2207 settled the visit, it adopts that
// settlement instead (rec.Settlement is set).
func (e *Bills) preSettle(ctx context.Context, rec *Record) error {
	var out platform.SettleOutput
	err := e.readStep(ctx, rec, platform.InfnoPreSettle, SettleInput(rec), &out)
	if err := e.orSettled(ctx, rec, err); err != nil || rec.Settlement != nil {
		return err
	}
	split := out.Setlinfo.Split()
	split.Insutype, split.InsuplcAdmdvs = rec.Insutype, rec.Insuplc
	rec.Presettle, rec.Estimate, rec.PresettleBatch = &split, false, rec.FeeBatch
	return nil
}

// reachedOr is err, or, when there is none, the bill settled (reached).
func (e *Bills) reachedOr(ctx context.Context, rec *Record, err error) error {
	if err != nil {
		return err
	}
	return e.reached(ctx, rec)
}

// reached marks the bill settled: the platform holds its settlement.
func (e *Bills) reached(ctx context.Context, rec *Record) error {
	rec.State = StateSettled
	rec.ErrCode, rec.ErrMsg = "", ""
	e.closeStrayVisits(ctx, rec)
	return nil
}

// orSettled passes err on, except a refusal because the bill's visit is already
// settled (该就诊已结算, 已结算): a 2207 of this bill that the agent gave up on landed
// late. Whatever step the platform refused (2204, 2205, 2206, 2202), that settlement
// is the one being made: it is found with 5203 and adopted (rec.Settlement is set).
func (e *Bills) orSettled(ctx context.Context, rec *Record, err error) error {
	if !errors.Is(err, platform.ErrAlreadySettled) || rec.MdtrtID == "" || rec.Settlement != nil {
		return err
	}
	return e.adoptBooked(ctx, rec)
}

// adoptSettlement records the platform's settlement of the bill, booked by msgid:
// the platform's numbers as they are, and its day from the platform's setl_time (the
// agent's clock only when the answer has none, which the client notes as a surprise).
func (e *Bills) adoptSettlement(rec *Record, s platform.Setlinfo, msgid string) {
	split := s.Split()
	split.Insutype, split.InsuplcAdmdvs = rec.Insutype, rec.Insuplc
	rec.Settlement = &split
	rec.SettledAt = e.bookedAt(s)
	rec.SettleDay = settle.Day(rec.SettledAt)
	rec.SettleMsgid = msgid
	e.link.learnSettlement(rec)
}

// bookedAt is when the platform booked s: its setl_time, which decides the day a
// settlement or a cancellation counts on (bills and stays alike); the agent's clock
// only when the answer has none (the client notes that as a surprise).
func (e *Bills) bookedAt(s platform.Setlinfo) time.Time {
	if t, ok := s.SettledAt(); ok {
		return t
	}
	return e.now()
}

// advanceCancel undoes what the platform holds of the bill: the settlement (2208), or
// the fee details and the registration of a visit never settled (2205, 2202). A bill
// nothing was ever sent for is simply cancelled. "Nothing to cancel" is a success:
// what the step would undo is not there.
func (e *Bills) advanceCancel(ctx context.Context, rec *Record) error {
	switch {
	case rec.Settlement != nil && !rec.Cancelled:
		var out platform.CancelSettleOutput
		_, err := e.writeStep(ctx, rec, platform.InfnoCancelSettle, CancelSettleInput(rec), &out)
		if err != nil && !errors.Is(err, platform.ErrNothingToCancel) {
			return err
		}
		if err != nil && rec.rebook(platform.InfnoCancelSettle) {
			// Nothing to cancel: a 2208 of ours booked late did it, but a 2601 of that
			// 2208 may still land and bring the settlement back. It is reversed for
			// certain, and the settlement cancelled anew.
			return fmt.Errorf("settlement %s found cancelled by a 2208 whose reversal is in flight: %w", rec.Settlement.SetlID, errRebook)
		}
		rec.Cancelled = true
		// The platform's time of the cancelling entry decides its day (the agent's
		// clock when the answer has none: "nothing to cancel").
		rec.CancelDay = settle.Day(e.bookedAt(out.Setlinfo))
	case rec.Settlement == nil && rec.MdtrtID != "" && !rec.RegCancelled:
		if rec.FeesDone || rec.FeeBatch > 0 {
			_, err := e.writeStep(ctx, rec, platform.InfnoCancelFee, CancelFeeInput(rec, platform.FeedetlSnAll), nil)
			if err := e.orSettled(ctx, rec, err); err != nil && !errors.Is(err, platform.ErrNothingToCancel) {
				return err
			}
			if rec.Settlement != nil {
				// A late 2207 settled the visit: what is cancelled is that settlement.
				return e.advanceCancel(ctx, rec)
			}
			rec.FeesDone = false
		}
		_, err := e.writeStep(ctx, rec, platform.InfnoCancelRegister, CancelRegisterInput(rec), nil)
		if err := e.orSettled(ctx, rec, err); err != nil && !errors.Is(err, platform.ErrNothingToCancel) {
			return err
		}
		if rec.Settlement != nil {
			return e.advanceCancel(ctx, rec)
		}
		rec.RegCancelled = true
	}
	rec.State = StateCancelled
	e.closeStrayVisits(ctx, rec)
	return nil
}

// writeStep sends a write message exactly once: its msgid is stored before it leaves.
// The first write of a run stores the msgids of the chain's later writes with its own
// (one commit for the chain, not one per step); a stored msgid may have been sent, so
// after a crash every one of them is resolved before the chain is repeated. It returns
// the msgid the message went out with. A refusal because the platform forgot the
// session is followed by one sign-in and the step again, with a new msgid.
func (e *Bills) writeStep(ctx context.Context, rec *Record, infno string, in, out any) (string, error) {
	stale := e.link.pf.SignNo()
	msgid, err := e.writeOnce(ctx, rec, infno, in, out)
	if errors.Is(err, platform.ErrSessionExpired) && e.link.renewSession(ctx, stale) {
		msgid, err = e.writeOnce(ctx, rec, infno, in, out)
	}
	return msgid, err
}

func (e *Bills) writeOnce(ctx context.Context, rec *Record, infno string, in, out any) (string, error) {
	i := rec.plannedFor(infno)
	if i < 0 {
		plan := chainFrom(rec, infno)
		for _, inf := range plan {
			msgid, err := e.link.nextMsgid()
			if err != nil {
				rec.dropPlans()
				return "", err
			}
			p := Pending{Infno: inf, Msgid: msgid, planned: true}
			if inf == platform.InfnoFeeUpload {
				p.Batch = ChargeBatch(rec)
			}
			rec.Pending = append(rec.Pending, p)
		}
		if err := e.save(ctx, rec, nil); err != nil {
			rec.dropPlans() // nothing was sent
			return "", err
		}
		i = rec.plannedFor(infno)
	}
	rec.Pending[i].planned = false
	msgid := rec.Pending[i].Msgid
	rec.logMsg(msgid, infno, OutcomeSent, "", e.now())
	resp, err := e.callFor(ctx, rec, infno, msgid, in, out)
	if e.keptBooked(rec, &rec.Surprises, infno, msgid, resp, err) {
		if infno == platform.InfnoCancelSettle {
			return msgid, nil
		}
		return msgid, fmt.Errorf("%s for bill %s: %w: %w", infno, rec.Bill.BillNo, ErrBookedUnread, err)
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
		return msgid, fmt.Errorf("%s for bill %s: %w", infno, rec.Bill.BillNo, err)
	}
	return msgid, nil
}

// bookedUnread reports whether a call was answered infcode 0 in an answer that lacks
// what the agent needs (platform.ErrBadResponse on a decoded success envelope).
func bookedUnread(resp *platform.Response, err error) bool {
	return resp != nil && resp.Infcode == 0 && errors.Is(err, platform.ErrBadResponse)
}

// booking is what a bill or a stay keeps of the writes sent for it.
type booking interface {
	resolvePending(msgid string)
	logMsg(msgid, infno, outcome, errMsg string, at time.Time)
	addNote(list *[]string, note string)
}

// keptBooked applies the one rule for a settlement or its cancellation (bills and
// stays alike) answered infcode 0 in an answer the agent cannot read in full: it is a
// success (platform.md), never reversed; it is resolved, logged and noted as booked,
// and a settlement is then found with 5203 and adopted. It reports whether the rule
// applied.
func (e *core) keptBooked(doc booking, surprises *[]string, infno, msgid string, resp *platform.Response, err error) bool {
	switch infno {
	case platform.InfnoSettle, platform.InfnoCancelSettle, platform.InfnoInpatientSettle, platform.InfnoInpatientCancelSettle:
	default:
		return false
	}
	if !bookedUnread(resp, err) {
		return false
	}
	doc.resolvePending(msgid)
	doc.logMsg(msgid, infno, OutcomeOK, "booked; answer unreadable: "+err.Error(), e.now())
	doc.addNote(surprises, infno+" "+msgid+": infcode 0 in an answer the agent could not read in full ("+err.Error()+"); kept as booked")
	return true
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

// readStep sends a message that books nothing, or one whose repetition is harmless
// and whose msgid need not be stored (the resolution's own 2601 and 2205); it may be
// repeated freely (once more, after a sign-in, when the platform forgot the session).
func (e *Bills) readStep(ctx context.Context, rec *Record, infno string, in, out any) error {
	for try := 0; ; try++ {
		msgid, err := e.link.nextMsgid()
		if err != nil {
			return err
		}
		stale := e.link.pf.SignNo()
		_, err = e.callFor(ctx, rec, infno, msgid, in, out)
		if errors.Is(err, platform.ErrSessionExpired) && try == 0 && e.link.renewSession(ctx, stale) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s for bill %s: %w", infno, rec.Bill.BillNo, err)
		}
		return nil
	}
}

// callFor sends one message of rec and records its outcome in the bill's history,
// with what the answer said for people: a warning (warn_msg) for the cashier, and
// what surprised the client in a successful answer (kept, shown, never reversed).
func (e *Bills) callFor(ctx context.Context, rec *Record, infno, msgid string, in, out any) (*platform.Response, error) {
	resp, err := e.link.call(ctx, infno, e.link.meta(msgid, rec), in, out)
	if rec == nil {
		return resp, err
	}
	e.recordOutcome(rec, msgid, infno, err)
	if resp != nil {
		if resp.WarnMsg != "" {
			rec.addNote(&rec.Warnings, infno+": "+resp.WarnMsg)
		}
		for _, s := range resp.Surprises {
			rec.addNote(&rec.Surprises, infno+" "+msgid+": "+s.String())
		}
	}
	return resp, err
}

func (e *Bills) recordOutcome(rec *Record, msgid, infno string, err error) {
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

// identify finds the person (1101) and the insurance record that pays.
func (e *Bills) identify(ctx context.Context, rec *Record) error {
	p, err := e.link.personOnline(ctx, rec.Bill.Patient, rec)
	if err != nil {
		return err
	}
	e.setPerson(rec, p, SourcePlatform)
	return nil
}

func (e *Bills) setPerson(rec *Record, p *settle.Person, source string) {
	rec.Person = p
	rec.PersonSource = source
	rec.PsnNo = p.PsnNo
	if in, ok := p.Primary(); ok {
		rec.Insutype, rec.Insuplc = in.Insutype, in.InsuplcAdmdvs
	}
}

// personOnline asks the platform (1101) and caches the answer for offline use.
func (e *Link) personOnline(ctx context.Context, pt settle.Patient, rec *Record) (*settle.Person, error) {
	var out platform.PersonInfoOutput
	var err error
	for try := 0; ; try++ {
		var msgid string
		if msgid, err = e.nextMsgid(); err != nil {
			return nil, err
		}
		stale := e.pf.SignNo()
		_, err = e.bills.callFor(ctx, rec, platform.InfnoPersonInfo, msgid, PersonInput(pt, e.now()), &out)
		if errors.Is(err, platform.ErrSessionExpired) && try == 0 && e.renewSession(ctx, stale) {
			continue
		}
		break
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
func (e *Bills) checkQualification(ctx context.Context, rec *Record) error {
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

// isFinal reports whether err needs a person (a refusal) rather than a retry. A
// refusal because the platform forgot the session is not final: the engine signs in
// again and the step is tried again.
func isFinal(err error) bool {
	if errors.Is(err, platform.ErrSessionExpired) {
		return false
	}
	return errors.Is(err, platform.ErrBusiness) || errors.Is(err, ErrNotQualified)
}
