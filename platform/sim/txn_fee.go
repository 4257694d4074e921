package sim

import (
	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// feeUpload is 2204: every line is checked first (one visit, a catalogue code, amount =
// cnt × pric, feedetl_sn new within the visit); then all are booked or none.
func (p *Platform) feeUpload(req *platform.Request) (any, *bizError) {
	var in platform.FeeUploadInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	if len(in.Feedetail) == 0 {
		return nil, biz("费用明细 feedetail 为空")
	}
	first := in.Feedetail[0]
	v, e := p.liveVisit(first.MdtrtID, first.PsnNo)
	if e != nil {
		return nil, e
	}
	if v.setlID != "" {
		return nil, biz("就诊 %s 已结算，不能再上传费用明细", v.id)
	}
	fees := make([]*fee, 0, len(in.Feedetail))
	result := make([]platform.FeeResult, 0, len(in.Feedetail))
	inRequest := make(map[string]bool, len(in.Feedetail))
	var total settle.Money
	for _, d := range in.Feedetail {
		if d.MdtrtID != v.id {
			return nil, biz("一次上传的费用明细须属于同一就诊: %s 与 %s", d.MdtrtID, v.id)
		}
		if d.PsnNo != "" && d.PsnNo != v.psnNo {
			return nil, biz("费用明细 %s 的人员编号与就诊不符", d.FeedetlSn)
		}
		if d.FeedetlSn == "" || d.FeedetlSn == platform.FeedetlSnAll {
			return nil, biz("费用明细流水号 feedetl_sn %q 无效", d.FeedetlSn)
		}
		if _, ok := v.fees[d.FeedetlSn]; inRequest[d.FeedetlSn] || ok {
			// Unique within the visit for ever: a cancelled line's number is not reused.
			return nil, biz("费用明细流水号 feedetl_sn %s 在本次就诊中重复", d.FeedetlSn).as(RuleFeedetlSnRepeated)
		}
		inRequest[d.FeedetlSn] = true
		it, ok := p.items[d.MedListCodg]
		if !ok {
			return nil, biz("医保目录编码不存在: %s (feedetl_sn %s)，请核对目录对照", d.MedListCodg, d.FeedetlSn)
		}
		if d.Cnt <= 0 || d.Pric < 0 {
			return nil, biz("费用明细 %s 数量或单价无效", d.FeedetlSn)
		}
		amount := d.DetItemFeeSumamt.Money()
		if want := settle.LineAmount(d.Cnt.Qty(), d.Pric.Price()); want != amount {
			return nil, biz("费用明细 %s 金额 %s 与数量 %s × 单价 %s = %s 不符", d.FeedetlSn, amount, d.Cnt, d.Pric, want)
		}
		sp := splitFee(*it, amount, d.Cnt.Qty(), d.Pric.Price())
		sum, err := total.AddChecked(amount)
		if err != nil {
			return nil, biz("费用明细合计超出范围 (feedetl_sn %s)", d.FeedetlSn)
		}
		total = sum
		fees = append(fees, &fee{sn: d.FeedetlSn, chrgBchno: d.ChrgBchno, medListCodg: d.MedListCodg, split: sp,
			medinsListCodg: d.MedinsListCodg, ocurTime: d.FeeOcurTime, cnt: d.Cnt, pric: d.Pric})
		result = append(result, platform.FeeResult{
			FeedetlSn:        d.FeedetlSn,
			DetItemFeeSumamt: d.DetItemFeeSumamt,
			Cnt:              d.Cnt,
			Pric:             d.Pric,
			PricUplmtAmt:     platform.PricOf(it.PriceCeiling),
			SelfpayProp:      it.SelfpayProp,
			FulamtOwnpayAmt:  platform.AmountOf(sp.Fulamt),
			OverlmtAmt:       platform.AmountOf(sp.Overlmt),
			PreselfpayAmt:    platform.AmountOf(sp.Preself),
			InscpScpAmt:      platform.AmountOf(sp.Inscp),
			ChrgitmLv:        it.ChrgitmLv(),
			MedChrgitmType:   it.MedChrgitmType,
		})
	}
	b := &booking{Entry: p.entry(req, v.psnNo, v.id)}
	b.ChrgBchno, b.MedfeeSumamt, b.Insutype = first.ChrgBchno, total, v.insutype
	b.undo = func(s *state, by string) *bizError {
		if v.setlID != "" {
			return biz("就诊 %s 已结算，不能冲正费用明细", v.id)
		}
		for _, f := range fees {
			f.cancelled = true
		}
		return nil
	}
	p.st.book(b)
	for _, f := range fees {
		f.upload = b
		if _, ok := v.fees[f.sn]; !ok {
			v.order = append(v.order, f.sn)
		}
		v.fees[f.sn] = f
	}
	return platform.FeeUploadOutput{Result: result}, nil
}

// cancelFee is 2205: the unsettled lines of charge batch chrg_bchno, or every
// unsettled line of the visit with chrg_bchno "0000". A 2204 whose lines are all
// cancelled is marked cancelled in the ledger. Nothing to cancel is refused ("无可撤销
// 的费用明细"), which for the client also means none of it is booked.
func (p *Platform) cancelFee(req *platform.Request) (any, *bizError) {
	var in platform.CancelFeeInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	v, e := p.liveVisit(d.MdtrtID, d.PsnNo)
	if e != nil {
		return nil, e
	}
	if v.setlID != "" {
		return nil, biz("就诊 %s 已结算，请先撤销结算(2208)", v.id)
	}
	if d.ChrgBchno == "" {
		return nil, biz("费用明细撤销须填写收费批次号 chrg_bchno (\"0000\" 撤销全部未结算明细)").as(RuleCancelFeeWithoutBatch)
	}
	var gone []*fee
	for _, sn := range v.order {
		if f := v.fees[sn]; !f.cancelled && (d.ChrgBchno == platform.ChrgBchnoAll || f.chrgBchno == d.ChrgBchno) {
			gone = append(gone, f)
		}
	}
	if len(gone) == 0 {
		return nil, biz("%s: mdtrt_id %s chrg_bchno %s", msgNothingToCancel, v.id, d.ChrgBchno).as(RuleNothingToCancel)
	}
	var total settle.Money
	var marked []*booking
	for _, f := range gone {
		f.cancelled = true
		total += f.split.Amount
	}
	for _, f := range gone {
		up := f.upload
		if up.Cancelled || up.Reversed {
			continue
		}
		allGone := true
		for _, sn := range v.order {
			if g := v.fees[sn]; g.upload == up && !g.cancelled {
				allGone = false
			}
		}
		if allGone {
			up.Cancelled, up.CancelledBy = true, req.Msgid
			marked = append(marked, up)
		}
	}
	b := &booking{Entry: p.entry(req, v.psnNo, v.id)}
	b.MedfeeSumamt, b.Insutype = -total, v.insutype
	if len(gone) > 0 {
		b.ChrgBchno, b.Target = gone[0].chrgBchno, gone[0].upload.Msgid
	}
	b.undo = func(s *state, by string) *bizError {
		if v.setlID != "" {
			return biz("就诊 %s 已结算，不能冲正费用撤销", v.id)
		}
		for _, f := range gone {
			if cur := v.fees[f.sn]; cur != f && !cur.cancelled {
				return biz("费用明细 %s 已重新上传，不能冲正费用撤销", f.sn)
			}
		}
		for _, f := range gone {
			if !f.upload.Reversed {
				f.cancelled = false
				v.fees[f.sn] = f
			}
		}
		for _, up := range marked {
			up.Cancelled, up.CancelledBy = false, ""
		}
		return nil
	}
	p.st.book(b)
	return struct{}{}, nil
}
