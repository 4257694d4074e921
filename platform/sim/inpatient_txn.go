package sim

import (
	"maps"
	"slices"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// inpatientTxns are the inpatient transactions dispatch hands on.
var inpatientTxns = map[string]func(*Platform, *platform.Request) (any, *bizError){
	platform.InfnoAdmission:             (*Platform).admission,
	platform.InfnoAdmissionChange:       (*Platform).admissionChange,
	platform.InfnoCancelAdmission:       (*Platform).cancelAdmission,
	platform.InfnoDischarge:             (*Platform).discharge,
	platform.InfnoCancelDischarge:       (*Platform).cancelDischarge,
	platform.InfnoInpatientFeeUpload:    (*Platform).inpatientFeeUpload,
	platform.InfnoInpatientCancelFee:    (*Platform).inpatientCancelFee,
	platform.InfnoInpatientPreSettle:    (*Platform).inpatientPreSettle,
	platform.InfnoInpatientSettle:       (*Platform).inpatientSettle,
	platform.InfnoInpatientCancelSettle: (*Platform).inpatientCancelSettle,
}

// isSettlement reports whether a booking is a settlement the reconciliation counts:
// outpatient 2207 or inpatient 2304 (final or mid-stay).
func isSettlement(b *booking) bool {
	return b.Infno == platform.InfnoSettle || b.Infno == platform.InfnoInpatientSettle
}

// clrTypeOf is a settlement's clearing type: 21 inpatient, 11 outpatient.
func clrTypeOf(b *booking) string {
	if b.ClrType != "" {
		return b.ClrType
	}
	return platform.ClrTypeOutpatient
}

// validateInpatientDeductible checks a policy's optional deductibles per admission:
// only 310 and 390, none negative.
func validateInpatientDeductible(v *settle.ValidationError, at string, p Policy) {
	for _, it := range slices.Sorted(maps.Keys(p.InpatientDeductible)) {
		d := p.InpatientDeductible[it]
		switch {
		case it != settle.InsutypeEmployee && it != settle.InsutypeResident:
			v.Add(at+".inpatient_deductible."+it, "insutype must be 310 or 390")
		case d < 0:
			v.Add(at+".inpatient_deductible."+it, "must not be negative, got %s", d)
		}
	}
}

// stayVisits is the inpatient part of 5201: the person's stays that stand (admitted,
// not cancelled or reversed) whose begntime is within the period, of med_type 21 and
// mdtrt_id when given; endtime is set once discharged. ipt_otp_no is the ipt_no, by
// which a stay whose 2401 answer was lost is found.
func (p *Platform) stayVisits(d platform.VisitQueryData) []platform.VisitRecord {
	out := []platform.VisitRecord{}
	if d.MedType != "" && d.MedType != settle.MedTypeInpatient {
		return out
	}
	ids := make([]string, 0, len(p.st.stays))
	for id := range p.st.stays {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := p.st.stays[id]
		if s.v.psnNo != d.PsnNo || s.v.cancelled || d.MdtrtID != "" && s.v.id != d.MdtrtID {
			continue
		}
		if d.Begntime != "" && s.info.Begntime < d.Begntime || d.Endtime != "" && s.info.Begntime > d.Endtime {
			continue
		}
		r := platform.VisitRecord{MdtrtID: s.v.id, PsnNo: s.v.psnNo, IptOtpNo: s.iptNo, MedType: settle.MedTypeInpatient,
			Begntime: s.info.Begntime, Insutype: s.v.insutype, FixmedinsCode: s.v.fixmedins, ValiFlag: "1",
			DiseCodg: s.info.DiseCodg, DiseName: s.info.DiseName}
		if s.discharged {
			r.Endtime = s.end.In(beijing).Format(timeLayout)
		}
		out = append(out, r)
	}
	return out
}

// stayFeeQuery is 5204 of a stay: its fee lines that stand, each with the setl_id of
// the settlement that covers it (when setl_id is given, only those).
func (p *Platform) stayFeeQuery(s *stay, d platform.FeeQueryData) (any, *bizError) {
	if s.v.cancelled {
		return nil, biz("住院就诊信息不存在或已撤销: mdtrt_id %s", s.v.id)
	}
	if d.PsnNo != "" && d.PsnNo != s.v.psnNo {
		return nil, biz("人员编号 %s 与住院就诊 %s 的人员不符", d.PsnNo, s.v.id)
	}
	out := platform.FeeQueryOutput{Feedetail: []platform.FeeRecord{}}
	for _, sn := range s.v.order {
		f := s.v.fees[sn]
		if f.cancelled || f.upload.Reversed {
			continue
		}
		setl := ""
		if x := s.settledBy[sn]; x != nil {
			setl = x.id
		}
		if d.SetlID != "" && setl != d.SetlID {
			continue
		}
		r := platform.FeeRecord{
			FeedetlSn: f.sn, MdtrtID: s.v.id, PsnNo: s.v.psnNo, ChrgBchno: f.chrgBchno, SetlID: setl,
			FeeOcurTime: f.ocurTime, MedListCodg: f.medListCodg, MedinsListCodg: f.medinsListCodg,
			DetItemFeeSumamt: platform.AmountOf(f.split.Amount), Cnt: f.cnt, Pric: f.pric,
			FulamtOwnpayAmt: platform.AmountOf(f.split.Fulamt), OverlmtAmt: platform.AmountOf(f.split.Overlmt),
			PreselfpayAmt: platform.AmountOf(f.split.Preself), InscpScpAmt: platform.AmountOf(f.split.Inscp), ValiFlag: "1",
		}
		if it := p.items[f.medListCodg]; it != nil {
			r.SelfpayProp, r.ChrgitmLv, r.MedChrgitmType = it.SelfpayProp, it.ChrgitmLv(), it.MedChrgitmType
		}
		out.Feedetail = append(out.Feedetail, r)
	}
	return out, nil
}
