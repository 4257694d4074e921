package settle

// Split is how a bill divides between the funds and the patient: the answer of
// pre-settlement (2206), of settlement (2207), or of the agent's own offline estimate.
type Split struct {
	SetlID          string `json:"setl_id,omitempty"`
	MdtrtID         string `json:"mdtrt_id,omitempty"`
	PsnNo           string `json:"psn_no,omitempty"`
	MedfeeSumamt    Money  `json:"medfee_sumamt"`
	FulamtOwnpayAmt Money  `json:"fulamt_ownpay_amt"`
	OverlmtSelfpay  Money  `json:"overlmt_selfpay"`
	PreselfpayAmt   Money  `json:"preselfpay_amt"`
	InscpScpAmt     Money  `json:"inscp_scp_amt"`
	ActPayDedc      Money  `json:"act_pay_dedc"`
	HifpPay         Money  `json:"hifp_pay"`
	PoolPropSelfpay string `json:"pool_prop_selfpay,omitempty"`
	CvlservPay      Money  `json:"cvlserv_pay"`
	HifesPay        Money  `json:"hifes_pay"`
	HifmiPay        Money  `json:"hifmi_pay"`
	HifobPay        Money  `json:"hifob_pay"`
	MafPay          Money  `json:"maf_pay"`
	OthPay          Money  `json:"oth_pay"`
	FundPaySumamt   Money  `json:"fund_pay_sumamt"`
	PsnPartAmt      Money  `json:"psn_part_amt"`
	AcctPay         Money  `json:"acct_pay"`
	PsnCashPay      Money  `json:"psn_cash_pay"`
	Balc            Money  `json:"balc"`
	AcctMulaidPay   Money  `json:"acct_mulaid_pay"`
	HospPartAmt     Money  `json:"hosp_part_amt,omitempty"` // the hospital's share (usually 0): medfee = fund + psn_part + hosp_part
	MedinsSetlID    string `json:"medins_setl_id,omitempty"`
	ClrOptins       string `json:"clr_optins,omitempty"`
	ClrWay          string `json:"clr_way,omitempty"`
	ClrType         string `json:"clr_type,omitempty"`
	Insutype        string `json:"insutype,omitempty"`
	InsuplcAdmdvs   string `json:"insuplc_admdvs,omitempty"`
}

// OwnShare is what the patient pays: account plus cash.
func (s Split) OwnShare() Money { return s.PsnCashPay + s.AcctPay }
