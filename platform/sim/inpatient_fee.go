package sim

import (
	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// inpatientFeeUpload is 2301: as 2204, every line is checked first (one stay, a
// catalogue code, amount = cnt × pric, feedetl_sn new within the stay, fee_ocur_time
// within the stay) and then all are booked or none. A stay settled for good takes no
// more fees; after a mid-stay settlement new fees are welcome.
func (p *Platform) inpatientFeeUpload(req *platform.Request) (any, *bizError) {
	var in platform.InpatientFeeInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	if len(in.Feedetail) == 0 {
		return nil, biz("费用明细 feedetail 为空")
	}
	first := in.Feedetail[0]
	s, e := p.liveStay(first.MdtrtID, first.PsnNo)
	if e != nil {
		return nil, e
	}
	if f := s.final(); f != nil {
		return nil, biz("住院就诊 %s 已结算(setl_id %s)，不能再上传费用明细", s.v.id, f.id)
	}
	v := s.v
	fees := make([]*fee, 0, len(in.Feedetail))
	times := make(map[string]string, len(in.Feedetail))
	result := make([]platform.FeeResult, 0, len(in.Feedetail))
	inRequest := make(map[string]bool, len(in.Feedetail))
	var total settle.Money
	for _, d := range in.Feedetail {
		if d.MdtrtID != v.id {
			return nil, biz("一次上传的费用明细须属于同一住院就诊: %s 与 %s", d.MdtrtID, v.id)
		}
		if d.PsnNo != "" && d.PsnNo != v.psnNo {
			return nil, biz("费用明细 %s 的人员编号与住院就诊不符", d.FeedetlSn)
		}
		if d.FeedetlSn == "" || d.FeedetlSn == platform.FeedetlSnAll {
			return nil, biz("费用明细流水号 feedetl_sn %q 无效", d.FeedetlSn)
		}
		if old, ok := v.fees[d.FeedetlSn]; inRequest[d.FeedetlSn] || ok && !old.cancelled {
			return nil, biz("费用明细流水号 feedetl_sn %s 在本次住院中重复", d.FeedetlSn)
		}
		inRequest[d.FeedetlSn] = true
		at, ok := parseBeijing(d.FeeOcurTime)
		if !ok {
			return nil, biz("费用明细 %s 的发生时间 fee_ocur_time %q 格式应为 yyyy-MM-dd HH:mm:ss", d.FeedetlSn, d.FeeOcurTime)
		}
		if at.Before(s.begn) {
			return nil, biz("费用明细 %s 的发生时间 %s 早于入院时间 %s", d.FeedetlSn, d.FeeOcurTime, s.info.Begntime)
		}
		if s.discharged && at.After(s.end) {
			return nil, biz("费用明细 %s 的发生时间 %s 晚于出院时间", d.FeedetlSn, d.FeeOcurTime)
		}
		times[d.FeedetlSn] = d.FeeOcurTime
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
		total += amount
		fees = append(fees, &fee{sn: d.FeedetlSn, chrgBchno: d.ChrgBchno, medListCodg: d.MedListCodg, medinsListCodg: d.MedinsListCodg,
			ocurTime: d.FeeOcurTime, cnt: d.Cnt, pric: d.Pric, split: sp})
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
	b := &booking{Entry: p.stayEntry(req, s)}
	b.ChrgBchno, b.MedfeeSumamt = first.ChrgBchno, total
	b.undo = func(st *state, by string) *bizError {
		for _, f := range fees {
			if s.settledBy[f.sn] != nil {
				return biz("费用明细 %s 已结算，不能冲正", f.sn)
			}
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
		s.feeAt[f.sn], _ = parseBeijing(times[f.sn])
	}
	return platform.InpatientFeeOutput{Result: result}, nil
}

// inpatientCancelFee is 2302: one unsettled line, or every unsettled line with
// feedetl_sn "0000" (nothing to cancel is a success). A settled line is refused: its
// settlement must be cancelled (2305) first. An upload whose lines are all cancelled is
// marked cancelled in the ledger.
func (p *Platform) inpatientCancelFee(req *platform.Request) (any, *bizError) {
	var in platform.InpatientCancelFeeInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	s, e := p.liveStay(d.MdtrtID, d.PsnNo)
	if e != nil {
		return nil, e
	}
	if f := s.final(); f != nil {
		return nil, biz("住院就诊 %s 已结算(setl_id %s)，请先撤销结算(2305)", s.v.id, f.id)
	}
	v := s.v
	var gone []*fee
	if d.FeedetlSn == platform.FeedetlSnAll {
		for _, sn := range v.order {
			if f := v.fees[sn]; !f.cancelled && s.settledBy[sn] == nil {
				gone = append(gone, f)
			}
		}
	} else {
		f, ok := v.fees[d.FeedetlSn]
		if !ok || f.cancelled {
			return nil, biz("费用明细不存在或已撤销: feedetl_sn %s", d.FeedetlSn)
		}
		if st := s.settledBy[d.FeedetlSn]; st != nil {
			return nil, biz("费用明细 %s 已结算(setl_id %s)，请先撤销结算(2305)", d.FeedetlSn, st.id)
		}
		gone = []*fee{f}
	}
	var total settle.Money
	for _, f := range gone {
		f.cancelled = true
		total += f.split.Amount
	}
	var marked []*booking
	for _, f := range gone {
		up := f.upload
		if !up.Live() {
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
	b := &booking{Entry: p.stayEntry(req, s)}
	b.MedfeeSumamt = -total
	if len(gone) > 0 {
		b.ChrgBchno, b.Target = gone[0].chrgBchno, gone[0].upload.Msgid
	}
	b.undo = func(st *state, by string) *bizError {
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
