package platform

import "github.com/shopspring/decimal"

// Inpatient (住院) transactions, with the same envelope and rules as the outpatient ones
// (docs/platform.md "Inpatient").
const (
	InfnoAdmission             = "2401" // 入院办理 admission
	InfnoDischarge             = "2402" // 出院办理 discharge
	InfnoAdmissionChange       = "2403" // 入院信息变更 admission change
	InfnoCancelAdmission       = "2404" // 入院撤销 cancel admission
	InfnoCancelDischarge       = "2405" // 出院撤销 cancel discharge
	InfnoInpatientFeeUpload    = "2301" // 住院费用明细上传 inpatient fee upload
	InfnoInpatientCancelFee    = "2302" // 住院费用明细撤销 cancel inpatient fees
	InfnoInpatientPreSettle    = "2303" // 住院预结算 inpatient pre-settlement
	InfnoInpatientSettle       = "2304" // 住院结算 inpatient settlement
	InfnoInpatientCancelSettle = "2305" // 住院结算撤销 cancel inpatient settlement
)

// Mid-stay settlement flags (mid_setl_flag) of 2303 and 2304.
const (
	MidSetlFinal = "0" // 出院结算: the stay's final settlement, after discharge
	MidSetlMid   = "1" // 中途结算: the fees so far; the stay stays open
)

// ClrTypeInpatient is the clearing type (clr_type) of an inpatient settlement; 3201
// totals are given per clearing type (11 outpatient, 21 inpatient).
const (
	ClrTypeOutpatient = "11"
	ClrTypeInpatient  = "21"
)

// isInpatientWrite reports whether infno is an inpatient transaction that books
// something (every one but the pre-settlement 2303).
func isInpatientWrite(infno string) bool {
	switch infno {
	case InfnoAdmission, InfnoDischarge, InfnoAdmissionChange, InfnoCancelAdmission, InfnoCancelDischarge,
		InfnoInpatientFeeUpload, InfnoInpatientCancelFee, InfnoInpatientSettle, InfnoInpatientCancelSettle:
		return true
	}
	return false
}

// IsInpatient reports whether infno is one of the inpatient transactions 2301–2305,
// 2401–2405.
func IsInpatient(infno string) bool {
	return isInpatientWrite(infno) || infno == InfnoInpatientPreSettle
}

// AdmissionInput is the input of 2401 入院办理.
type AdmissionInput struct {
	Mdtrtinfo AdmissionInfo `json:"mdtrtinfo"`
	Diseinfo  []DiseInfo    `json:"diseinfo"`
}

// AdmissionInfo is one admission. med_type is "21"; ipt_no is the hospital's own
// inpatient number, unique, by which 5201 finds an admission whose answer was lost.
type AdmissionInfo struct {
	PsnNo            string `json:"psn_no"`
	Insutype         string `json:"insutype"`
	MdtrtCertType    string `json:"mdtrt_cert_type"`
	MdtrtCertNo      string `json:"mdtrt_cert_no"`
	MedType          string `json:"med_type"`
	IptNo            string `json:"ipt_no"`
	Medrcdno         string `json:"medrcdno"`
	AtddrNo          string `json:"atddr_no"`
	ChfpdrName       string `json:"chfpdr_name"`
	AdmDiagDscr      string `json:"adm_diag_dscr"`
	AdmDeptCodg      string `json:"adm_dept_codg"`
	AdmDeptName      string `json:"adm_dept_name"`
	AdmBed           string `json:"adm_bed"`
	DscgMaindiagCode string `json:"dscg_maindiag_code"`
	DscgMaindiagName string `json:"dscg_maindiag_name"`
	MainCondDscr     string `json:"main_cond_dscr"`
	DiseCodg         string `json:"dise_codg"`
	DiseName         string `json:"dise_name"`
	Begntime         string `json:"begntime"`
}

// AdmissionOutput is the output of 2401.
type AdmissionOutput struct {
	Result AdmissionResult `json:"result"`
}

// AdmissionResult carries the visit id (mdtrt_id) every later step of the stay names.
type AdmissionResult struct {
	MdtrtID  string `json:"mdtrt_id"`
	PsnNo    string `json:"psn_no"`
	IptOtpNo string `json:"ipt_otp_no"`
}

