package agent

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// errNotQualified is the agent's own refusal of a med_type 14 bill whose diagnosis the
// patient is not filed for (5301); it is final like a platform business error.
var errNotQualified = errors.New("not qualified")

// advance drives rec towards its goal from the step its stored state says it reached.
// Before a write message leaves, its msgid is saved (fsynced) with the record — the
// first write of a run saves the msgids of the chain's later writes with its own; a
// stored msgid whose outcome is not known is reversed (2601) before anything else
// happens to the bill, and the chain is then repeated with new msgids. So a crash, a
// timeout or a lost answer at any instant leads to exactly one booking at the platform.
//
// It returns nil when the goal is reached (rec.State says which), a business error
// (errors.Is platform.ErrBusiness or errNotQualified) when a person must look, and any
// other error when it should be tried again later.
func (a *Agent) advance(ctx context.Context, rec *billRecord) error {
	defer rec.dropPlans()
	// Latest first: a settlement is undone before the fee details and the visit it
	// stands on.
	for len(rec.Pending) > 0 {
		if err := a.reverse(ctx, rec, rec.Pending[len(rec.Pending)-1]); err != nil {
			return err
		}
	}
	if rec.Goal == goalCancel {
		return a.advanceCancel(ctx, rec)
	}
	if rec.PsnNo == "" {
		if err := a.identify(ctx, rec); err != nil {
			return err
		}
	}
	if rec.Bill.MedType == settle.MedTypeChronic && !rec.QualChecked {
		if err := a.checkQualification(ctx, rec); err != nil {
			return err
		}
	}
	if rec.MdtrtID == "" {
		var out platform.RegisterOutput
		if err := a.writeStep(ctx, rec, platform.InfnoRegister, a.registerInput(rec), &out); err != nil {
			return err
		}
		rec.MdtrtID = out.Data.MdtrtID
	}
	if rec.Bill.MedType == settle.MedTypeChronic && !rec.VisitDone {
		if err := a.readStep(ctx, rec, platform.InfnoVisitInfo, a.visitInput(rec), nil); err != nil {
			return err
		}
		rec.VisitDone = true
	}
	if !rec.FeesDone {
		var out platform.FeeUploadOutput
		if err := a.writeStep(ctx, rec, platform.InfnoFeeUpload, a.feeInput(rec), &out); err != nil {
			return err
		}
		rec.FeesDone = true
		a.learnFees(rec, out.Result)
	}
	if rec.Goal == goalPresettle {
		var out platform.SettleOutput
		if err := a.readStep(ctx, rec, platform.InfnoPreSettle, a.settleInput(rec), &out); err != nil {
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
		if err := a.writeStep(ctx, rec, platform.InfnoSettle, a.settleInput(rec), &out); err != nil {
			return err
		}
		split := out.Setlinfo.Split()
		split.Insutype, split.InsuplcAdmdvs = rec.Insutype, rec.Insuplc
		rec.Settlement = &split
		rec.SettledAt = a.now()
		rec.SettleMsgid = rec.History[len(rec.History)-1].Msgid
		a.learnSettlement(rec)
	}
	rec.State = StateSettled
	rec.ErrCode, rec.ErrMsg = "", ""
	return nil
}

// advanceCancel undoes what the platform holds of the bill: the settlement (2208), or
// the fee details and the registration of a visit never settled (2205, 2202). A bill
// nothing was ever sent for is simply cancelled.
func (a *Agent) advanceCancel(ctx context.Context, rec *billRecord) error {
	switch {
	case rec.Settlement != nil && !rec.Cancelled:
		in := platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: rec.Settlement.SetlID, MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo}}
		if err := a.writeStep(ctx, rec, platform.InfnoCancelSettle, in, nil); err != nil {
			return err
		}
		rec.Cancelled = true
	case rec.Settlement == nil && rec.MdtrtID != "" && !rec.RegCancelled:
		if rec.FeesDone {
			in := platform.CancelFeeInput{Data: platform.CancelFeeData{FeedetlSn: platform.FeedetlSnAll, MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo}}
			if err := a.writeStep(ctx, rec, platform.InfnoCancelFee, in, nil); err != nil {
				return err
			}
			rec.FeesDone = false
		}
		in := platform.CancelRegisterInput{Data: platform.CancelRegisterData{PsnNo: rec.PsnNo, MdtrtID: rec.MdtrtID, IptOtpNo: rec.Bill.BillNo}}
		if err := a.writeStep(ctx, rec, platform.InfnoCancelRegister, in, nil); err != nil {
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
// after a crash every one of them is reversed before the chain is repeated.
func (a *Agent) writeStep(ctx context.Context, rec *billRecord, infno string, in, out any) error {
	i := rec.plannedFor(infno)
	if i < 0 {
		plan := a.chainFrom(rec, infno)
		for _, inf := range plan {
			msgid, err := a.nextMsgid()
			if err != nil {
				rec.dropPlans()
				return err
			}
			rec.Pending = append(rec.Pending, pendingMsg{Infno: inf, Msgid: msgid, planned: true})
		}
		if err := a.save(ctx, rec, nil); err != nil {
			rec.dropPlans() // nothing was sent
			return err
		}
		i = rec.plannedFor(infno)
	}
	rec.Pending[i].planned = false
	msgid := rec.Pending[i].Msgid
	rec.logMsg(msgid, infno, outcomeSent, "", a.now())
	err := a.call(ctx, infno, a.meta(msgid, rec), in, out)
	a.recordOutcome(rec, msgid, infno, err)
	switch platform.Classify(err) {
	case platform.OutcomeOK, platform.OutcomeBusiness, platform.OutcomeNotSent:
		rec.settlePending(msgid)
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
func (a *Agent) chainFrom(rec *billRecord, infno string) []string {
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
		if rec.Goal == goalSettle && rec.Settlement == nil {
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
func (a *Agent) readStep(ctx context.Context, rec *billRecord, infno string, in, out any) error {
	msgid, err := a.nextMsgid()
	if err != nil {
		return err
	}
	err = a.call(ctx, infno, a.meta(msgid, rec), in, out)
	a.recordOutcome(rec, msgid, infno, err)
	if err != nil {
		return fmt.Errorf("%s for bill %s: %w", infno, rec.Bill.BillNo, err)
	}
	return nil
}

func (a *Agent) recordOutcome(rec *billRecord, msgid, infno string, err error) {
	now := a.now()
	switch platform.Classify(err) {
	case platform.OutcomeOK:
		rec.logMsg(msgid, infno, outcomeOK, "", now)
	case platform.OutcomeBusiness:
		rec.logMsg(msgid, infno, outcomeRefused, businessMessage(err), now)
	case platform.OutcomeNotSent:
		rec.logMsg(msgid, infno, outcomeNotSent, err.Error(), now)
	default:
		rec.logMsg(msgid, infno, outcomeUnknown, err.Error(), now)
	}
}

// reverse sends 2601 for one pending message, and forgets it once the platform has
// answered definitely. A reversal of a message the platform never booked (a planned
// one that never left, say) is a success too.
func (a *Agent) reverse(ctx context.Context, rec *billRecord, p pendingMsg) error {
	msgid, err := a.nextMsgid()
	if err != nil {
		return err
	}
	in := platform.ReversalInput{Data: platform.ReversalData{PsnNo: rec.PsnNo, Omsgid: p.Msgid, Oinfno: p.Infno}}
	err = a.call(ctx, platform.InfnoReversal, a.meta(msgid, rec), in, nil)
	a.recordOutcome(rec, msgid, platform.InfnoReversal, err)
	if err != nil {
		return fmt.Errorf("reverse %s %s of bill %s: %w", p.Infno, p.Msgid, rec.Bill.BillNo, err)
	}
	rec.logMsg(p.Msgid, p.Infno, outcomeReversed, "", a.now())
	rec.settlePending(p.Msgid)
	return nil
}

// identify finds the person (1101) and the insurance record that pays.
func (a *Agent) identify(ctx context.Context, rec *billRecord) error {
	p, err := a.personOnline(ctx, rec.Bill.Patient, rec)
	if err != nil {
		return err
	}
	a.setPerson(rec, p, sourcePlatform)
	return nil
}

func (a *Agent) setPerson(rec *billRecord, p *settle.Person, source string) {
	rec.Person = p
	rec.PersonSource = source
	rec.PsnNo = p.PsnNo
	if in, ok := p.Primary(); ok {
		rec.Insutype, rec.Insuplc = in.Insutype, in.InsuplcAdmdvs
	}
}

// personOnline asks the platform (1101) and caches the answer for offline use.
func (a *Agent) personOnline(ctx context.Context, pt settle.Patient, rec *billRecord) (*settle.Person, error) {
	msgid, err := a.nextMsgid()
	if err != nil {
		return nil, err
	}
	in := platform.PersonInfoInput{Data: platform.PersonQuery{
		MdtrtCertType: pt.MdtrtCertType, MdtrtCertNo: pt.MdtrtCertNo, CardSN: pt.CardSN,
		Begntime: a.now().In(cst).Format(platform.InfTimeLayout), PsnName: pt.PsnName,
	}}
	if pt.MdtrtCertType == settle.CertIDNumber {
		in.Data.PsnCertType, in.Data.Certno = "01", pt.MdtrtCertNo
	}
	var out platform.PersonInfoOutput
	err = a.call(ctx, platform.InfnoPersonInfo, a.meta(msgid, rec), in, &out)
	if rec != nil {
		a.recordOutcome(rec, msgid, platform.InfnoPersonInfo, err)
	}
	if err != nil {
		return nil, fmt.Errorf("1101 person info: %w", err)
	}
	p := out.Person()
	if err := a.cachePerson(ctx, rec, pt.MdtrtCertType, pt.MdtrtCertNo, p); err != nil {
		a.log.Warn("cache person", "err", err)
	}
	return &p, nil
}

// checkQualification asks 5301 whether the patient is filed for one of the bill's
// diagnoses (病种资格参保地认定) on the bill's day.
func (a *Agent) checkQualification(ctx context.Context, rec *billRecord) error {
	var out platform.ChronicQueryOutput
	in := platform.ChronicQueryInput{Data: platform.ChronicQueryData{PsnNo: rec.PsnNo}}
	if err := a.readStep(ctx, rec, platform.InfnoChronicQuery, in, &out); err != nil {
		return err
	}
	day := dayOf(rec.Bill.CreatedAt)
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
	return fmt.Errorf("%w: the patient is not filed (5301) for chronic/special disease %v; settle as general outpatient (med_type 11) or have the insured place file the disease", errNotQualified, codes)
}

func (a *Agent) registerInput(rec *billRecord) platform.RegisterInput {
	b := &rec.Bill
	return platform.RegisterInput{Data: platform.RegisterData{
		PsnNo: rec.PsnNo, Insutype: rec.Insutype, Begntime: infTime(b.CreatedAt),
		MdtrtCertType: b.Patient.MdtrtCertType, MdtrtCertNo: b.Patient.MdtrtCertNo,
		IptOtpNo: b.BillNo, AtddrNo: b.Doctor.Code, DrName: b.Doctor.Name,
		DeptCode: b.Dept.Code, DeptName: b.Dept.Name, Caty: b.Dept.Code,
	}}
}

func (a *Agent) visitInput(rec *billRecord) platform.VisitInfoInput {
	b := &rec.Bill
	in := platform.VisitInfoInput{Mdtrtinfo: platform.VisitInfo{
		MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo, MedType: b.MedType, Begntime: infTime(b.CreatedAt),
	}}
	for i, d := range b.Diagnoses {
		if i == 0 {
			in.Mdtrtinfo.DiseCodg, in.Mdtrtinfo.DiseName = d.Code, d.Name
		}
		in.Diseinfo = append(in.Diseinfo, platform.DiseInfo{
			DiagType: "1", DiagSrtNo: i + 1, DiagCode: d.Code, DiagName: d.Name,
			DiagDept: b.Dept.Name, DiseDorNo: b.Doctor.Code, DiseDorName: b.Doctor.Name,
			DiagTime: infTime(b.CreatedAt), ValiFlag: "1",
		})
	}
	return in
}

// feeInput turns the bill's mapped items into 2204 fee details.
func (a *Agent) feeInput(rec *billRecord) platform.FeeUploadInput {
	b := &rec.Bill
	in := platform.FeeUploadInput{Feedetail: make([]platform.FeeDetail, 0, len(b.Items))}
	dise := ""
	if len(b.Diagnoses) > 0 {
		dise = b.Diagnoses[0].Code
	}
	for _, it := range b.Items {
		in.Feedetail = append(in.Feedetail, platform.FeeDetail{
			FeedetlSn: strconv.Itoa(it.Line), MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo,
			ChrgBchno: b.BillNo, DiseCodg: dise, Rxno: b.BillNo, RxCircFlag: "0",
			FeeOcurTime: infTime(b.CreatedAt), MedListCodg: it.MedListCodg, MedinsListCodg: it.MedinsListCodg,
			DetItemFeeSumamt: platform.AmountOf(it.Amount), Cnt: platform.CntOf(it.Qty), Pric: platform.PricOf(it.UnitPrice),
			BilgDeptCodg: b.Dept.Code, BilgDeptName: b.Dept.Name, BilgDrCodg: b.Doctor.Code, BilgDrName: b.Doctor.Name,
			HospApprFlag: "1",
		})
	}
	return in
}

func (a *Agent) settleInput(rec *billRecord) platform.SettleInput {
	b := &rec.Bill
	acct := rec.AcctUsedFlag
	if acct == "" {
		acct = platform.AcctUsed
	}
	way := rec.PsnSetlway
	if way == "" {
		way = platform.SetlwayByItem
	}
	return platform.SettleInput{Data: platform.SettleData{
		PsnNo: rec.PsnNo, MdtrtCertType: b.Patient.MdtrtCertType, MdtrtCertNo: b.Patient.MdtrtCertNo,
		MedType: b.MedType, MedfeeSumamt: platform.AmountOf(b.Total), PsnSetlway: way,
		MdtrtID: rec.MdtrtID, ChrgBchno: b.BillNo, Insutype: rec.Insutype, AcctUsedFlag: acct,
	}}
}

func infTime(t time.Time) string { return t.In(cst).Format(platform.InfTimeLayout) }

// businessMessage is the platform's err_msg, verbatim, for the cashier.
func businessMessage(err error) string {
	var be *platform.BusinessError
	if errors.As(err, &be) {
		return be.ErrMsg
	}
	return err.Error()
}

// isFinal reports whether err needs a person (business refusal) rather than a retry.
func isFinal(err error) bool {
	return errors.Is(err, platform.ErrBusiness) || errors.Is(err, errNotQualified)
}

func isWriteInfno(infno string) bool { return platform.IsWrite(infno) }
