package platform

import (
	"encoding/json"

	settle "github.com/settle-agent/settle-agent"
)

// Input and output objects per transaction, with the spec's field names verbatim.
// Outputs the agent relies on have a Validate method; Client.Call runs it on every
// success answer, so a platform answer that lacks a field is ErrBadResponse, never a
// silent zero value.

// SignInInput is the input of 9001 签到.
type SignInInput struct {
	SignIn SignInData `json:"signIn"`
}

// SignInData names the operator and the machine signing in.
type SignInData struct {
	OpterNo string `json:"opter_no"`
	Mac     string `json:"mac"`
	IP      string `json:"ip"`
}

// SignInOutput is the output of 9001.
type SignInOutput struct {
	Signinoutb Signinoutb `json:"signinoutb"`
}

// Signinoutb is the sign-in (or sign-out) record: the sign_no every later envelope carries.
type Signinoutb struct {
	SignNo   string `json:"sign_no"`
	SignTime string `json:"sign_time"`
}

// Validate requires sign_no.
func (o *SignInOutput) Validate() error {
	if o.Signinoutb.SignNo == "" {
		return badf("9001 answer has no signinoutb.sign_no")
	}
	return nil
}

// SignOutInput is the input of 9002 签退.
type SignOutInput struct {
	SignOut SignOutData `json:"signOut"`
}

// SignOutData names the sign-in being closed.
type SignOutData struct {
	SignNo  string `json:"sign_no"`
	OpterNo string `json:"opter_no"`
}

// SignOutOutput is the output of 9002.
type SignOutOutput struct {
	Signoutoutb Signinoutb `json:"signoutoutb"`
}

// PersonInfoInput is the input of 1101 人员信息获取.
type PersonInfoInput struct {
	Data PersonQuery `json:"data"`
}

// PersonQuery names a person by a certificate: mdtrt_cert_type 01 e-voucher (ecToken in
// mdtrt_cert_no), 02 ID number, 03 social security card (card number, card_sn).
type PersonQuery struct {
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	CardSN        string `json:"card_sn"`
	Begntime      string `json:"begntime"`
	PsnCertType   string `json:"psn_cert_type"`
	Certno        string `json:"certno"`
	PsnName       string `json:"psn_name"`
}

// PersonInfoOutput is the output of 1101.
type PersonInfoOutput struct {
	Baseinfo BaseInfo   `json:"baseinfo"`
	Insuinfo []InsuInfo `json:"insuinfo"`
	Idetinfo []IdetInfo `json:"idetinfo"`
}

// BaseInfo is the person's base record. Age is a decimal on the wire (number or string).
type BaseInfo struct {
	PsnNo       string      `json:"psn_no"`
	PsnCertType string      `json:"psn_cert_type"`
	Certno      string      `json:"certno"`
	PsnName     string      `json:"psn_name"`
	Gend        string      `json:"gend"`
	Naty        string      `json:"naty"`
	Brdy        string      `json:"brdy"`
	Age         json.Number `json:"age,omitempty"`
}

// InsuInfo is one insurance record: fund, insured place, account balance.
type InsuInfo struct {
	Balc          Amount `json:"balc"`
	Insutype      string `json:"insutype"`
	PsnType       string `json:"psn_type"`
	PsnInsuStas   string `json:"psn_insu_stas"`
	PsnInsuDate   string `json:"psn_insu_date,omitempty"`
	PausInsuDate  string `json:"paus_insu_date,omitempty"`
	CvlservFlag   string `json:"cvlserv_flag,omitempty"`
	InsuplcAdmdvs string `json:"insuplc_admdvs"`
	EmpName       string `json:"emp_name,omitempty"`
}

// IdetInfo is one special identity record (low-income, veteran, …).
type IdetInfo struct {
	PsnIdetType string `json:"psn_idet_type"`
	PsnTypeLv   string `json:"psn_type_lv,omitempty"`
	Memo        string `json:"memo,omitempty"`
	Begntime    string `json:"begntime,omitempty"`
	Endtime     string `json:"endtime,omitempty"`
}

// Validate requires baseinfo.psn_no and, for each insurance record, insutype and
// insuplc_admdvs (the insured place decides the policy and goes into every envelope).
func (o *PersonInfoOutput) Validate() error {
	if o.Baseinfo.PsnNo == "" {
		return badf("1101 answer has no baseinfo.psn_no")
	}
	for i, in := range o.Insuinfo {
		if in.Insutype == "" || in.InsuplcAdmdvs == "" {
			return badf("1101 answer insuinfo[%d] lacks insutype or insuplc_admdvs", i)
		}
	}
	return nil
}

