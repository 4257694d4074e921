package sim

import (
	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// inPeriod reports whether the booking's Beijing date is within [beg, end]
// (yyyy-MM-dd; a longer value is cut to its date; an empty bound is open).
func (p *Platform) inPeriod(b *booking, beg, end string) bool {
	day := b.Time.In(beijing).Format("2006-01-02")
	if len(beg) > 10 {
		beg = beg[:10]
	}
	if len(end) > 10 {
		end = end[:10]
	}
	return (beg == "" || day >= beg) && (end == "" || day <= end)
}

// settlementsFor lists the 2207 bookings of the hospital in the period that were not
// reversed (a reversed settlement never happened); cancelled ones are included.
func (p *Platform) settlementsFor(fixmedins, beg, end string) []*booking {
	var out []*booking
	for _, b := range p.st.ledger {
		if !isSettlement(b) || b.Reversed || !p.inPeriod(b, beg, end) {
			continue
		}
		if fixmedins != "" && b.Fixmedins != "" && b.Fixmedins != fixmedins {
			continue
		}
		out = append(out, b)
	}
	return out
}

// totalRecon is 3201: the hospital's totals against the settlements that stand
// (neither reversed nor cancelled) in the period, for the insutype when given.
func (p *Platform) totalRecon(req *platform.Request) (any, *bizError) {
	var in platform.TotalReconInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	var medfee, fund, acct settle.Money
	n := 0
	for _, b := range p.settlementsFor(req.FixmedinsCode, d.StmtBegndate, d.StmtEnddate) {
		if b.Cancelled || d.Insutype != "" && b.Insutype != d.Insutype || d.ClrType != "" && clrTypeOf(b) != d.ClrType {
			continue
		}
		n++
		medfee += b.MedfeeSumamt
		fund += b.FundPaySumamt
		acct += b.AcctPay
	}
	info := platform.Stmtinfo{SetlOptins: d.SetlOptins, StmtRslt: platform.StmtMatch}
	if medfee == d.MedfeeSumamt.Money() && fund == d.FundPaySumamt.Money() && acct == d.AcctPay.Money() && n == d.FixmedinsSetlCnt {
		info.StmtRsltDscr = sprintf("对账平: %d 笔, 医疗费总额 %s, 基金支付 %s, 个人账户 %s", n, medfee, fund, acct)
	} else {
		info.StmtRslt = platform.StmtMismatch
		info.StmtRsltDscr = sprintf("对账不平: 平台 %d 笔, 医疗费总额 %s, 基金支付 %s, 个人账户 %s; 机构 %d 笔, %s, %s, %s",
			n, medfee, fund, acct, d.FixmedinsSetlCnt, d.MedfeeSumamt, d.FundPaySumamt, d.AcctPay)
	}
	return platform.TotalReconOutput{Stmtinfo: info}, nil
}

// detailRecon is 3202: the hospital's list against the platform's settlements in the
// period, matched by setl_id (else msgid); only the rows that differ are answered.
func (p *Platform) detailRecon(req *platform.Request) (any, *bizError) {
	var in platform.DetailReconInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	d := in.Data
	ours := p.settlementsFor(req.FixmedinsCode, d.StmtBegndate, d.StmtEnddate)
	bySetl := make(map[string]*booking, len(ours))
	byMsg := make(map[string]*booking, len(ours))
	for _, b := range ours {
		bySetl[b.SetlID] = b
		byMsg[b.Msgid] = b
	}
	matched := make(map[*booking]bool, len(ours))
	out := platform.DetailReconOutput{Detail: []platform.ReconDiff{}}
	for _, row := range d.Detail {
		b := bySetl[row.SetlID]
		if b == nil || row.SetlID == "" {
			b = byMsg[row.Msgid]
		}
		if b == nil || matched[b] {
			out.Detail = append(out.Detail, platform.ReconDiff{
				SetlID: row.SetlID, Msgid: row.Msgid, Diff: platform.DiffMissingAtPlatform,
				Dscr: "平台无此结算(或已冲正)",
			})
			continue
		}
		matched[b] = true
		diff := platform.ReconDiff{
			SetlID: b.SetlID, Msgid: b.Msgid,
			MedfeeSumamt: platform.AmountOf(b.MedfeeSumamt), FundPaySumamt: platform.AmountOf(b.FundPaySumamt), AcctPay: platform.AmountOf(b.AcctPay),
		}
		refunded := "0"
		if b.Cancelled {
			refunded = "1"
		}
		switch {
		case row.MedfeeSumamt.Money() != b.MedfeeSumamt || row.FundPaySumamt.Money() != b.FundPaySumamt || row.AcctPay.Money() != b.AcctPay:
			diff.Diff = platform.DiffAmountDiffers
			diff.Dscr = sprintf("金额不符: 平台 %s/%s/%s, 机构 %s/%s/%s", b.MedfeeSumamt, b.FundPaySumamt, b.AcctPay, row.MedfeeSumamt, row.FundPaySumamt, row.AcctPay)
		case (row.RefdSetlFlag == "1") != (refunded == "1"):
			diff.Diff = platform.DiffRefundDiffers
			diff.Dscr = sprintf("撤销状态不符: 平台 refd_setl_flag %s, 机构 %s", refunded, row.RefdSetlFlag)
		default:
			continue
		}
		out.Detail = append(out.Detail, diff)
	}
	for _, b := range ours {
		if matched[b] {
			continue
		}
		dscr := "机构无此结算"
		if b.Cancelled {
			dscr = "机构无此结算(平台已撤销)"
		}
		out.Detail = append(out.Detail, platform.ReconDiff{
			SetlID: b.SetlID, Msgid: b.Msgid, Diff: platform.DiffMissingAtAgent,
			MedfeeSumamt: platform.AmountOf(b.MedfeeSumamt), FundPaySumamt: platform.AmountOf(b.FundPaySumamt), AcctPay: platform.AmountOf(b.AcctPay),
			Dscr: dscr,
		})
	}
	return out, nil
}
