package platform

import (
	"encoding/json"
	"fmt"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// Settlement means (psn_setlway) and account use (acct_used_flag).
const (
	SetlwayByItem  = "01" // 按项目结算
	SetlwayByQuota = "02" // 定额结算
	AcctUsed       = "1"  // pay from the personal account
	AcctNotUsed    = "0"
)

// SettleInput is the input of 2206 预结算 and 2207 结算 (the same shape).
type SettleInput struct {
	Data SettleData `json:"data"`
}

// SettleData names the visit and the total to settle.
type SettleData struct {
	PsnNo         string `json:"psn_no"`
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	MedType       string `json:"med_type"`
	MedfeeSumamt  Amount `json:"medfee_sumamt"`
	PsnSetlway    string `json:"psn_setlway"`
	MdtrtID       string `json:"mdtrt_id"`
	ChrgBchno     string `json:"chrg_bchno"`
	Insutype      string `json:"insutype"`
	AcctUsedFlag  string `json:"acct_used_flag"`
}

// SettleConfirmInput is the input of 2207 结算 (and, with MidSetlFlag, of 2304): the
// pre-settlement's input plus the four amounts the pre-settlement answered, which the
// real 2207 requires, and an optional invoice number.
type SettleConfirmInput struct {
	Data SettleConfirmData `json:"data"`
}

// SettleConfirmData is SettleData plus fulamt_ownpay_amt, overlmt_selfpay,
// preselfpay_amt, inscp_scp_amt (from the 2206 answer) and invono.
type SettleConfirmData struct {
	SettleData
	FulamtOwnpayAmt Amount `json:"fulamt_ownpay_amt"`
	OverlmtSelfpay  Amount `json:"overlmt_selfpay"`
	PreselfpayAmt   Amount `json:"preselfpay_amt"`
	InscpScpAmt     Amount `json:"inscp_scp_amt"`
	Invono          string `json:"invono,omitempty"`
}

// ConfirmData builds the 2207 input from the 2206 input d and its answer pre.
func ConfirmData(d SettleData, pre Setlinfo, invono string) SettleConfirmData {
	return SettleConfirmData{
		SettleData:      d,
		FulamtOwnpayAmt: pre.FulamtOwnpayAmt,
		OverlmtSelfpay:  pre.OverlmtSelfpay,
		PreselfpayAmt:   pre.PreselfpayAmt,
		InscpScpAmt:     pre.InscpScpAmt,
		Invono:          invono,
	}
}

// SettleOutput is the output of 2206 and 2207 (nothing is booked by 2206).
type SettleOutput struct {
	Setlinfo   Setlinfo     `json:"setlinfo"`
	Setldetail []SetlDetail `json:"setldetail"`
}

// Setlinfo is the split of a settlement. The amounts normally keep these identities,
// which Identity checks (a mismatch is a Surprise, never an error):
//
//	medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt
//	psn_part_amt  = acct_pay + acct_mulaid_pay + psn_cash_pay
//
// and, when the platform itemises the funds (any of them non-zero),
//
//	fund_pay_sumamt = hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay + hifob_pay + maf_pay + oth_pay (+ hifdm_pay)
//
// hosp_part_amt (the hospital's share) is usually 0 but not always. medins_setl_id
// echoes the msgid of the 2207 request; setl_time is the platform's time of booking
// (Beijing time) and decides the settlement's day.
type Setlinfo struct {
	SetlID          string `json:"setl_id"`
	MdtrtID         string `json:"mdtrt_id"`
	PsnNo           string `json:"psn_no"`
	MedfeeSumamt    Amount `json:"medfee_sumamt"`
	FulamtOwnpayAmt Amount `json:"fulamt_ownpay_amt"`
	OverlmtSelfpay  Amount `json:"overlmt_selfpay"`
	PreselfpayAmt   Amount `json:"preselfpay_amt"`
	InscpScpAmt     Amount `json:"inscp_scp_amt"`
	ActPayDedc      Amount `json:"act_pay_dedc"`
	HifpPay         Amount `json:"hifp_pay"`
	PoolPropSelfpay Ratio  `json:"pool_prop_selfpay"`
	CvlservPay      Amount `json:"cvlserv_pay"`
	HifesPay        Amount `json:"hifes_pay"`
	HifmiPay        Amount `json:"hifmi_pay"`
	HifobPay        Amount `json:"hifob_pay"`
	MafPay          Amount `json:"maf_pay"`
	OthPay          Amount `json:"oth_pay"`
	FundPaySumamt   Amount `json:"fund_pay_sumamt"`
	PsnPartAmt      Amount `json:"psn_part_amt"`
	AcctPay         Amount `json:"acct_pay"`
	PsnCashPay      Amount `json:"psn_cash_pay"`
	Balc            Amount `json:"balc"`
	AcctMulaidPay   Amount `json:"acct_mulaid_pay"`
	HospPartAmt     Amount `json:"hosp_part_amt"`
	MedinsSetlID    string `json:"medins_setl_id"`
	// RefdSetlFlag ("1": a refund/cancellation) and ValiFlag ("0": invalid) appear in
	// 5203 answers of some provinces.
	RefdSetlFlag string `json:"refd_setl_flag,omitempty"`
	ValiFlag     string `json:"vali_flag,omitempty"`
	// HifdmPay (伤残人员医疗保障基金) is a fund some answers itemise; it counts in
	// fund_pay_sumamt.
	HifdmPay Amount `json:"hifdm_pay,omitempty"`
	// The person and visit fields the real setlinfo repeats (personal data: never logged).
	PsnName       string      `json:"psn_name,omitempty"`
	PsnCertType   string      `json:"psn_cert_type,omitempty"`
	Certno        string      `json:"certno,omitempty"`
	Gend          string      `json:"gend,omitempty"`
	Naty          string      `json:"naty,omitempty"`
	Brdy          string      `json:"brdy,omitempty"`
	Age           json.Number `json:"age,omitempty"`
	PsnType       string      `json:"psn_type,omitempty"`
	CvlservFlag   string      `json:"cvlserv_flag,omitempty"`
	MdtrtCertType string      `json:"mdtrt_cert_type,omitempty"`
	ExpContent    string      `json:"exp_content,omitempty"`
	ClrOptins     string      `json:"clr_optins"`
	ClrWay        string      `json:"clr_way"`
	ClrType       string      `json:"clr_type"`
	Insutype      string      `json:"insutype,omitempty"`
	MedType       string      `json:"med_type,omitempty"`
	SetlTime      string      `json:"setl_time,omitempty"`
}

// SetlDetail is one fund's share of a settlement.
type SetlDetail struct {
	FundPayType     string `json:"fund_pay_type"`
	InscpScpAmt     Amount `json:"inscp_scp_amt"`
	CrtPaybLmtAmt   Amount `json:"crt_payb_lmt_amt"`
	FundPayamt      Amount `json:"fund_payamt"`
	FundPayTypeName string `json:"fund_pay_type_name"`
	SetlProcInfo    string `json:"setl_proc_info"`
}

// Split converts the settlement to the domain type.
func (s Setlinfo) Split() settle.Split {
	return settle.Split{
		SetlID:          s.SetlID,
		MdtrtID:         s.MdtrtID,
		PsnNo:           s.PsnNo,
		MedfeeSumamt:    s.MedfeeSumamt.Money(),
		FulamtOwnpayAmt: s.FulamtOwnpayAmt.Money(),
		OverlmtSelfpay:  s.OverlmtSelfpay.Money(),
		PreselfpayAmt:   s.PreselfpayAmt.Money(),
		InscpScpAmt:     s.InscpScpAmt.Money(),
		ActPayDedc:      s.ActPayDedc.Money(),
		HifpPay:         s.HifpPay.Money(),
		PoolPropSelfpay: s.PoolPropSelfpay.String(),
		CvlservPay:      s.CvlservPay.Money(),
		HifesPay:        s.HifesPay.Money(),
		HifmiPay:        s.HifmiPay.Money(),
		HifobPay:        s.HifobPay.Money(),
		MafPay:          s.MafPay.Money(),
		OthPay:          s.OthPay.Money(),
		FundPaySumamt:   s.FundPaySumamt.Money(),
		PsnPartAmt:      s.PsnPartAmt.Money(),
		AcctPay:         s.AcctPay.Money(),
		PsnCashPay:      s.PsnCashPay.Money(),
		Balc:            s.Balc.Money(),
		AcctMulaidPay:   s.AcctMulaidPay.Money(),
		HospPartAmt:     s.HospPartAmt.Money(),
		MedinsSetlID:    s.MedinsSetlID,
		ClrOptins:       s.ClrOptins,
		ClrWay:          s.ClrWay,
		ClrType:         s.ClrType,
		Insutype:        s.Insutype,
	}
}

// SetlinfoOf converts a domain split to the wire form (the simulator answers with it).
func SetlinfoOf(s settle.Split) Setlinfo {
	r, _ := ParseRatio(s.PoolPropSelfpay)
	return Setlinfo{
		SetlID:          s.SetlID,
		MdtrtID:         s.MdtrtID,
		PsnNo:           s.PsnNo,
		MedfeeSumamt:    AmountOf(s.MedfeeSumamt),
		FulamtOwnpayAmt: AmountOf(s.FulamtOwnpayAmt),
		OverlmtSelfpay:  AmountOf(s.OverlmtSelfpay),
		PreselfpayAmt:   AmountOf(s.PreselfpayAmt),
		InscpScpAmt:     AmountOf(s.InscpScpAmt),
		ActPayDedc:      AmountOf(s.ActPayDedc),
		HifpPay:         AmountOf(s.HifpPay),
		PoolPropSelfpay: r,
		CvlservPay:      AmountOf(s.CvlservPay),
		HifesPay:        AmountOf(s.HifesPay),
		HifmiPay:        AmountOf(s.HifmiPay),
		HifobPay:        AmountOf(s.HifobPay),
		MafPay:          AmountOf(s.MafPay),
		OthPay:          AmountOf(s.OthPay),
		FundPaySumamt:   AmountOf(s.FundPaySumamt),
		PsnPartAmt:      AmountOf(s.PsnPartAmt),
		AcctPay:         AmountOf(s.AcctPay),
		PsnCashPay:      AmountOf(s.PsnCashPay),
		Balc:            AmountOf(s.Balc),
		AcctMulaidPay:   AmountOf(s.AcctMulaidPay),
		HospPartAmt:     AmountOf(s.HospPartAmt),
		MedinsSetlID:    s.MedinsSetlID,
		ClrOptins:       s.ClrOptins,
		ClrWay:          s.ClrWay,
		ClrType:         s.ClrType,
		Insutype:        s.Insutype,
	}
}

// Identity checks the identities documented on Setlinfo; infno names the answer. It
// returns what does not add up as surprises (nil when everything does); the signs are
// not checked (a cancellation answers with negative amounts).
func (s Setlinfo) Identity(infno string) []Surprise {
	var out []Surprise
	if s.FundPaySumamt+s.PsnPartAmt+s.HospPartAmt != s.MedfeeSumamt {
		out = append(out, Surprise{Kind: SurpriseIdentity, Field: "setlinfo.medfee_sumamt", Detail: fmt.Sprintf(
			"%s answer: fund_pay_sumamt %s + psn_part_amt %s + hosp_part_amt %s != medfee_sumamt %s",
			infno, s.FundPaySumamt, s.PsnPartAmt, s.HospPartAmt, s.MedfeeSumamt)})
	}
	if s.AcctPay+s.AcctMulaidPay+s.PsnCashPay != s.PsnPartAmt {
		out = append(out, Surprise{Kind: SurpriseIdentity, Field: "setlinfo.psn_part_amt", Detail: fmt.Sprintf(
			"%s answer: acct_pay %s + acct_mulaid_pay %s + psn_cash_pay %s != psn_part_amt %s",
			infno, s.AcctPay, s.AcctMulaidPay, s.PsnCashPay, s.PsnPartAmt)})
	}
	funds := []Amount{s.HifpPay, s.CvlservPay, s.HifesPay, s.HifmiPay, s.HifobPay, s.MafPay, s.OthPay, s.HifdmPay}
	var sum Amount
	itemised := false
	for _, f := range funds {
		sum += f
		itemised = itemised || f != 0
	}
	if itemised && sum != s.FundPaySumamt {
		out = append(out, Surprise{Kind: SurpriseIdentity, Field: "setlinfo.fund_pay_sumamt", Detail: fmt.Sprintf(
			"%s answer: the funds add up to %s, fund_pay_sumamt is %s", infno, sum, s.FundPaySumamt)})
	}
	return out
}

// CheckAmounts is Identity as an error (ErrBadResponse) for callers that want one; the
// client itself never fails an answer on it.
//
// Deprecated: use Identity; a settlement that does not add up is a surprise, not a failure.
func (s Setlinfo) CheckAmounts(infno string) error {
	if sp := s.Identity(infno); len(sp) > 0 {
		return badf("%s", sp[0].Detail)
	}
	return nil
}

// SettledAt is setl_time as a time (Beijing time when it carries no zone); ok is false
// when the answer has none or it is not a time.
func (s Setlinfo) SettledAt() (t time.Time, ok bool) {
	t, err := ParseTime(s.SetlTime)
	return t, err == nil
}

// Validate checks a 2207 answer: ValidateFor(InfnoSettle).
func (o *SettleOutput) Validate() error { return o.ValidateFor(InfnoSettle) }

// ValidateFor checks the answer to infno (2206, 2207, or an inpatient 2303/2304): for a
// booking (2207, 2304) setl_id and mdtrt_id must be present, without them the booking
// cannot be named again. Everything else is Surprises. Client.Call prefers ValidateFor
// over Validate when an output has both.
func (o *SettleOutput) ValidateFor(infno string) error {
	s := o.Setlinfo
	if books(infno) && s.SetlID == "" {
		return badf("%s answer has no setlinfo.setl_id", infno)
	}
	if books(infno) && s.MdtrtID == "" {
		return badf("%s answer has no setlinfo.mdtrt_id", infno)
	}
	return nil
}

// books reports whether infno's answer is a booked settlement (2207, 2304).
func books(infno string) bool { return infno == InfnoSettle || infno == "2304" }

// Surprises lists what is odd in a 2206/2207 answer: identities, negative amounts, a
// booking without setl_time.
func (o *SettleOutput) Surprises(infno string) []Surprise {
	s := o.Setlinfo
	out := s.Identity(infno)
	for _, a := range []struct {
		name string
		v    Amount
	}{{"medfee_sumamt", s.MedfeeSumamt}, {"fund_pay_sumamt", s.FundPaySumamt}, {"psn_part_amt", s.PsnPartAmt},
		{"acct_pay", s.AcctPay}, {"psn_cash_pay", s.PsnCashPay}, {"acct_mulaid_pay", s.AcctMulaidPay}} {
		if a.v < 0 {
			out = append(out, Surprise{Kind: SurpriseNegative, Field: "setlinfo." + a.name, Detail: fmt.Sprintf("%s answer has %s %s", infno, a.name, a.v)})
		}
	}
	if books(infno) {
		if s.SetlTime == "" {
			out = append(out, Surprise{Kind: SurpriseMissing, Field: "setlinfo.setl_time", Detail: infno + " answer has no setl_time; the agent's clock decides the day"})
		} else if _, ok := s.SettledAt(); !ok {
			out = append(out, Surprise{Kind: SurpriseCoerced, Field: "setlinfo.setl_time", Detail: fmt.Sprintf("%s answer has setl_time %q, not a time", infno, s.SetlTime)})
		}
	}
	return out
}

// CancelSettleInput is the input of 2208 结算撤销.
type CancelSettleInput struct {
	Data CancelSettleData `json:"data"`
}

// CancelSettleData names the settlement to cancel.
type CancelSettleData struct {
	SetlID  string `json:"setl_id"`
	MdtrtID string `json:"mdtrt_id"`
	PsnNo   string `json:"psn_no"`
}

// CancelSettleOutput is the output of 2208: the cancelling settlement (amounts usually
// negative).
type CancelSettleOutput struct {
	Setlinfo   Setlinfo     `json:"setlinfo"`
	Setldetail []SetlDetail `json:"setldetail,omitempty"`
}

// Surprises lists the identities of the cancellation that do not add up (its amounts
// are negative; fields such as psn_part_amt may be null).
func (o *CancelSettleOutput) Surprises(infno string) []Surprise { return o.Setlinfo.Identity(infno) }

// ReversalInput is the input of 2601 冲正.
type ReversalInput struct {
	Data ReversalData `json:"data"`
}

// ReversalData names the message to undo: its msgid and infno.
type ReversalData struct {
	PsnNo  string `json:"psn_no"`
	Omsgid string `json:"omsgid"`
	Oinfno string `json:"oinfno"`
}