// Validate requires result.mdtrt_id.
func (o *AdmissionOutput) Validate() error {
	if o.Result.MdtrtID == "" {
		return badf("2401 answer has no result.mdtrt_id")
	}
	return nil
}

// DischargeInput is the input of 2402 出院办理.
type DischargeInput struct {
	Dscginfo DischargeInfo `json:"dscginfo"`
	Diseinfo []DiseInfo    `json:"diseinfo"`
}

// DischargeInfo is one discharge; endtime is the discharge time (Beijing,
// "yyyy-MM-dd HH:mm:ss"), dscg_way 1 by medical advice.
type DischargeInfo struct {
	MdtrtID      string `json:"mdtrt_id"`
	PsnNo        string `json:"psn_no"`
	Insutype     string `json:"insutype"`
	Endtime      string `json:"endtime"`
	DiseCodg     string `json:"dise_codg"`
	DiseName     string `json:"dise_name"`
	DscgWay      string `json:"dscg_way"`
	DscgDeptCodg string `json:"dscg_dept_codg"`
	DscgDeptName string `json:"dscg_dept_name"`
}

// AdmissionChangeInput is the input of 2403 入院信息变更.
type AdmissionChangeInput struct {
	Adminfo AdmissionChange `json:"adminfo"`
}

// AdmissionChange names the stay and carries only the fields that change.
type AdmissionChange struct {
	MdtrtID      string `json:"mdtrt_id"`
	PsnNo        string `json:"psn_no"`
	AtddrNo      string `json:"atddr_no,omitempty"`
	ChfpdrName   string `json:"chfpdr_name,omitempty"`
	AdmDiagDscr  string `json:"adm_diag_dscr,omitempty"`
	AdmDeptCodg  string `json:"adm_dept_codg,omitempty"`
	AdmDeptName  string `json:"adm_dept_name,omitempty"`
	AdmBed       string `json:"adm_bed,omitempty"`
	MainCondDscr string `json:"main_cond_dscr,omitempty"`
	DiseCodg     string `json:"dise_codg,omitempty"`
	DiseName     string `json:"dise_name,omitempty"`
	Begntime     string `json:"begntime,omitempty"`
}

// StayRefInput is the input of 2404 入院撤销 and 2405 出院撤销.
type StayRefInput struct {
	Data StayRef `json:"data"`
}

// StayRef names a stay.
type StayRef struct {
	MdtrtID string `json:"mdtrt_id"`
	PsnNo   string `json:"psn_no"`
}

// InpatientFeeInput is the input of 2301 住院费用明细上传: the lines as 2204's, each with
// its fee_ocur_time.
type InpatientFeeInput struct {
	Feedetail []FeeDetail `json:"feedetail"`
}

// InpatientFeeOutput is the output of 2301: the platform's view of each line, as 2204's.
type InpatientFeeOutput struct {
	Result []FeeResult `json:"result"`
}

// Validate requires a feedetl_sn on every line, no line twice, and selfpay_prop within
// [0, 1].
func (o *InpatientFeeOutput) Validate() error {
	seen := make(map[string]bool, len(o.Result))
	one := decimal.NewFromInt(1)
	for i, r := range o.Result {
		if r.FeedetlSn == "" {
			return badf("2301 answer result[%d] has no feedetl_sn", i)
		}
		if seen[r.FeedetlSn] {
			return badf("2301 answer lists feedetl_sn %s twice", r.FeedetlSn)
		}
		seen[r.FeedetlSn] = true
		if r.SelfpayProp.IsNegative() || r.SelfpayProp.GreaterThan(one) {
			return badf("2301 answer feedetl_sn %s has selfpay_prop %s outside [0, 1]", r.FeedetlSn, r.SelfpayProp)
		}
	}
	return nil
}

// InpatientCancelFeeInput is the input of 2302 住院费用明细撤销.
type InpatientCancelFeeInput struct {
	Data InpatientCancelFeeData `json:"data"`
}

