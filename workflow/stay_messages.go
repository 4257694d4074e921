package workflow

import (
	"strconv"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// The stay's message builders: pure functions of a stay's record (golden-tested in
// stay_messages_test.go).

// StayDiseInfo lists diagnoses as diseinfo, the first the main one.
func StayDiseInfo(ds []settle.Code, dept, doctorNo, doctorName, at string) []platform.DiseInfo {
	out := make([]platform.DiseInfo, 0, len(ds))
	for i, d := range ds {
		typ := "1" // 主要诊断
		if i > 0 {
			typ = "2"
		}
		out = append(out, platform.DiseInfo{DiagType: typ, DiagSrtNo: i + 1, DiagCode: d.Code, DiagName: d.Name,
			DiagDept: dept, DiseDorNo: doctorNo, DiseDorName: doctorName, DiagTime: at, ValiFlag: "1"})
	}
	return out
}

// AdmissionInput is the stay's 2401: med_type 21, numbered by the HIS inpatient number.
func AdmissionInput(rec *StayRecord) platform.AdmissionInput {
	a := &rec.Admission
	at := InfTime(a.AdmittedAt)
	medrcdno := a.Medrcdno
	if medrcdno == "" {
		medrcdno = a.IptNo
	}
	in := platform.AdmissionInput{Mdtrtinfo: platform.AdmissionInfo{
		PsnNo: rec.PsnNo, Insutype: rec.Insutype, MdtrtCertType: a.Patient.MdtrtCertType, MdtrtCertNo: a.Patient.MdtrtCertNo,
		MedType: settle.MedTypeInpatient, IptNo: a.IptNo, Medrcdno: medrcdno, AtddrNo: a.Doctor.Code, ChfpdrName: a.Doctor.Name,
		AdmDeptCodg: a.Dept.Code, AdmDeptName: a.Dept.Name, AdmBed: a.Bed, Begntime: at,
	}}
	if len(a.Diagnoses) > 0 {
		d := a.Diagnoses[0]
		in.Mdtrtinfo.AdmDiagDscr, in.Mdtrtinfo.DiseCodg, in.Mdtrtinfo.DiseName = d.Name, d.Code, d.Name
		in.Mdtrtinfo.MainCondDscr = d.Name
	}
	in.Diseinfo = StayDiseInfo(a.Diagnoses, a.Dept.Name, a.Doctor.Code, a.Doctor.Name, at)
	return in
}

// StayFeedetlSn is a line's feedetl_sn: batch number, attempt and line, unique within
// the stay since the platform refuses a repeated one ("3-0-12").
func StayFeedetlSn(b *StayBatch, line int) string {
	return strconv.Itoa(b.Seq) + "-" + strconv.Itoa(b.Attempt) + "-" + strconv.Itoa(line)
}

// InpatientFeeInput is one batch's 2301: its mapped lines, each with its own time.
func InpatientFeeInput(rec *StayRecord, b *StayBatch) platform.InpatientFeeInput {
	a := &rec.Admission
	dise := ""
	if len(a.Diagnoses) > 0 {
		dise = a.Diagnoses[0].Code
	}
	in := platform.InpatientFeeInput{Feedetail: make([]platform.FeeDetail, 0, len(b.Batch.Items))}
	for _, it := range b.Batch.Items {
		in.Feedetail = append(in.Feedetail, platform.FeeDetail{
			FeedetlSn: StayFeedetlSn(b, it.Line), MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo, ChrgBchno: b.Batch.BatchNo,
			DiseCodg: dise, Rxno: b.Batch.BatchNo, RxCircFlag: "0", FeeOcurTime: InfTime(it.OccurredAt),
			MedListCodg: it.MedListCodg, MedinsListCodg: it.MedinsListCodg,
			DetItemFeeSumamt: platform.AmountOf(it.Amount), Cnt: platform.CntOf(it.Qty), Pric: platform.PricOf(it.UnitPrice),
			BilgDeptCodg: a.Dept.Code, BilgDeptName: a.Dept.Name, BilgDrCodg: a.Doctor.Code, BilgDrName: a.Doctor.Name,
			HospApprFlag: "1",
		})
	}
	return in
}

// InpatientCancelFeeInput is the 2302 of one line (feedetl_sn), or of every unsettled
// line of the stay (platform.FeedetlSnAll).
func InpatientCancelFeeInput(rec *StayRecord, feedetlSn string) platform.InpatientCancelFeeInput {
	return platform.InpatientCancelFeeInput{Data: platform.InpatientCancelFeeData{FeedetlSn: feedetlSn, MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo}}
}

// DischargeInput is the stay's 2402.
func DischargeInput(rec *StayRecord) platform.DischargeInput {
	d := rec.Discharge
	dept := d.Dept
	if dept.Code == "" {
		dept = rec.Admission.Dept
	}
	way := d.DscgWay
	if way == "" {
		way = settle.DscgWayAdvice
	}
	at := InfTime(d.DischargedAt)
	in := platform.DischargeInput{Dscginfo: platform.DischargeInfo{
		MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo, Insutype: rec.Insutype, Endtime: at,
		DscgWay: way, DscgDeptCodg: dept.Code, DscgDeptName: dept.Name,
	}}
	if len(d.Diagnoses) > 0 {
		in.Dscginfo.DiseCodg, in.Dscginfo.DiseName = d.Diagnoses[0].Code, d.Diagnoses[0].Name
	}
	in.Diseinfo = StayDiseInfo(d.Diagnoses, dept.Name, rec.Admission.Doctor.Code, rec.Admission.Doctor.Name, at)
	return in
}

// AdmissionChangeInput is the stay's 2403: only the fields that change.
func AdmissionChangeInput(rec *StayRecord, c *settle.AdmissionChange) platform.AdmissionChangeInput {
	return platform.AdmissionChangeInput{Adminfo: platform.AdmissionChange{
		MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo, AtddrNo: c.Doctor.Code, ChfpdrName: c.Doctor.Name,
		AdmDeptCodg: c.Dept.Code, AdmDeptName: c.Dept.Name, AdmBed: c.Bed,
	}}
}

// StayRef is the 2404 and 2405 of the stay.
func StayRef(rec *StayRecord) platform.StayRefInput {
	return platform.InpatientRefFor(rec.MdtrtID, rec.PsnNo)
}

// InpatientPreSettleInput is the 2303 of the stay's unsettled fees (total).
func InpatientPreSettleInput(rec *StayRecord, op StayOp, total settle.Money) platform.InpatientPreSettleInput {
	acct, way := op.withDefaults()
	mid := platform.MidSetlFinal
	if op.Mid {
		mid = platform.MidSetlMid
	}
	a := &rec.Admission
	return platform.InpatientPreSettleInput{Data: platform.InpatientPreSettleData{
		PsnNo: rec.PsnNo, MdtrtCertType: a.Patient.MdtrtCertType, MdtrtCertNo: a.Patient.MdtrtCertNo,
		MedfeeSumamt: platform.AmountOf(total), PsnSetlway: way, MdtrtID: rec.MdtrtID, Insutype: rec.Insutype,
		MidSetlFlag: mid, AcctUsedFlag: acct,
	}}
}

// InpatientSettleInput is the 2304: 2303's input plus the pre-settlement's four scope
// amounts.
func InpatientSettleInput(pre platform.InpatientPreSettleInput, s platform.Setlinfo) platform.InpatientSettleInput {
	return platform.InpatientSettleInput{Data: platform.InpatientSettleData{
		InpatientPreSettleData: pre.Data,
		FulamtOwnpayAmt:        s.FulamtOwnpayAmt, OverlmtSelfpay: s.OverlmtSelfpay,
		PreselfpayAmt: s.PreselfpayAmt, InscpScpAmt: s.InscpScpAmt,
	}}
}

// InpatientCancelSettleInput is the 2305 of one settlement.
func InpatientCancelSettleInput(rec *StayRecord, setlID string) platform.InpatientCancelSettleInput {
	return platform.InpatientCancelSettleInput{Data: platform.InpatientCancelSettleData{SetlID: setlID, MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo}}
}

// StayReversalInput is the 2601 of one pending message of the stay.
func StayReversalInput(rec *StayRecord, p Pending) platform.ReversalInput {
	return platform.ReversalInput{Data: platform.ReversalData{PsnNo: rec.PsnNo, Omsgid: p.Msgid, Oinfno: p.Infno}}
}
