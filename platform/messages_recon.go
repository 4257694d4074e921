package platform

// Reconciliation results (stmt_rslt) of 3201, and of each row of a 3202 result file.
const (
	StmtBalanced     = "0" // 对平
	StmtPlatformMore = "1" // 中心多: the platform holds more than the hospital
	StmtHospitalMore = "2" // 医药机构多: the hospital holds more than the platform
	StmtDataDiffer   = "3" // 数据不一致: both hold it, the data differ

	// StmtMatch is StmtBalanced.
	StmtMatch = StmtBalanced
	// StmtMismatch is the old two-code "not balanced"; the real platform says which
	// side holds more (StmtPlatformMore, StmtHospitalMore) or StmtDataDiffer.
	//
	// Deprecated: compare with StmtBalanced, or use the four codes.
	StmtMismatch = StmtPlatformMore
)

// StmtRsltName is the Chinese name of a stmt_rslt code ("" for an unknown code).
func StmtRsltName(code string) string {
	switch code {
	case StmtBalanced:
		return "对平"
	case StmtPlatformMore:
		return "中心多"
	case StmtHospitalMore:
		return "医药机构多"
	case StmtDataDiffer:
		return "数据不一致"
	}
	return ""
}

// Kinds of difference (diff) a 3202 answer lists.
const (
	DiffMissingAtPlatform = "missing_at_platform" // the agent has it, the platform does not
	DiffMissingAtAgent    = "missing_at_agent"    // the platform booked it, the agent did not list it
	DiffAmountDiffers     = "amount_differs"      // both have it, an amount differs
	DiffRefundDiffers     = "refund_differs"      // one side has it cancelled, the other not
)

// TotalReconInput is the input of 3201 对总账.
type TotalReconInput struct {
	Data TotalReconData `json:"data"`
}

// TotalReconData is the agent's totals for a period.
type TotalReconData struct {
	Insutype         string `json:"insutype"`
	ClrType          string `json:"clr_type"`
	SetlOptins       string `json:"setl_optins"`
	StmtBegndate     string `json:"stmt_begndate"`
	StmtEnddate      string `json:"stmt_enddate"`
	MedfeeSumamt     Amount `json:"medfee_sumamt"`
	FundPaySumamt    Amount `json:"fund_pay_sumamt"`
	AcctPay          Amount `json:"acct_pay"`
	FixmedinsSetlCnt int    `json:"fixmedins_setl_cnt"`
}

// TotalReconOutput is the output of 3201.
type TotalReconOutput struct {
	Stmtinfo Stmtinfo `json:"stmtinfo"`
}

// Stmtinfo is the verdict: StmtMatch or StmtMismatch.
type Stmtinfo struct {
	SetlOptins   string `json:"setl_optins"`
	StmtRslt     string `json:"stmt_rslt"`
	StmtRsltDscr string `json:"stmt_rslt_dscr"`
}

// Validate requires stmt_rslt to be one of the four codes.
func (o *TotalReconOutput) Validate() error {
	if StmtRsltName(o.Stmtinfo.StmtRslt) == "" {
		return badf("3201 answer has stmt_rslt %q, want 0, 1, 2 or 3", o.Stmtinfo.StmtRslt)
	}
	return nil
}

// DetailReconInput is the old inline input of 3202 (a list in the message). The real
// 3202 exchanges files: see DetailReconFileInput and Client.DetailReconByFile.
//
// Deprecated: use DetailReconFileInput.
type DetailReconInput struct {
	Data DetailReconData `json:"data"`
}

// DetailReconData is the agent's list of settlements for a period.
type DetailReconData struct {
	SetlOptins   string        `json:"setl_optins"`
	StmtBegndate string        `json:"stmt_begndate"`
	StmtEnddate  string        `json:"stmt_enddate"`
	Detail       []ReconDetail `json:"detail"`
}

// ReconDetail is one settlement as the agent booked it. refd_setl_flag is "1" when it
// was cancelled (2208) or reversed, "0" otherwise.
type ReconDetail struct {
	SetlID        string `json:"setl_id"`
	Msgid         string `json:"msgid"`
	MedfeeSumamt  Amount `json:"medfee_sumamt"`
	FundPaySumamt Amount `json:"fund_pay_sumamt"`
	AcctPay       Amount `json:"acct_pay"`
	RefdSetlFlag  string `json:"refd_setl_flag"`
}

// DetailReconOutput is the output of 3202: only the rows that differ.
type DetailReconOutput struct {
	Detail []ReconDiff `json:"detail"`
}

// ReconDiff is one difference; the amounts are the platform's values (zero when the
// platform lacks the row).
type ReconDiff struct {
	SetlID        string `json:"setl_id"`
	Msgid         string `json:"msgid"`
	Diff          string `json:"diff"`
	MedfeeSumamt  Amount `json:"medfee_sumamt"`
	FundPaySumamt Amount `json:"fund_pay_sumamt"`
	AcctPay       Amount `json:"acct_pay"`
	Dscr          string `json:"dscr"`
}

// Validate requires a known diff and a setl_id or msgid on every row.
func (o *DetailReconOutput) Validate() error {
	for i, d := range o.Detail {
		switch d.Diff {
		case DiffMissingAtPlatform, DiffMissingAtAgent, DiffAmountDiffers, DiffRefundDiffers:
		default:
			return badf("3202 answer detail[%d] has unknown diff %q", i, d.Diff)
		}
		if d.SetlID == "" && d.Msgid == "" {
			return badf("3202 answer detail[%d] names neither setl_id nor msgid", i)
		}
	}
	return nil
}