// InpatientCancelFeeData names one unsettled line, or every unsettled line of the stay
// (FeedetlSnAll).
type InpatientCancelFeeData struct {
	FeedetlSn string `json:"feedetl_sn"`
	MdtrtID   string `json:"mdtrt_id"`
	PsnNo     string `json:"psn_no"`
}

// InpatientPreSettleInput is the input of 2303 住院预结算.
type InpatientPreSettleInput struct {
	Data InpatientPreSettleData `json:"data"`
}

// InpatientPreSettleData names the stay and the total of its unsettled fees; mid_setl_flag
// is MidSetlMid for a mid-stay settlement (中途结算), MidSetlFinal after discharge.
type InpatientPreSettleData struct {
	PsnNo         string `json:"psn_no"`
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	MedfeeSumamt  Amount `json:"medfee_sumamt"`
	PsnSetlway    string `json:"psn_setlway"`
	MdtrtID       string `json:"mdtrt_id"`
	Insutype      string `json:"insutype"`
	MidSetlFlag   string `json:"mid_setl_flag"`
	AcctUsedFlag  string `json:"acct_used_flag"`
}

// InpatientSettleInput is the input of 2304 住院结算.
type InpatientSettleInput struct {
	Data InpatientSettleData `json:"data"`
}

// InpatientSettleData is 2303's input plus the pre-settlement's four scope amounts
// (required) and the optional invoice number.
type InpatientSettleData struct {
	InpatientPreSettleData
	FulamtOwnpayAmt Amount `json:"fulamt_ownpay_amt"`
	OverlmtSelfpay  Amount `json:"overlmt_selfpay"`
	PreselfpayAmt   Amount `json:"preselfpay_amt"`
	InscpScpAmt     Amount `json:"inscp_scp_amt"`
	Invono          string `json:"invono,omitempty"`
}

// InpatientSettleOutput is the output of 2303 and 2304 (nothing is booked by 2303): the
// setlinfo and setldetail of 2207.
type InpatientSettleOutput struct {
	Setlinfo   Setlinfo     `json:"setlinfo"`
	Setldetail []SetlDetail `json:"setldetail"`
}

// ValidateFor checks what the agent cannot do without: for 2304 the setl_id and
// mdtrt_id that a cancellation names. Everything else is Surprises (an answer that
// does not add up is recorded and shown to a person, never an error: the settlement
// may be booked).
func (o *InpatientSettleOutput) ValidateFor(infno string) error {
	s := o.Setlinfo
	if infno == InfnoInpatientSettle && s.SetlID == "" {
		return badf("%s answer has no setlinfo.setl_id", infno)
	}
	if infno == InfnoInpatientSettle && s.MdtrtID == "" {
		return badf("%s answer has no setlinfo.mdtrt_id", infno)
	}
	return nil
}

// Surprises lists what is odd in a 2303/2304 answer, as for 2206/2207: identities,
// negative amounts, a booking without setl_time.
func (o *InpatientSettleOutput) Surprises(infno string) []Surprise {
	return (&SettleOutput{Setlinfo: o.Setlinfo, Setldetail: o.Setldetail}).Surprises(infno)
}

// InpatientCancelSettleInput is the input of 2305 住院结算撤销.
type InpatientCancelSettleInput struct {
	Data InpatientCancelSettleData `json:"data"`
}

// InpatientCancelSettleData names the settlement to cancel.
type InpatientCancelSettleData struct {
	SetlID  string `json:"setl_id"`
	MdtrtID string `json:"mdtrt_id"`
	PsnNo   string `json:"psn_no"`
}

// InpatientCancelSettleOutput is the output of 2305: the cancelling settlement (amounts
// usually negative; some may be null).
type InpatientCancelSettleOutput struct {
	Setlinfo Setlinfo `json:"setlinfo"`
}

// Surprises lists the identities of the cancellation that do not add up (its amounts
// are negative; some may be null).
func (o *InpatientCancelSettleOutput) Surprises(infno string) []Surprise {
	return o.Setlinfo.Identity(infno)
}

// InpatientRefFor is the input of 2404 and 2405 for one stay.
func InpatientRefFor(mdtrtID, psnNo string) StayRefInput {
	return StayRefInput{Data: StayRef{MdtrtID: mdtrtID, PsnNo: psnNo}}
}
