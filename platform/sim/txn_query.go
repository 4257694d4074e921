package sim

import (
	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// visitQuery is 5201: the person's visits (registrations and admissions that stand)
// whose begntime is within [begntime, endtime], of med_type and mdtrt_id when given; an
// inpatient stay carries its ipt_no as ipt_otp_no, so a lost 2401 answer is found too.
func (p *Platform) visitQuery(req *platform.Request) (any, *bizError) {
	var in platform.VisitQueryInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	if d.PsnNo == "" {
		return nil, biz("就诊信息查询须填写人员编号 psn_no")
	}
	if _, e := p.person(d.PsnNo); e != nil {
		return nil, e
	}
	out := platform.VisitQueryOutput{Mdtrtinfo: p.stayVisits(d)}
	for _, v := range p.st.visitsOf(d.PsnNo, d.MdtrtID) {
		if v.psnNo != d.PsnNo || v.cancelled || d.MdtrtID != "" && v.id != d.MdtrtID {
			continue
		}
		if d.MedType != "" && v.medTypeOr("11") != d.MedType {
			// Until 2203 says otherwise a registration is general outpatient (11), so a
			// chronic (14) bill's visit is not found by med_type 14 before its 2203.
			continue
		}
		if d.Begntime != "" && v.begntime < d.Begntime || d.Endtime != "" && v.begntime > d.Endtime {
			continue
		}
		out.Mdtrtinfo = append(out.Mdtrtinfo, platform.VisitRecord{
			MdtrtID: v.id, PsnNo: v.psnNo, IptOtpNo: v.iptOtpNo, MedType: v.medTypeOr("11"), Begntime: v.begntime,
			Insutype: v.insutype, FixmedinsCode: v.fixmedins, ValiFlag: "1",
		})
	}
	return out, nil
}

func (v *visit) medTypeOr(def string) string {
	if v.medType != "" {
		return v.medType
	}
	return def
}

// settleQuery is 5203: the settlements (2207 bookings not reversed) of setl_id or of
// the visit mdtrt_id; a cancelled one carries refd_setl_flag "1". One settlement is
// answered as an object, several as a list (both shapes occur at real platforms); none
// is an empty list.
func (p *Platform) settleQuery(req *platform.Request) (any, *bizError) {
	var in platform.SettleQueryInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	if d.SetlID == "" && d.MdtrtID == "" {
		return nil, biz("结算信息查询须填写结算ID setl_id 或就诊ID mdtrt_id")
	}
	var list []platform.Setlinfo
	for _, b := range p.st.settlementBookings(d.SetlID, d.MdtrtID) {
		if !isSettlement(b) || b.Reversed {
			continue
		}
		if d.SetlID != "" && b.SetlID != d.SetlID || d.MdtrtID != "" && b.MdtrtID != d.MdtrtID || d.PsnNo != "" && b.PsnNo != d.PsnNo {
			continue
		}
		var split settle.Split
		if st := p.st.setls[b.SetlID]; st != nil {
			split = st.split
		} else if x := p.st.ipSetls[b.SetlID]; x != nil {
			split = x.split // an inpatient 2304
		} else {
			continue
		}
		info := platform.SetlinfoOf(split)
		info.MedType, info.SetlTime = b.MedType, b.Time.In(beijing).Format(platform.InfTimeLayout)
		info.RefdSetlFlag = "0"
		if b.Cancelled {
			info.RefdSetlFlag = "1"
		}
		list = append(list, info)
	}
	switch len(list) {
	case 0:
		return map[string]any{"setlinfo": []any{}}, nil
	case 1:
		return map[string]any{"setlinfo": list[0]}, nil
	}
	return map[string]any{"setlinfo": list}, nil
}

// feeQuery is 5204: the fee lines of the visit that stand, with the setl_id of the
// settlement that covers them (when given, only those).
func (p *Platform) feeQuery(req *platform.Request) (any, *bizError) {
	var in platform.FeeQueryInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	if s, ok := p.st.stays[d.MdtrtID]; ok {
		return p.stayFeeQuery(s, d)
	}
	v, e := p.liveVisit(d.MdtrtID, d.PsnNo)
	if e != nil {
		return nil, e
	}
	out := platform.FeeQueryOutput{Feedetail: []platform.FeeRecord{}}
	for _, sn := range v.order {
		f := v.fees[sn]
		if f.cancelled || f.upload.Reversed {
			continue
		}
		setl := ""
		if v.setlID != "" {
			setl = v.setlID
		}
		if d.SetlID != "" && setl != d.SetlID {
			continue
		}
		it := p.items[f.medListCodg]
		r := platform.FeeRecord{
			FeedetlSn: f.sn, MdtrtID: v.id, PsnNo: v.psnNo, ChrgBchno: f.chrgBchno, SetlID: setl,
			FeeOcurTime: f.ocurTime, MedListCodg: f.medListCodg, MedinsListCodg: f.medinsListCodg,
			DetItemFeeSumamt: platform.AmountOf(f.split.Amount), Cnt: f.cnt, Pric: f.pric,
			FulamtOwnpayAmt: platform.AmountOf(f.split.Fulamt), OverlmtAmt: platform.AmountOf(f.split.Overlmt),
			PreselfpayAmt: platform.AmountOf(f.split.Preself), InscpScpAmt: platform.AmountOf(f.split.Inscp), ValiFlag: "1",
		}
		if it != nil {
			r.SelfpayProp, r.ChrgitmLv, r.MedChrgitmType = it.SelfpayProp, it.ChrgitmLv(), it.MedChrgitmType
		}
		out.Feedetail = append(out.Feedetail, r)
	}
	return out, nil
}