// Person converts the answer to the domain type.
func (o *PersonInfoOutput) Person() settle.Person {
	b := o.Baseinfo
	p := settle.Person{
		PsnNo:       b.PsnNo,
		PsnCertType: b.PsnCertType,
		Certno:      b.Certno,
		PsnName:     b.PsnName,
		Gend:        b.Gend,
		Naty:        b.Naty,
		Brdy:        b.Brdy,
		Age:         string(b.Age),
	}
	for _, in := range o.Insuinfo {
		p.Insuinfo = append(p.Insuinfo, settle.InsuInfo{
			Balc:          in.Balc.Money(),
			Insutype:      in.Insutype,
			PsnType:       in.PsnType,
			PsnInsuStas:   in.PsnInsuStas,
			PsnInsuDate:   in.PsnInsuDate,
			InsuplcAdmdvs: in.InsuplcAdmdvs,
			Emp:           in.EmpName,
		})
	}
	for _, id := range o.Idetinfo {
		p.Idetinfo = append(p.Idetinfo, settle.IdetInfo{PsnIdetType: id.PsnIdetType, Begntime: id.Begntime, Endtime: id.Endtime})
	}
	return p
}

// ChronicQueryInput is the input of 5301 人员慢特病备案查询.
type ChronicQueryInput struct {
	Data ChronicQueryData `json:"data"`
}

// ChronicQueryData names the person.
type ChronicQueryData struct {
	PsnNo string `json:"psn_no"`
}

// ChronicQueryOutput is the output of 5301: the person's chronic/special disease filings.
type ChronicQueryOutput struct {
	Feedetail []ChronicFiling `json:"feedetail"`
}

// ChronicFiling is one qualification (门诊慢特病) the insured place recognised.
type ChronicFiling struct {
	OpspDiseCode string `json:"opsp_dise_code"`
	OpspDiseName string `json:"opsp_dise_name"`
	Begndate     string `json:"begndate"`
	Enddate      string `json:"enddate"`
}

// Validate requires a disease code on every filing.
func (o *ChronicQueryOutput) Validate() error {
	for i, f := range o.Feedetail {
		if f.OpspDiseCode == "" {
			return badf("5301 answer feedetail[%d] has no opsp_dise_code", i)
		}
	}
	return nil
}

// RegisterInput is the input of 2201 门诊挂号.
type RegisterInput struct {
	Data RegisterData `json:"data"`
}

// RegisterData is one outpatient registration.
type RegisterData struct {
	PsnNo         string `json:"psn_no"`
	Insutype      string `json:"insutype"`
	Begntime      string `json:"begntime"`
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	IptOtpNo      string `json:"ipt_otp_no"`
	AtddrNo       string `json:"atddr_no"`
	DrName        string `json:"dr_name"`
	DeptCode      string `json:"dept_code"`
	DeptName      string `json:"dept_name"`
	Caty          string `json:"caty"`
}

// RegisterOutput is the output of 2201.
type RegisterOutput struct {
	Data RegisterResult `json:"data"`
}

// RegisterResult carries the visit id (mdtrt_id) every later step names.
type RegisterResult struct {
	MdtrtID  string `json:"mdtrt_id"`
	PsnNo    string `json:"psn_no"`
	IptOtpNo string `json:"ipt_otp_no"`
}

// Validate requires data.mdtrt_id.
func (o *RegisterOutput) Validate() error {
	if o.Data.MdtrtID == "" {
		return badf("2201 answer has no data.mdtrt_id")
	}
	return nil
}

// CancelRegisterInput is the input of 2202 门诊挂号撤销.
type CancelRegisterInput struct {
	Data CancelRegisterData `json:"data"`
}

// CancelRegisterData names the registration to cancel.
type CancelRegisterData struct {
	PsnNo    string `json:"psn_no"`
	MdtrtID  string `json:"mdtrt_id"`
	IptOtpNo string `json:"ipt_otp_no"`
}

// VisitInfoInput is the input of 2203 门诊就诊信息上传 (required for med_type 14).
type VisitInfoInput struct {
	Mdtrtinfo VisitInfo  `json:"mdtrtinfo"`
	Diseinfo  []DiseInfo `json:"diseinfo"`
}

// VisitInfo describes the visit.
type VisitInfo struct {
	MdtrtID      string `json:"mdtrt_id"`
	PsnNo        string `json:"psn_no"`
	MedType      string `json:"med_type"`
	Begntime     string `json:"begntime"`
	MainCondDscr string `json:"main_cond_dscr"`
	DiseCodg     string `json:"dise_codg"`
	DiseName     string `json:"dise_name"`
}

// DiseInfo is one diagnosis of the visit.
type DiseInfo struct {
	DiagType    string `json:"diag_type"`
	DiagSrtNo   int    `json:"diag_srt_no"`
	DiagCode    string `json:"diag_code"`
	DiagName    string `json:"diag_name"`
	DiagDept    string `json:"diag_dept"`
	DiseDorNo   string `json:"dise_dor_no"`
	DiseDorName string `json:"dise_dor_name"`
	DiagTime    string `json:"diag_time"`
	ValiFlag    string `json:"vali_flag"`
}
