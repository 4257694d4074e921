package sim

import (
	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// ipSettlement is one inpatient settlement (2304): final (出院结算) or mid-stay
// (中途结算), and the fee lines it covered.
type ipSettlement struct {
	id, msgid string
	s         *stay
	ps        *personState
	split     settle.Split
	mid       bool
	year      int
	fees      []string
	entry     *booking
}

// applyStay books the settlement's effect: account, fund used this year, the lines it
// covers. The inpatient deductible is per admission (stay.dedcUsed), not per year.
func (st *state) applyStay(x *ipSettlement) {
	x.ps.balance -= x.split.AcctPay
	st.usedFund[yearKey{x.ps.fx.PsnNo, x.year}] += x.split.FundPaySumamt
	for _, sn := range x.fees {
		x.s.settledBy[sn] = x
	}
}

// restoreStay undoes applyStay.
func (st *state) restoreStay(x *ipSettlement) {
	x.ps.balance += x.split.AcctPay
	st.usedFund[yearKey{x.ps.fx.PsnNo, x.year}] -= x.split.FundPaySumamt
	for _, sn := range x.fees {
		if x.s.settledBy[sn] == x {
			delete(x.s.settledBy, sn)
		}
	}
}

// latest reports whether x is the newest settlement of its stay that stands: only it
// may be cancelled or reversed (an older one carries the deductible the newer relied on).
func (x *ipSettlement) latest() bool {
	live := x.s.liveSetls()
	return len(live) > 0 && live[len(live)-1] == x
}

// newerLive reports whether a settlement booked after x on its stay stands.
func (x *ipSettlement) newerLive() bool {
	after := false
	for _, o := range x.s.setls {
		if o == x {
			after = true
		} else if after && o.entry.Live() {
			return true
		}
	}
	return false
}

// ipCalc is a computed, not yet booked inpatient settlement.
type ipCalc struct {
	ps    *personState
	s     *stay
	split settle.Split
	year  int
	mid   bool
	fees  []string
}

// inpatientDeductible is the insured place's deductible per admission for insutype:
// inpatient_deductible when the policy sets it, else its deductible.
func inpatientDeductible(pol *Policy, insutype string) settle.Money {
	if d, ok := pol.InpatientDeductible[insutype]; ok {
		return d
	}
	return pol.Deductible[insutype]
}

// calculateInpatient runs every check of 2303/2304 and the arithmetic of computeSplit
// with the inpatient ratio of the insured place, its deductible per admission and the
// annual cap the person's fund use this year leaves.
func (p *Platform) calculateInpatient(d platform.InpatientPreSettleData) (*ipCalc, *bizError) {
	ps, e := p.person(d.PsnNo)
	if e != nil {
		return nil, e
	}
	fp := ps.fx
	s, e := p.liveStay(d.MdtrtID, d.PsnNo)
	if e != nil {
		return nil, e
	}
	if f := s.final(); f != nil {
		return nil, biz("住院就诊 %s 已结算(setl_id %s)，不能重复结算", s.v.id, f.id)
	}
	insutype := d.Insutype
	if insutype == "" {
		insutype = s.v.insutype
	}
	if insutype != s.v.insutype {
		return nil, biz("险种类型 %s 与住院就诊的险种 %s 不符", insutype, s.v.insutype)
	}
	if d.MdtrtCertType != "" || d.MdtrtCertNo != "" {
		holder, e := p.findPerson(platform.PersonQuery{MdtrtCertType: d.MdtrtCertType, MdtrtCertNo: d.MdtrtCertNo})
		if e != nil {
			return nil, e
		}
		if holder.PsnNo != fp.PsnNo {
			return nil, biz("就诊凭证 %s 不属于人员 %s", d.MdtrtCertType, fp.PsnNo)
		}
	}
	var mid bool
	switch d.MidSetlFlag {
	case platform.MidSetlFinal:
		if !s.discharged {
			return nil, biz("住院就诊 %s 未办理出院(2402)，不能出院结算；在院期间结算请传中途结算标志 mid_setl_flag=1", s.v.id)
		}
	case platform.MidSetlMid:
		if s.discharged {
			return nil, biz("住院就诊 %s 已办理出院，请办理出院结算(mid_setl_flag=0)", s.v.id)
		}
		mid = true
	default:
		return nil, biz("中途结算标志 mid_setl_flag %q 须为 0 或 1", d.MidSetlFlag)
	}
	switch d.PsnSetlway {
	case platform.SetlwayByItem, platform.SetlwayByQuota:
	default:
		return nil, biz("个人结算方式 psn_setlway %q 须为 01 或 02", d.PsnSetlway)
	}
	switch d.AcctUsedFlag {
	case platform.AcctUsed, platform.AcctNotUsed:
	default:
		return nil, biz("个人账户使用标志 acct_used_flag %q 须为 0 或 1", d.AcctUsedFlag)
	}
	var medfee, fulamt, overlmt, preself settle.Money
	var lines []string
	for _, sn := range s.v.order {
		f := s.v.fees[sn]
		if f.cancelled || s.settledBy[sn] != nil {
			continue
		}
		lines = append(lines, sn)
		medfee += f.split.Amount
		fulamt += f.split.Fulamt
		overlmt += f.split.Overlmt
		preself += f.split.Preself
	}
	if len(lines) == 0 {
		return nil, biz("住院就诊 %s 没有待结算的费用明细，请先上传(2301)", s.v.id)
	}
	if d.MedfeeSumamt.Money() != medfee {
		return nil, biz("结算总金额 medfee_sumamt %s 与未结算的住院费用明细合计 %s 不符", d.MedfeeSumamt, medfee)
	}
	pol := p.policies[fp.InsuplcAdmdvs]
	if p.crossRegion(fp) && !fp.Filed {
		return nil, biz("参保人未备案: 异地就医住院需先在参保地(%s)办理备案", fp.InsuplcAdmdvs)
	}
	ratio := pol.Ratios[insutype][settle.MedTypeInpatient]
	year := p.now().In(beijing).Year()
	sp := computeSplit(splitInput{
		Medfee: medfee, Fulamt: fulamt, Overlmt: overlmt, Preself: preself,
		DedcLeft:   inpatientDeductible(pol, insutype) - s.dedcUsed(),
		CapLeft:    pol.AnnualCap[insutype] - p.st.usedFund[yearKey{fp.PsnNo, year}],
		Ratio:      ratio.Decimal,
		Balance:    ps.balance,
		HasAccount: insutype == settle.InsutypeEmployee,
		UseAccount: d.AcctUsedFlag == platform.AcctUsed,
	})
	sp.MdtrtID, sp.PsnNo, sp.Insutype, sp.InsuplcAdmdvs = s.v.id, fp.PsnNo, insutype, fp.InsuplcAdmdvs
	sp.ClrOptins, sp.ClrWay, sp.ClrType = fp.InsuplcAdmdvs, "1", platform.ClrTypeInpatient
	return &ipCalc{ps: ps, s: s, split: sp, year: year, mid: mid, fees: lines}, nil
}

func (p *Platform) inpatientSettleOutput(c *ipCalc) platform.InpatientSettleOutput {
	info := platform.SetlinfoOf(c.split)
	info.MedType = settle.MedTypeInpatient
	info.SetlTime = p.nowText()
	name, fundType := "职工基本医疗保险统筹基金", "310100"
	if c.split.Insutype == settle.InsutypeResident {
		name, fundType = "城乡居民基本医疗保险基金", "390100"
	}
	kind := "出院结算"
	if c.mid {
		kind = "中途结算"
	}
	return platform.InpatientSettleOutput{
		Setlinfo: info,
		Setldetail: []platform.SetlDetail{{
			FundPayType: fundType, InscpScpAmt: platform.AmountOf(c.split.InscpScpAmt),
			CrtPaybLmtAmt: platform.AmountOf(c.split.ActPayDedc), FundPayamt: platform.AmountOf(c.split.HifpPay),
			FundPayTypeName: name,
			SetlProcInfo:    kind + "，本次住院起付线 " + c.split.ActPayDedc.String() + "，支付比例 " + c.split.PoolPropSelfpay,
		}},
	}
}

// inpatientPreSettle is 2303: the split of the unsettled fees; nothing is booked.
func (p *Platform) inpatientPreSettle(req *platform.Request) (any, *bizError) {
	var in platform.InpatientPreSettleInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	c, e := p.calculateInpatient(in.Data)
	if e != nil {
		return nil, e
	}
	return p.inpatientSettleOutput(c), nil
}

// inpatientSettle is 2304: 2303's checks, the four scope amounts must be the
// pre-settlement's, and the settlement is booked (clr_type 21). A final one closes the
// stay; a second live final settlement is refused as already settled.
func (p *Platform) inpatientSettle(req *platform.Request) (any, *bizError) {
	var in platform.InpatientSettleInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	c, e := p.calculateInpatient(d.InpatientPreSettleData)
	if e != nil {
		return nil, e
	}
	sp := c.split
	if d.FulamtOwnpayAmt.Money() != sp.FulamtOwnpayAmt || d.OverlmtSelfpay.Money() != sp.OverlmtSelfpay ||
		d.PreselfpayAmt.Money() != sp.PreselfpayAmt || d.InscpScpAmt.Money() != sp.InscpScpAmt {
		return nil, biz("结算入参 fulamt_ownpay_amt/overlmt_selfpay/preselfpay_amt/inscp_scp_amt (%s/%s/%s/%s) 与预结算结果 (%s/%s/%s/%s) 不符，请重新预结算(2303)",
			d.FulamtOwnpayAmt, d.OverlmtSelfpay, d.PreselfpayAmt, d.InscpScpAmt,
			sp.FulamtOwnpayAmt, sp.OverlmtSelfpay, sp.PreselfpayAmt, sp.InscpScpAmt)
	}
	x := &ipSettlement{id: p.nextID("ZS"), msgid: req.Msgid, s: c.s, ps: c.ps, mid: c.mid, year: c.year, fees: c.fees}
	c.split.SetlID, c.split.MedinsSetlID = x.id, req.Msgid
	x.split = c.split
	p.st.applyStay(x)
	b := &booking{Entry: p.stayEntry(req, c.s)}
	b.SetlID, b.ClrType, b.MidSetl = x.id, platform.ClrTypeInpatient, c.mid
	b.MedfeeSumamt, b.FundPaySumamt, b.AcctPay, b.PsnCashPay = x.split.MedfeeSumamt, x.split.FundPaySumamt, x.split.AcctPay, x.split.PsnCashPay
	b.undo = func(st *state, by string) *bizError {
		if !x.latest() {
			return biz("住院就诊 %s 已有后续结算，不能冲正结算 %s", x.s.v.id, x.id)
		}
		st.restoreStay(x)
		return nil
	}
	x.entry = p.st.book(b)
	c.s.setls = append(c.s.setls, x)
	p.st.ipSetls[x.id] = x
	return p.inpatientSettleOutput(c), nil
}

// inpatientCancelSettle is 2305: the newest live settlement of a stay is undone
// (account and fund use restored, its lines unsettled), answered as a settlement with
// negated amounts. The stay is back to discharged (or in hospital after a mid-stay one).
func (p *Platform) inpatientCancelSettle(req *platform.Request) (any, *bizError) {
	var in platform.InpatientCancelSettleInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	x, ok := p.st.ipSetls[d.SetlID]
	if !ok || !x.entry.Live() {
		return nil, biz("住院结算信息不存在或已撤销: setl_id %s", d.SetlID)
	}
	if d.MdtrtID != "" && d.MdtrtID != x.s.v.id || d.PsnNo != "" && d.PsnNo != x.ps.fx.PsnNo {
		return nil, biz("住院结算 %s 的就诊或人员与撤销请求不符", d.SetlID)
	}
	if !x.latest() {
		return nil, biz("住院就诊 %s 已有后续结算，请先撤销后一次结算", x.s.v.id)
	}
	p.st.restoreStay(x)
	orig := x.entry
	orig.Cancelled, orig.CancelledBy = true, req.Msgid
	neg := negate(x.split)
	neg.SetlID, neg.MedinsSetlID, neg.Balc = p.nextID("ZS"), req.Msgid, x.ps.balance
	b := &booking{Entry: p.stayEntry(req, x.s)}
	b.SetlID, b.ClrType, b.MidSetl, b.Target = x.id, platform.ClrTypeInpatient, x.mid, orig.Msgid
	b.MedfeeSumamt, b.FundPaySumamt, b.AcctPay, b.PsnCashPay = -orig.MedfeeSumamt, -orig.FundPaySumamt, -orig.AcctPay, -orig.PsnCashPay
	b.undo = func(st *state, by string) *bizError {
		if x.s.v.cancelled || x.newerLive() || !x.mid && (!x.s.discharged || x.s.final() != nil) {
			return biz("住院就诊 %s 已另行结算、撤销出院或撤销，不能冲正结算撤销", x.s.v.id)
		}
		for _, sn := range x.fees {
			if f := x.s.v.fees[sn]; f == nil || f.cancelled || x.s.settledBy[sn] != nil {
				return biz("费用明细 %s 已撤销或另行结算，不能冲正结算撤销", sn)
			}
		}
		st.applyStay(x)
		orig.Cancelled, orig.CancelledBy = false, ""
		return nil
	}
	p.st.book(b)
	info := platform.SetlinfoOf(neg)
	info.MedType = settle.MedTypeInpatient
	info.SetlTime = p.nowText()
	return platform.InpatientCancelSettleOutput{Setlinfo: info}, nil
}
