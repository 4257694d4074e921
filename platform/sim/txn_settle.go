package sim

import (
	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// settlement is one 2207 booking's effect on the person's year.
type settlement struct {
	id, msgid string
	v         *visit
	ps        *personState
	split     settle.Split
	year      int
	entry     *booking
}

// apply books the settlement's effect: account, deductible and fund used this year.
func (s *state) apply(st *settlement) {
	st.ps.balance -= st.split.AcctPay
	k := yearKey{st.ps.fx.PsnNo, st.year}
	s.usedDedc[k] += st.split.ActPayDedc
	s.usedFund[k] += st.split.FundPaySumamt
	st.v.setlID = st.id
}

// restore undoes apply.
func (s *state) restore(st *settlement) {
	st.ps.balance += st.split.AcctPay
	k := yearKey{st.ps.fx.PsnNo, st.year}
	s.usedDedc[k] -= st.split.ActPayDedc
	s.usedFund[k] -= st.split.FundPaySumamt
	if st.v.setlID == st.id {
		st.v.setlID = ""
	}
}

// calc is a computed, not yet booked settlement.
type calc struct {
	ps    *personState
	v     *visit
	split settle.Split
	year  int
	chrg  string
	med   string
}

// calculate runs every check of 2206/2207 and the arithmetic of computeSplit.
func (p *Platform) calculate(d platform.SettleData) (*calc, *bizError) {
	ps, e := p.person(d.PsnNo)
	if e != nil {
		return nil, e
	}
	fp := ps.fx
	v, e := p.liveVisit(d.MdtrtID, d.PsnNo)
	if e != nil {
		return nil, e
	}
	if v.setlID != "" {
		return nil, biz("%s(mdtrt_id %s, setl_id %s)，不能重复结算", msgAlreadySettled, v.id, v.setlID).as(RuleAlreadySettled)
	}
	insutype := d.Insutype
	if insutype == "" {
		insutype = fp.Insutype
	}
	if insutype != fp.Insutype {
		return nil, biz("险种类型 %s 与参保人险种 %s 不符", insutype, fp.Insutype)
	}
	switch d.MedType {
	case "11", "21":
	case "14":
		if v.chronicDise == "" {
			return nil, biz("门诊慢特病(14)结算前须上传就诊信息(2203)，且诊断为参保人有资格的病种")
		}
	default:
		return nil, biz("医疗类别 med_type %q 不支持 (11, 14, 21)", d.MedType)
	}
	var medfee, fulamt, overlmt, preself settle.Money
	n := 0
	for _, sn := range v.order {
		f := v.fees[sn]
		if f.cancelled || d.ChrgBchno != "" && f.chrgBchno != "" && f.chrgBchno != d.ChrgBchno {
			continue
		}
		n++
		medfee += f.split.Amount
		fulamt += f.split.Fulamt
		overlmt += f.split.Overlmt
		preself += f.split.Preself
	}
	if n == 0 {
		return nil, biz("就诊 %s 没有待结算的费用明细，请先上传(2204)", v.id)
	}
	if d.MedfeeSumamt.Money() != medfee {
		return nil, biz("结算总金额 medfee_sumamt %s 与已上传费用明细合计 %s 不符", d.MedfeeSumamt, medfee)
	}
	pol := p.policies[fp.InsuplcAdmdvs]
	ratio := pol.Ratios[insutype][d.MedType]
	if p.crossRegion(fp) && !fp.Filed {
		if pol.UnfiledRule == UnfiledRefuse {
			return nil, biz("参保人未备案: 异地就医需先在参保地(%s)办理备案", fp.InsuplcAdmdvs)
		}
		if pol.UnfiledRatio.LessThan(ratio.Decimal) {
			ratio = pol.UnfiledRatio
		}
	}
	year := p.now().In(beijing).Year()
	k := yearKey{fp.PsnNo, year}
	sp := computeSplit(splitInput{
		Medfee: medfee, Fulamt: fulamt, Overlmt: overlmt, Preself: preself,
		DedcLeft:   pol.Deductible[insutype] - p.st.usedDedc[k],
		CapLeft:    pol.AnnualCap[insutype] - p.st.usedFund[k],
		Ratio:      ratio.Decimal,
		Balance:    ps.balance,
		HasAccount: insutype == settle.InsutypeEmployee,
		UseAccount: d.AcctUsedFlag == platform.AcctUsed,
	})
	if h, _ := p.faults.hospPart(); h > 0 {
		// The hospital bears part of what the fund would pay (hosp_part_amt).
		h = min(h, sp.HifpPay)
		sp.HifpPay -= h
		sp.FundPaySumamt -= h
		sp.HospPartAmt = h
	}
	sp.MdtrtID, sp.PsnNo, sp.Insutype, sp.InsuplcAdmdvs = v.id, fp.PsnNo, insutype, fp.InsuplcAdmdvs
	sp.ClrOptins, sp.ClrWay, sp.ClrType = fp.InsuplcAdmdvs, "1", "11"
	return &calc{ps: ps, v: v, split: sp, year: year, chrg: d.ChrgBchno, med: d.MedType}, nil
}

func (p *Platform) settleOutput(c *calc) platform.SettleOutput {
	info := platform.SetlinfoOf(c.split)
	info.MedType = c.med
	info.SetlTime = p.nowText()
	name := "职工基本医疗保险统筹基金"
	fundType := "310100"
	if c.split.Insutype == settle.InsutypeResident {
		name, fundType = "城乡居民基本医疗保险基金", "390100"
	}
	return platform.SettleOutput{
		Setlinfo: info,
		Setldetail: []platform.SetlDetail{{
			FundPayType: fundType, InscpScpAmt: platform.AmountOf(c.split.InscpScpAmt),
			CrtPaybLmtAmt: platform.AmountOf(c.split.ActPayDedc), FundPayamt: platform.AmountOf(c.split.HifpPay),
			FundPayTypeName: name, SetlProcInfo: "起付线 " + c.split.ActPayDedc.String() + "，支付比例 " + c.split.PoolPropSelfpay,
		}},
	}
}

func (p *Platform) preSettle(req *platform.Request) (any, *bizError) {
	var in platform.SettleInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	c, e := p.calculate(in.Data)
	if e != nil {
		return nil, e
	}
	return p.settleOutput(c), nil
}

func (p *Platform) settleTxn(req *platform.Request) (any, *bizError) {
	var in platform.SettleConfirmInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	c, e := p.calculate(in.Data.SettleData)
	if e != nil {
		return nil, e
	}
	if e := requireFields(req, "data", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt"); e != nil {
		return nil, e
	}
	d := in.Data
	if d.FulamtOwnpayAmt.Money() != c.split.FulamtOwnpayAmt || d.OverlmtSelfpay.Money() != c.split.OverlmtSelfpay ||
		d.PreselfpayAmt.Money() != c.split.PreselfpayAmt || d.InscpScpAmt.Money() != c.split.InscpScpAmt {
		return nil, biz("结算入参 fulamt_ownpay_amt/overlmt_selfpay/preselfpay_amt/inscp_scp_amt (%s/%s/%s/%s) 与预结算结果 (%s/%s/%s/%s) 不符，请重新预结算(2206)",
			d.FulamtOwnpayAmt, d.OverlmtSelfpay, d.PreselfpayAmt, d.InscpScpAmt,
			c.split.FulamtOwnpayAmt, c.split.OverlmtSelfpay, c.split.PreselfpayAmt, c.split.InscpScpAmt).as(RuleSettleStale)
	}
	st := &settlement{id: p.nextID("ST"), msgid: req.Msgid, v: c.v, ps: c.ps, year: c.year}
	c.split.SetlID, c.split.MedinsSetlID = st.id, req.Msgid
	st.split = c.split
	p.st.apply(st)
	p.st.setls[st.id] = st
	b := &booking{Entry: p.entry(req, c.ps.fx.PsnNo, c.v.id)}
	b.Insutype, b.MedType, b.SetlID, b.ChrgBchno = c.split.Insutype, c.med, st.id, c.chrg
	b.MedfeeSumamt, b.FundPaySumamt, b.AcctPay, b.PsnCashPay = c.split.MedfeeSumamt, c.split.FundPaySumamt, c.split.AcctPay, c.split.PsnCashPay
	b.HospPartAmt = c.split.HospPartAmt
	b.undo = func(s *state, by string) *bizError {
		s.restore(st)
		return nil
	}
	st.entry = p.st.book(b)
	return p.settleOutput(c), nil
}

// cancelSettle is 2208: the settlement is undone (account, deductible and fund used
// restored) and answered as a settlement with negated amounts.
func (p *Platform) cancelSettle(req *platform.Request) (any, *bizError) {
	var in platform.CancelSettleInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	st, ok := p.st.setls[d.SetlID]
	if !ok || !st.entry.Live() {
		return nil, biz("结算信息不存在或已撤销: setl_id %s", d.SetlID)
	}
	if d.MdtrtID != "" && d.MdtrtID != st.v.id || d.PsnNo != "" && d.PsnNo != st.ps.fx.PsnNo {
		return nil, biz("结算 %s 的就诊或人员与撤销请求不符", d.SetlID)
	}
	p.st.restore(st)
	orig := st.entry
	orig.Cancelled, orig.CancelledBy = true, req.Msgid
	neg := negate(st.split)
	neg.SetlID, neg.MedinsSetlID, neg.Balc = p.nextID("ST"), req.Msgid, st.ps.balance
	b := &booking{Entry: p.entry(req, st.ps.fx.PsnNo, st.v.id)}
	b.Insutype, b.MedType, b.SetlID, b.ChrgBchno, b.Target = orig.Insutype, orig.MedType, st.id, orig.ChrgBchno, orig.Msgid
	b.MedfeeSumamt, b.FundPaySumamt, b.AcctPay, b.PsnCashPay = -orig.MedfeeSumamt, -orig.FundPaySumamt, -orig.AcctPay, -orig.PsnCashPay
	b.HospPartAmt = -orig.HospPartAmt
	b.undo = func(s *state, by string) *bizError {
		if st.v.cancelled || st.v.setlID != "" && st.v.setlID != st.id {
			return biz("就诊 %s 已另行结算或撤销，不能冲正结算撤销", st.v.id)
		}
		s.apply(st)
		orig.Cancelled, orig.CancelledBy = false, ""
		return nil
	}
	p.st.book(b)
	info := platform.SetlinfoOf(neg)
	info.SetlTime = p.nowText()
	return platform.CancelSettleOutput{Setlinfo: info}, nil
}

func negate(s settle.Split) settle.Split {
	for _, m := range []*settle.Money{&s.MedfeeSumamt, &s.FulamtOwnpayAmt, &s.OverlmtSelfpay, &s.PreselfpayAmt,
		&s.InscpScpAmt, &s.ActPayDedc, &s.HifpPay, &s.CvlservPay, &s.HifesPay, &s.HifmiPay, &s.HifobPay,
		&s.MafPay, &s.OthPay, &s.FundPaySumamt, &s.PsnPartAmt, &s.AcctPay, &s.PsnCashPay, &s.AcctMulaidPay, &s.HospPartAmt} {
		*m = -*m
	}
	return s
}

// reversal is 2601, as strict as the real one: only a reversible transaction
// (platform.IsReversible) may be named, with its oinfno; a msgid the platform never
// booked, or whose booking no longer stands, is answered "原交易不存在"; otherwise every
// booking of omsgid that stands is undone.
func (p *Platform) reversal(req *platform.Request) (any, *bizError) {
	var in platform.ReversalInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	if d.Omsgid == "" {
		return nil, biz("冲正须填写原交易报文ID omsgid")
	}
	if d.Oinfno == "" {
		return nil, biz("冲正须填写原交易编号 oinfno").as(RuleReversalWithoutOinfno)
	}
	if d.PsnNo == "" {
		return nil, biz("冲正须填写人员编号 psn_no").as(RuleReversalWithoutPsnNo)
	}
	if !platform.IsReversible(d.Oinfno) {
		return nil, biz("交易 %s 不支持冲正(可冲正的交易: %s)", d.Oinfno, reversibleList()).as(RuleReversalOutOfScope)
	}
	bs := p.st.byMsgid[d.Omsgid]
	if len(bs) == 0 {
		return nil, biz("%s: omsgid %s", msgOriginalNotFound, d.Omsgid).as(RuleReversalNotFound)
	}
	live := 0
	for _, b := range bs {
		if b.Infno != d.Oinfno {
			return nil, biz("原交易 %s 的交易编号是 %s，不是 %s", d.Omsgid, b.Infno, d.Oinfno)
		}
		if d.PsnNo != "" && b.PsnNo != "" && d.PsnNo != b.PsnNo {
			return nil, biz("原交易 %s 的人员编号与冲正请求不符", d.Omsgid)
		}
		if b.Live() && b.undo != nil {
			live++
		}
	}
	if live == 0 {
		return nil, biz("%s(已冲正或已撤销): omsgid %s", msgOriginalNotFound, d.Omsgid).as(RuleReversalNotFound)
	}
	for _, b := range bs {
		if !b.Live() || b.undo == nil {
			continue
		}
		if e := b.undo(p.st, req.Msgid); e != nil {
			return nil, e
		}
		b.Reversed, b.ReversedBy = true, req.Msgid
		r := &booking{Entry: p.entry(req, b.PsnNo, b.MdtrtID)}
		r.Insutype, r.MedType, r.SetlID, r.ChrgBchno, r.Target = b.Insutype, b.MedType, b.SetlID, b.ChrgBchno, b.Msgid
		r.MedfeeSumamt, r.FundPaySumamt, r.AcctPay, r.PsnCashPay = -b.MedfeeSumamt, -b.FundPaySumamt, -b.AcctPay, -b.PsnCashPay
		r.HospPartAmt = -b.HospPartAmt
		p.st.book(r)
	}
	return struct{}{}, nil
}
