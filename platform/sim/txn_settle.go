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
		return nil, biz("就诊 %s 已结算(setl_id %s)，不能重复结算", v.id, v.setlID)
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
	var in platform.SettleInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	c, e := p.calculate(in.Data)
	if e != nil {
		return nil, e
	}
	st := &settlement{id: p.nextID("ST"), msgid: req.Msgid, v: c.v, ps: c.ps, year: c.year}
	c.split.SetlID, c.split.MedinsSetlID = st.id, req.Msgid
	st.split = c.split
	p.st.apply(st)
	p.st.setls[st.id] = st
	b := &booking{Entry: p.entry(req, c.ps.fx.PsnNo, c.v.id)}
	b.Insutype, b.MedType, b.SetlID, b.ChrgBchno = c.split.Insutype, c.med, st.id, c.chrg
	b.MedfeeSumamt, b.FundPaySumamt, b.AcctPay, b.PsnCashPay = c.split.MedfeeSumamt, c.split.FundPaySumamt, c.split.AcctPay, c.split.PsnCashPay
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
		&s.MafPay, &s.OthPay, &s.FundPaySumamt, &s.PsnPartAmt, &s.AcctPay, &s.PsnCashPay, &s.AcctMulaidPay} {
		*m = -*m
	}
	return s
}

// reversal is 2601: every booking of omsgid that still stands is undone; a message that
// was never booked (or is already undone) is a success with nothing to do.
func (p *Platform) reversal(req *platform.Request) (any, *bizError) {
	var in platform.ReversalInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	if d.Omsgid == "" {
		return nil, biz("冲正须填写原交易报文ID omsgid")
	}
	bs := p.st.byMsgid[d.Omsgid]
	for _, b := range bs {
		if d.Oinfno != "" && b.Infno != d.Oinfno {
			return nil, biz("原交易 %s 的交易编号是 %s，不是 %s", d.Omsgid, b.Infno, d.Oinfno)
		}
		if d.PsnNo != "" && b.PsnNo != "" && d.PsnNo != b.PsnNo {
			return nil, biz("原交易 %s 的人员编号与冲正请求不符", d.Omsgid)
		}
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
		p.st.book(r)
	}
	return struct{}{}, nil
}
