package platform

import (
	"encoding/json"
	"sort"
)

// Transaction numbers (infno) the agent speaks; see docs/platform.md.
const (
	InfnoSignIn         = "9001" // 签到 sign-in
	InfnoSignOut        = "9002" // 签退 sign-out
	InfnoPersonInfo     = "1101" // 人员信息获取 person info
	InfnoChronicQuery   = "5301" // 人员慢特病备案查询 chronic/special disease filings
	InfnoRegister       = "2201" // 门诊挂号 outpatient registration
	InfnoCancelRegister = "2202" // 门诊挂号撤销 cancel registration
	InfnoVisitInfo      = "2203" // 门诊就诊信息上传 visit info upload
	InfnoFeeUpload      = "2204" // 门诊费用明细上传 fee detail upload
	InfnoCancelFee      = "2205" // 门诊费用明细撤销 cancel fee details
	InfnoPreSettle      = "2206" // 门诊预结算 pre-settlement
	InfnoSettle         = "2207" // 门诊结算 settlement
	InfnoCancelSettle   = "2208" // 门诊结算撤销 cancel settlement
	InfnoReversal       = "2601" // 冲正 reversal
	InfnoTotalRecon     = "3201" // 医药机构费用结算对总账 total reconciliation
	InfnoDetailRecon    = "3202" // 医药机构费用结算对明细账 detail reconciliation
)

// IsWrite reports whether infno books something at the platform, so that an unknown
// outcome must be resolved before the step is repeated — with 2601 only when
// IsReversible(infno), otherwise with the transaction's own tool (5201 for a lost 2201,
// cancelling the batch for a lost 2204; docs/platform.md, "Outcome unknown"): 2201, 2202, 2204, 2205, 2207 and 2208, and the inpatient writes 2301,
// 2302, 2304, 2305 and 2401–2405.
func IsWrite(infno string) bool {
	switch infno {
	case InfnoRegister, InfnoCancelRegister, InfnoFeeUpload, InfnoCancelFee, InfnoSettle, InfnoCancelSettle:
		return true
	}
	return isInpatientWrite(infno)
}

// reversibleInfnos is the scope of 2601 冲正: the transactions a reversal may name.
// Any other infno (2201, 2202, 2204, 2205, …) has its own way to resolve an unknown
// outcome (see docs/platform.md, "Outcome unknown"), and the platform refuses a 2601
// naming it.
var reversibleInfnos = map[string]bool{
	InfnoSettle:                true, // 2207 门诊结算
	InfnoCancelSettle:          true, // 2208 门诊结算撤销
	InfnoInpatientSettle:       true, // 2304 住院结算
	InfnoInpatientCancelSettle: true, // 2305 住院结算撤销
	InfnoAdmission:             true, // 2401 入院办理
	"2102":                     true, // 药店结算 (a pharmacy's settlement)
	"2103":                     true, // 药店结算撤销
}

// IsReversible reports whether a 2601 may name infno: 2207, 2208, 2304, 2305, 2401
// (and a pharmacy's 2102, 2103).
func IsReversible(infno string) bool { return reversibleInfnos[infno] }

// ReversibleInfnos lists the scope of 2601 in order.
func ReversibleInfnos() []string {
	out := make([]string, 0, len(reversibleInfnos))
	for k := range reversibleInfnos {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Request is the envelope of every call to the platform. Field names are the spec's;
// Input holds the transaction's own input object.
type Request struct {
	Infno          string          `json:"infno"`
	Msgid          string          `json:"msgid"`
	MdtrtareaAdmvs string          `json:"mdtrtarea_admvs"`
	InsuplcAdmdvs  string          `json:"insuplc_admdvs"`
	RecerSysCode   string          `json:"recer_sys_code"`
	DevNo          string          `json:"dev_no"`
	DevSafeInfo    string          `json:"dev_safe_info"`
	Cainfo         string          `json:"cainfo"`
	Signtype       string          `json:"signtype"`
	Infver         string          `json:"infver"`
	OpterType      string          `json:"opter_type"`
	Opter          string          `json:"opter"`
	OpterName      string          `json:"opter_name"`
	InfTime        string          `json:"inf_time"`
	FixmedinsCode  string          `json:"fixmedins_code"`
	FixmedinsName  string          `json:"fixmedins_name"`
	SignNo         string          `json:"sign_no"`
	Input          json.RawMessage `json:"input"`
}

// Operator types (opter_type).
const (
	OpterStaff    = "1" // 经办人 staff at a window
	OpterTerminal = "2" // 自助终端 self-service terminal
	OpterMobile   = "3" // 移动终端 mobile
)

// InfTimeLayout is the layout of inf_time and setl_time (Beijing time); refmsg_time and
// respond_time are 17 digits (FormatMillis, ParseTime).
const InfTimeLayout = "2006-01-02 15:04:05"

// Response is the envelope of every answer. Infcode 0 is success, -1 a system error
// (outcome unknown), any other negative value a final business error whose ErrMsg is
// meant for the cashier.
type Response struct {
	Infcode     int             `json:"infcode"`
	InfRefmsgid string          `json:"inf_refmsgid"`
	RefmsgTime  string          `json:"refmsg_time"`
	RespondTime string          `json:"respond_time"`
	ErrMsg      string          `json:"err_msg"`
	WarnMsg     string          `json:"warn_msg"`
	Output      json.RawMessage `json:"output"`
	// Surprises is what the client found odd in a successful answer (never a reason to
	// fail it): unknown fields, reshaped values, identities that do not add up.
	Surprises []Surprise `json:"-"`
}

// Infcodes with a fixed meaning.
const (
	InfcodeOK          = 0  // success
	InfcodeSystemError = -1 // 系统异常: outcome unknown
)
