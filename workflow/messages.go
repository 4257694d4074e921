package workflow

import (
	"strconv"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// The message builders: pure functions of a bill's record (golden-tested in
// messages_test.go). What the platform is sent is decided here and nowhere else.

// InfTime is t as the platform writes times (Beijing time).
func InfTime(t time.Time) string { return t.In(settle.Beijing).Format(platform.InfTimeLayout) }

// RegisterInput is the bill's 2201: the visit, numbered by the bill number
// (ipt_otp_no, the hospital's own visit number).
func RegisterInput(rec *Record) platform.RegisterInput {
	b := &rec.Bill
	return platform.RegisterInput{Data: platform.RegisterData{
		PsnNo: rec.PsnNo, Insutype: rec.Insutype, Begntime: InfTime(b.CreatedAt),
		MdtrtCertType: b.Patient.MdtrtCertType, MdtrtCertNo: b.Patient.MdtrtCertNo,
		IptOtpNo: b.BillNo, AtddrNo: b.Doctor.Code, DrName: b.Doctor.Name,
		DeptCode: b.Dept.Code, DeptName: b.Dept.Name, Caty: b.Dept.Code,
	}}
}

// VisitInput is the bill's 2203 (med_type 14: the diagnoses).
func VisitInput(rec *Record) platform.VisitInfoInput {
	b := &rec.Bill
	in := platform.VisitInfoInput{Mdtrtinfo: platform.VisitInfo{
		MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo, MedType: b.MedType, Begntime: InfTime(b.CreatedAt),
	}}
	for i, d := range b.Diagnoses {
		if i == 0 {
			in.Mdtrtinfo.DiseCodg, in.Mdtrtinfo.DiseName = d.Code, d.Name
		}
		in.Diseinfo = append(in.Diseinfo, platform.DiseInfo{
			DiagType: "1", DiagSrtNo: i + 1, DiagCode: d.Code, DiagName: d.Name,
			DiagDept: b.Dept.Name, DiseDorNo: b.Doctor.Code, DiseDorName: b.Doctor.Name,
			DiagTime: InfTime(b.CreatedAt), ValiFlag: "1",
		})
	}
	return in
}

// ChargeBatch is the bill's current charge batch number (chrg_bchno): the bill
// number, then "-2", "-3", ... after a lost upload was cancelled.
func ChargeBatch(rec *Record) string {
	if rec.FeeBatch <= 1 {
		return rec.Bill.BillNo
	}
	return rec.Bill.BillNo + "-" + strconv.Itoa(rec.FeeBatch)
}

// FeedetlSn is one line's fee detail number within the visit: unique across batches,
// since the platform refuses a repeated one.
func FeedetlSn(rec *Record, line int) string {
	if rec.FeeBatch <= 1 {
		return strconv.Itoa(line)
	}
	return strconv.Itoa(rec.FeeBatch) + "-" + strconv.Itoa(line)
}

// FeeInput is the bill's 2204: its mapped items as fee details of the current batch.
func FeeInput(rec *Record) platform.FeeUploadInput {
	b := &rec.Bill
	in := platform.FeeUploadInput{Feedetail: make([]platform.FeeDetail, 0, len(b.Items))}
	dise := ""
	if len(b.Diagnoses) > 0 {
		dise = b.Diagnoses[0].Code
	}
	batch := ChargeBatch(rec)
	for _, it := range b.Items {
		in.Feedetail = append(in.Feedetail, platform.FeeDetail{
			FeedetlSn: FeedetlSn(rec, it.Line), MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo,
			ChrgBchno: batch, DiseCodg: dise, Rxno: b.BillNo, RxCircFlag: "0",
			FeeOcurTime: InfTime(b.CreatedAt), MedListCodg: it.MedListCodg, MedinsListCodg: it.MedinsListCodg,
			DetItemFeeSumamt: platform.AmountOf(it.Amount), Cnt: platform.CntOf(it.Qty), Pric: platform.PricOf(it.UnitPrice),
			BilgDeptCodg: b.Dept.Code, BilgDeptName: b.Dept.Name, BilgDrCodg: b.Doctor.Code, BilgDrName: b.Doctor.Name,
			HospApprFlag: "1",
		})
	}
	return in
}

// SettleInput is the bill's 2206 and 2207 input.
func SettleInput(rec *Record) platform.SettleInput {
	b := &rec.Bill
	acct, way := rec.withDefaults()
	return platform.SettleInput{Data: platform.SettleData{
		PsnNo: rec.PsnNo, MdtrtCertType: b.Patient.MdtrtCertType, MdtrtCertNo: b.Patient.MdtrtCertNo,
		MedType: b.MedType, MedfeeSumamt: platform.AmountOf(b.Total), PsnSetlway: way,
		MdtrtID: rec.MdtrtID, ChrgBchno: ChargeBatch(rec), Insutype: rec.Insutype, AcctUsedFlag: acct,
	}}
}

// ConfirmInput is the bill's 2207: its 2206 input plus the four amounts of the
// platform's pre-settlement (rec.Presettle), which the real 2207 requires.
func ConfirmInput(rec *Record) platform.SettleConfirmInput {
	var pre platform.Setlinfo
	if rec.Presettle != nil {
		pre = platform.SetlinfoOf(*rec.Presettle)
	}
	return platform.SettleConfirmInput{Data: platform.ConfirmData(SettleInput(rec).Data, pre, "")}
}

// CancelSettleInput is the bill's 2208.
func CancelSettleInput(rec *Record) platform.CancelSettleInput {
	return platform.CancelSettleInput{Data: platform.CancelSettleData{SetlID: rec.Settlement.SetlID, MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo}}
}

// CancelFeeInput is the bill's 2205 of one charge batch (platform.FeedetlSnAll,
// "0000": every unsettled line of the visit).
func CancelFeeInput(rec *Record, batch string) platform.CancelFeeInput {
	return platform.CancelFeeInput{Data: platform.CancelFeeData{ChrgBchno: batch, MdtrtID: rec.MdtrtID, PsnNo: rec.PsnNo}}
}

// CancelRegisterInput is the bill's 2202.
func CancelRegisterInput(rec *Record) platform.CancelRegisterInput {
	return platform.CancelRegisterInput{Data: platform.CancelRegisterData{PsnNo: rec.PsnNo, MdtrtID: rec.MdtrtID, IptOtpNo: rec.Bill.BillNo}}
}

// VisitQueryInput is the 5201 that finds the bill's visit by its ipt_otp_no (the bill
// number): the person's visits from the day before the bill to a day after now. It
// names no med_type: the platform holds a registration as 11 until its 2203, so a
// chronic (14) bill's visit whose 2201 answer was lost would not be found by 14.
func VisitQueryInput(rec *Record, now time.Time) platform.VisitQueryInput {
	day := rec.Bill.CreatedAt.In(settle.Beijing)
	return platform.VisitQueryInput{Data: platform.VisitQueryData{PsnNo: rec.PsnNo,
		Begntime: InfTime(day.Add(-24 * time.Hour)), Endtime: InfTime(now.Add(24 * time.Hour))}}
}

// ReversalInput is the 2601 of one pending message of the bill.
func ReversalInput(rec *Record, p Pending) platform.ReversalInput {
	return platform.ReversalInput{Data: platform.ReversalData{PsnNo: rec.PsnNo, Omsgid: p.Msgid, Oinfno: p.Infno}}
}

// PersonInput is the 1101 of a patient's certificate at time at.
func PersonInput(pt settle.Patient, at time.Time) platform.PersonInfoInput {
	in := platform.PersonInfoInput{Data: platform.PersonQuery{
		MdtrtCertType: pt.MdtrtCertType, MdtrtCertNo: pt.MdtrtCertNo, CardSN: pt.CardSN,
		Begntime: InfTime(at), PsnName: pt.PsnName,
	}}
	if pt.MdtrtCertType == settle.CertIDNumber {
		in.Data.PsnCertType, in.Data.Certno = "01", pt.MdtrtCertNo
	}
	if pt.MdtrtCertType == settle.CertEVoucher && pt.Certno != "" { // from the e-voucher decode (serial-reader.md)
		in.Data.PsnCertType, in.Data.Certno = pt.PsnCertType, pt.Certno
	}
	return in
}
