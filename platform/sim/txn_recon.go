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

// dayOf cuts a bound to its date (yyyy-MM-dd).
func dayOf(bound string) string {
	if len(bound) > 10 {
		return bound[:10]
	}
	return bound
}

// settlementsFor lists the 2207 bookings of the hospital in the period that were not
// reversed (a reversed settlement never happened); cancelled ones are included.
func (p *Platform) settlementsFor(fixmedins, beg, end string) []*booking {
	var out []*booking
	for _, b := range p.st.settlementsIn(dayOf(beg), dayOf(end)) {
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
	info := platform.Stmtinfo{SetlOptins: d.SetlOptins, StmtRslt: platform.StmtBalanced}
	switch {
	case medfee == d.MedfeeSumamt.Money() && fund == d.FundPaySumamt.Money() && acct == d.AcctPay.Money() && n == d.FixmedinsSetlCnt:
		info.StmtRsltDscr = sprintf("对平: %d 笔, 医疗费总额 %s, 基金支付 %s, 个人账户 %s", n, medfee, fund, acct)
		return platform.TotalReconOutput{Stmtinfo: info}, nil
	case n > d.FixmedinsSetlCnt || n == d.FixmedinsSetlCnt && medfee > d.MedfeeSumamt.Money():
		info.StmtRslt = platform.StmtPlatformMore
	case n < d.FixmedinsSetlCnt || n == d.FixmedinsSetlCnt && medfee < d.MedfeeSumamt.Money():
		info.StmtRslt = platform.StmtHospitalMore
	default:
		info.StmtRslt = platform.StmtDataDiffer
	}
	info.StmtRsltDscr = sprintf("%s: 平台 %d 笔, 医疗费总额 %s, 基金支付 %s, 个人账户 %s; 机构 %d 笔, %s, %s, %s",
		platform.StmtRsltName(info.StmtRslt), n, medfee, fund, acct, d.FixmedinsSetlCnt, d.MedfeeSumamt, d.FundPaySumamt, d.AcctPay)
	return platform.TotalReconOutput{Stmtinfo: info}, nil
}

// detailReconInput is either form of 3202's input: the real one names an uploaded file
// (file_qury_no); the old inline one lists the rows (detail).
type detailReconInput struct {
	Data struct {
		platform.DetailReconFileData
		Detail []platform.ReconDetail `json:"detail"`
	} `json:"data"`
}

// detailRecon is 3202. With file_qury_no (the real form) it reads the hospital's file
// from the file store and answers a result file (detailReconFile); otherwise it takes
// the old inline list.
func (p *Platform) detailRecon(req *platform.Request) (any, *bizError) {
	var both detailReconInput
	if e := decodeInput(req, &both); e != nil {
		return nil, e
	}
	if both.Data.FileQuryNo != "" || p.strictRecon() {
		return p.detailReconFile(req, both.Data.DetailReconFileData)
	}
	var in platform.DetailReconInput
	if e := decodeInput(req, &in); e != nil {
		return nil, e
	}
	return p.detailReconInline(req, in.Data)
}

// detailReconFile is the real 3202: the uploaded zip's rows against the platform's
// settlements in the period, matched by setl_id. The result zip lists one line per
// settlement that differs: stmt_rslt 1 (中心多: only the platform holds it, with the
// platform's msgid), 2 (医药机构多: only the hospital lists it), 3 (数据不一致: amounts or
// the refund flag differ).
func (p *Platform) detailReconFile(req *platform.Request, d platform.DetailReconFileData) (any, *bizError) {
	if d.FileQuryNo == "" {
		return nil, biz("明细对账须先上传对账文件(9101)并填写文件查询号 file_qury_no").as(RuleReconInline)
	}
	_, data, ok := p.loadFile(d.FileQuryNo)
	if !ok {
		return nil, biz("对账文件不存在或已过期: file_qury_no %s", d.FileQuryNo)
	}
	rows, err := platform.ParseReconFile(data)
	if err != nil {
		return nil, biz("对账文件格式错误: %v", err)
	}
	if d.FixmedinsSetlCnt != len(rows) {
		return nil, biz("对账笔数 fixmedins_setl_cnt %d 与文件明细 %d 笔不符", d.FixmedinsSetlCnt, len(rows))
	}
	ours := p.settlementsFor(req.FixmedinsCode, d.StmtBegndate, d.StmtEnddate)
	bySetl := make(map[string]*booking, len(ours))
	for _, b := range ours {
		bySetl[b.SetlID] = b
	}
	matched := make(map[*booking]bool, len(ours))
	var result []platform.ReconResultRow
	for _, r := range rows {
		b := bySetl[r.SetlID]
		if b == nil || matched[b] {
			result = append(result, platform.ReconResultRow{
				PsnNo: r.PsnNo, MdtrtID: r.MdtrtID, SetlID: r.SetlID, StmtRslt: platform.StmtHospitalMore, RefdSetlFlag: r.RefdSetlFlag,
				Memo: "中心无此结算(或已冲正)", MedfeeSumamt: r.MedfeeSumamt, FundPaySumamt: r.FundPaySumamt, AcctPay: r.AcctPay,
			})
			continue
		}
		matched[b] = true
		flag := refdFlag(b)
		row := platform.ReconResultRow{
			PsnNo: b.PsnNo, MdtrtID: b.MdtrtID, SetlID: b.SetlID, Msgid: b.Msgid, StmtRslt: platform.StmtDataDiffer, RefdSetlFlag: flag,
			MedfeeSumamt: platform.AmountOf(b.MedfeeSumamt), FundPaySumamt: platform.AmountOf(b.FundPaySumamt), AcctPay: platform.AmountOf(b.AcctPay),
		}
		hospFlag := r.RefdSetlFlag
		if hospFlag == "" {
			hospFlag = "0"
		}
		switch {
		case r.MedfeeSumamt.Money() != b.MedfeeSumamt || r.FundPaySumamt.Money() != b.FundPaySumamt || r.AcctPay.Money() != b.AcctPay:
			row.Memo = sprintf("金额不符: 中心 %s/%s/%s, 机构 %s/%s/%s", b.MedfeeSumamt, b.FundPaySumamt, b.AcctPay, r.MedfeeSumamt, r.FundPaySumamt, r.AcctPay)
		case hospFlag != flag:
			row.Memo = sprintf("退费标志不符: 中心 %s, 机构 %s", flag, hospFlag)
		default:
			continue
		}
		result = append(result, row)
	}
	for _, b := range ours {
		if matched[b] {
			continue
		}
		result = append(result, platform.ReconResultRow{
			PsnNo: b.PsnNo, MdtrtID: b.MdtrtID, SetlID: b.SetlID, Msgid: b.Msgid, StmtRslt: platform.StmtPlatformMore, RefdSetlFlag: refdFlag(b),
			Memo: "医药机构无此结算", MedfeeSumamt: platform.AmountOf(b.MedfeeSumamt), FundPaySumamt: platform.AmountOf(b.FundPaySumamt), AcctPay: platform.AmountOf(b.AcctPay),
		})
	}
	name := sprintf("%s_%s_result", req.FixmedinsCode, p.now().In(beijing).Format("20060102150405"))
	zipped, err := platform.BuildReconResult(name+".txt", result, p.opts.ReconResultColumns)
	if err != nil {
		return nil, biz("生成对账结果文件失败: %v", err)
	}
	no := p.storeFile(name+".zip", zipped)
	return platform.DetailReconFileOutput{Fileinfo: p.fileInfo(no, name+".zip")}, nil
}

func refdFlag(b *booking) string {
	if b.Cancelled {
		return "1"
	}
	return "0"
}

// detailReconInline is the old 3202 with the list in the message; the strict
// simulator refuses it.
func (p *Platform) detailReconInline(req *platform.Request, d platform.DetailReconData) (any, *bizError) {
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

// strictRecon reports whether the old inline 3202 is refused: always, as the real
// platform takes 3202 only through files.
func (p *Platform) strictRecon() bool { return true }
