package platform

// Reconciliation results (stmt_rslt) of 3201.
const (
	StmtMatch    = "0" // 平
	StmtMismatch = "1" // 不平
)

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

// Validate requires stmt_rslt to be "0" or "1".
func (o *TotalReconOutput) Validate() error {
	if r := o.Stmtinfo.StmtRslt; r != StmtMatch && r != StmtMismatch {
		return badf("3201 answer has stmt_rslt %q, want \"0\" or \"1\"", r)
	}
	return nil
}

// DetailReconInput is the input of 3202 明细对账 (inline list, as the simulator takes it).
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
