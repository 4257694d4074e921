package platform

import "github.com/shopspring/decimal"

// FeedetlSnAll is the feedetl_sn that cancels every unsettled fee detail of a visit
// (2302; the old form of 2205).
const FeedetlSnAll = "0000"

// ChrgBchnoAll is the chrg_bchno that makes 2205 cancel every unsettled fee detail of
// the visit.
const ChrgBchnoAll = "0000"

// FeeUploadInput is the input of 2204 门诊费用明细上传.
type FeeUploadInput struct {
	Feedetail []FeeDetail `json:"feedetail"`
}

// FeeDetail is one bill line. feedetl_sn is unique within a visit;
// det_item_fee_sumamt is cnt × pric rounded half-up to 0.01.
type FeeDetail struct {
	FeedetlSn        string `json:"feedetl_sn"`
	MdtrtID          string `json:"mdtrt_id"`
	PsnNo            string `json:"psn_no"`
	ChrgBchno        string `json:"chrg_bchno"`
	DiseCodg         string `json:"dise_codg"`
	Rxno             string `json:"rxno"`
	RxCircFlag       string `json:"rx_circ_flag"`
	FeeOcurTime      string `json:"fee_ocur_time"`
	MedListCodg      string `json:"med_list_codg"`
	MedinsListCodg   string `json:"medins_list_codg"`
	DetItemFeeSumamt Amount `json:"det_item_fee_sumamt"`
	Cnt              Cnt    `json:"cnt"`
	Pric             Pric   `json:"pric"`
	BilgDeptCodg     string `json:"bilg_dept_codg"`
	BilgDeptName     string `json:"bilg_dept_name"`
	BilgDrCodg       string `json:"bilg_dr_codg"`
	BilgDrName       string `json:"bilg_dr_name"`
	HospApprFlag     string `json:"hosp_appr_flag"`
}

// FeeUploadOutput is the output of 2204: the platform's view of each line.
type FeeUploadOutput struct {
	Result []FeeResult `json:"result"`
}

// FeeResult is the platform's classification of one line: its catalogue class
// (chrgitm_lv 01 甲, 02 乙, 03 丙), the self-pay share and the amounts that follow.
type FeeResult struct {
	FeedetlSn        string `json:"feedetl_sn"`
	DetItemFeeSumamt Amount `json:"det_item_fee_sumamt"`
	Cnt              Cnt    `json:"cnt"`
	Pric             Pric   `json:"pric"`
	PricUplmtAmt     Pric   `json:"pric_uplmt_amt"` // the unit price ceiling, 16,6 like pric
	SelfpayProp      Ratio  `json:"selfpay_prop"`
	FulamtOwnpayAmt  Amount `json:"fulamt_ownpay_amt"`
	OverlmtAmt       Amount `json:"overlmt_amt"`
	PreselfpayAmt    Amount `json:"preselfpay_amt"`
	InscpScpAmt      Amount `json:"inscp_scp_amt"`
	ChrgitmLv        string `json:"chrgitm_lv"`
	MedChrgitmType   string `json:"med_chrgitm_type"`
}

// Validate requires a feedetl_sn on every line, no line twice, and selfpay_prop within
// [0, 1].
func (o *FeeUploadOutput) Validate() error {
	seen := make(map[string]bool, len(o.Result))
	one := decimal.NewFromInt(1)
	for i, r := range o.Result {
		if r.FeedetlSn == "" {
			return badf("2204 answer result[%d] has no feedetl_sn", i)
		}
		if seen[r.FeedetlSn] {
			return badf("2204 answer lists feedetl_sn %s twice", r.FeedetlSn)
		}
		seen[r.FeedetlSn] = true
		if r.SelfpayProp.IsNegative() || r.SelfpayProp.GreaterThan(one) {
			return badf("2204 answer feedetl_sn %s has selfpay_prop %s outside [0, 1]", r.FeedetlSn, r.SelfpayProp)
		}
	}
	return nil
}

// CancelFeeInput is the input of 2205 门诊费用明细撤销.
type CancelFeeInput struct {
	Data CancelFeeData `json:"data"`
}

// CancelFeeData names what 2205 cancels: the unsettled lines of the charge batch
// ChrgBchno (ChrgBchnoAll: every unsettled line of the visit). FeedetlSn is the old
// form (one line, or FeedetlSnAll) kept for callers not yet moved to ChrgBchno; the
// real 2205 takes chrg_bchno, and the strict simulator refuses a 2205 without it.
type CancelFeeData struct {
	ChrgBchno string `json:"chrg_bchno,omitempty"`
	FeedetlSn string `json:"feedetl_sn,omitempty"`
	MdtrtID   string `json:"mdtrt_id"`
	PsnNo     string `json:"psn_no"`
}
