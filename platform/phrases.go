package platform

import "strings"

// Phrases recognise what a business refusal means from its err_msg. The platform has
// no standard infcode for "the original does not exist", "already settled" or "the
// session is gone"; every province words them a little differently, so the phrases
// are configuration (Options.Phrases) with DefaultPhrases as the start. A message
// matches a list when it contains one of its phrases (case-insensitive).
type Phrases struct {
	// OriginalNotFound: a 2601 whose original the platform never booked (or no longer
	// holds). Recognised for 2601 only.
	OriginalNotFound []string `toml:"original_not_found" json:"original_not_found"`
	// AlreadySettled: the visit already has a live settlement.
	AlreadySettled []string `toml:"already_settled" json:"already_settled"`
	// SessionExpired: the sign_no is unknown or expired. Not recognised for 9001/9002,
	// whose refusals are shown to IT.
	SessionExpired []string `toml:"session_expired" json:"session_expired"`
	// NothingToCancel: a cancellation found nothing (left) to cancel.
	NothingToCancel []string `toml:"nothing_to_cancel" json:"nothing_to_cancel"`
	// AlreadyRegistered: a registration (2201, 2401) under a visit number that is
	// already registered. Recognised for 2201 and 2401 only.
	AlreadyRegistered []string `toml:"already_registered" json:"already_registered"`
	// EnvelopeRefused: the platform could not decrypt the envelope or verify its
	// signature (ErrEnvelopeRefused). Recognised for every infno, before the others.
	EnvelopeRefused []string `toml:"envelope_refused" json:"envelope_refused"`
	// AlreadyDischarged: a discharge (2402) of a stay the platform holds discharged
	// already. Recognised for 2402 only.
	AlreadyDischarged []string `toml:"already_discharged" json:"already_discharged"`
	// NotDischarged: a cancellation of a discharge (2405) of a stay the platform does
	// not hold discharged: nothing to cancel. Recognised for 2405 only.
	NotDischarged []string `toml:"not_discharged" json:"not_discharged"`
	// LinesDiffer: an inpatient (pre-)settlement (2303, 2304) refused because the fee
	// lines the platform holds differ from those it names. Recognised for 2303/2304.
	LinesDiffer []string `toml:"lines_differ" json:"lines_differ"`
}

// DefaultPhrases are the wordings seen in public implementations and provinces'
// documents (docs/platform.md, "Refusals the agent recognises").
var DefaultPhrases = Phrases{
	OriginalNotFound:  []string{"原交易不存在", "原交易记录不存在", "原交易信息不存在", "未找到原交易", "原报文不存在", "原交易报文不存在", "无原交易", "original transaction does not exist"},
	AlreadySettled:    []string{"已结算", "重复结算", "already settled"},
	SessionExpired:    []string{"签到编号", "sign_no", "未签到", "请先签到", "重新签到", "签到已失效", "签到失效", "签到信息不存在", "会话已失效", "会话失效", "session expired"},
	NothingToCancel:   []string{"无可撤销", "没有可撤销", "无待撤销", "不存在或已撤销", "已全部撤销", "nothing to cancel"},
	AlreadyRegistered: []string{"已挂号", "重复挂号", "门诊号重复", "已登记", "已办理入院", "不能重复入院", "already registered"},
	EnvelopeRefused:   []string{"解密失败", "解密异常", "解密错误", "验签失败", "验签不通过", "签名验证失败", "签名校验失败", "验证签名失败", "decrypt failed", "signature verification failed"},
	AlreadyDischarged: []string{"已办理出院", "already discharged"},
	NotDischarged:     []string{"未办理出院", "未出院", "not discharged"},
	LinesDiffer:       []string{"不符", "lines differ"},
}

// Kind returns the sentinel errMsg stands for when infno refused it, or nil.
// Precedence: SessionExpired (nothing was processed), then OriginalNotFound (2601),
// AlreadyRegistered (2201, 2401), AlreadySettled, NothingToCancel.
func (p Phrases) Kind(infno, errMsg string) error {
	if errMsg == "" {
		return nil
	}
	m := strings.ToLower(errMsg)
	has := func(list []string) bool { return containsAny(m, list) }
	switch {
	case infno != InfnoSignIn && infno != InfnoSignOut && has(p.SessionExpired):
		return ErrSessionExpired
	case infno == InfnoReversal && has(p.OriginalNotFound):
		return ErrOriginalNotFound
	case (infno == InfnoRegister || infno == InfnoAdmission) && has(p.AlreadyRegistered):
		return ErrAlreadyRegistered
	case infno == InfnoDischarge && has(p.AlreadyDischarged):
		return ErrAlreadyDischarged
	case infno == InfnoCancelDischarge && has(p.NotDischarged):
		return ErrNothingToCancel
	case (infno == InfnoInpatientPreSettle || infno == InfnoInpatientSettle) && has(p.LinesDiffer):
		return ErrLinesDiffer
	case has(p.AlreadySettled):
		return ErrAlreadySettled
	case has(p.NothingToCancel):
		return ErrNothingToCancel
	}
	return nil
}

// envelopeRefused reports whether errMsg says the platform could not decrypt or
// verify the envelope.
func (p Phrases) envelopeRefused(errMsg string) bool {
	return errMsg != "" && containsAny(strings.ToLower(errMsg), p.EnvelopeRefused)
}

// containsAny reports whether lower holds one of list's phrases (case-insensitive).
func containsAny(lower string, list []string) bool {
	for _, s := range list {
		if s != "" && strings.Contains(lower, strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// orDefault fills the empty lists of p from DefaultPhrases.
func (p Phrases) orDefault() Phrases {
	if p.OriginalNotFound == nil {
		p.OriginalNotFound = DefaultPhrases.OriginalNotFound
	}
	if p.AlreadySettled == nil {
		p.AlreadySettled = DefaultPhrases.AlreadySettled
	}
	if p.SessionExpired == nil {
		p.SessionExpired = DefaultPhrases.SessionExpired
	}
	if p.NothingToCancel == nil {
		p.NothingToCancel = DefaultPhrases.NothingToCancel
	}
	if p.AlreadyRegistered == nil {
		p.AlreadyRegistered = DefaultPhrases.AlreadyRegistered
	}
	if p.EnvelopeRefused == nil {
		p.EnvelopeRefused = DefaultPhrases.EnvelopeRefused
	}
	if p.AlreadyDischarged == nil {
		p.AlreadyDischarged = DefaultPhrases.AlreadyDischarged
	}
	if p.NotDischarged == nil {
		p.NotDischarged = DefaultPhrases.NotDischarged
	}
	if p.LinesDiffer == nil {
		p.LinesDiffer = DefaultPhrases.LinesDiffer
	}
	return p
}
