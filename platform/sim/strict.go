package sim

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/settle-agent/settle-agent/platform"
)

// The real platform's strictness the simulator keeps (docs/simulator.md, "Strict
// rules"): 2601 only for the reversible transactions and "原交易不存在" for a msgid it
// never booked; feedetl_sn unique within a visit for ever; one live settlement per
// visit ("该就诊已结算"); 2205 by chrg_bchno; 2207 with the four amounts of its
// pre-settlement; 3202 through files; a repeated msgid refused (or replayed); a
// session that expires on demand. And the "booked late" fault, whose bookings land
// after the client gave up.

// Refusal messages tests and the agent's phrases recognise.
const (
	msgOriginalNotFound  = "原交易不存在"
	msgAlreadySettled    = "该就诊已结算"
	msgSessionExpired    = "签到编号 sign_no 已失效，请重新签到(9001)"
	msgNothingToCancel   = "无可撤销的费用明细"
	msgAlreadyRegistered = "该门诊号已挂号"
)

// The strict rules, as Violations names them. A well-behaved agent triggers none of
// RuleReversalOutOfScope, RuleReversalWithoutOinfno, RuleFeedetlSnRepeated,
// RuleCancelFeeWithoutBatch, RuleSettleWithoutPreSettle, RuleReconInline and
// RuleMsgidRepeated, RuleReversalWithoutPsnNo, RuleInsuplcMismatch; the others (a repeated 2201 after a
// lost answer that landed late included) (not found, already settled, nothing to cancel, stale
// pre-settlement, session expired) are part of resolving faults correctly.
const (
	RuleReversalOutOfScope     = "reversal_out_of_scope"   // 2601 naming a transaction that is not reversible
	RuleReversalWithoutOinfno  = "reversal_without_oinfno" // 2601 without oinfno
	RuleReversalNotFound       = "reversal_not_found"      // 2601 of a msgid not booked (now)
	RuleFeedetlSnRepeated      = "feedetl_sn_repeated"     // a feedetl_sn used before in the visit
	RuleAlreadySettled         = "already_settled"         // a second settlement of a visit
	RuleCancelFeeWithoutBatch  = "cancel_fee_without_chrg_bchno"
	RuleNothingToCancel        = "nothing_to_cancel"            // 2205 found nothing to cancel
	RuleSettleWithoutPreSettle = "settle_without_presettlement" // 2207 without the four amounts
	RuleSettleStale            = "settle_stale_presettlement"   // 2207 whose four amounts differ
	RuleReconInline            = "recon_inline"                 // the old inline 3202
	RuleMsgidRepeated          = "msgid_repeated"               // a msgid processed before
	RuleSessionExpired         = "session_expired"              // a sign_no ExpireSessions forgot
	RuleVisitRepeated          = "visit_repeated"               // a 2201 under an ipt_otp_no that stands
	RuleReversalWithoutPsnNo   = "reversal_without_psn_no"      // 2601 without psn_no
	RuleInsuplcMismatch        = "insuplc_mismatch"             // insuplc_admdvs not the person's insured place
	RuleEnvelopeUndecryptable  = "envelope_undecryptable"       // 国密: not SM4-encrypted, or not with the key (解密失败)
	RuleEnvelopeSignature      = "envelope_signature"           // 国密: signature missing or wrong (验签失败)
)

// Violation is one refusal of a strict rule.
type Violation struct {
	Rule  string `json:"rule"`
	Infno string `json:"infno"`
	Msgid string `json:"msgid"`
}

// maxViolationLog bounds ViolationLog.
const maxViolationLog = 1000

// noteViolation records a refusal of rule; the caller holds p.mu.
func (p *Platform) noteViolation(rule string, req *platform.Request) {
	p.violations[rule]++
	if len(p.violationLog) < maxViolationLog {
		p.violationLog = append(p.violationLog, Violation{Rule: rule, Infno: req.Infno, Msgid: req.Msgid})
	}
	p.log.Info("sim strict rule refused", "rule", rule, "infno", req.Infno, "msgid", req.Msgid)
}

// Violations counts, per strict rule (the Rule… constants), the calls refused by it
// since the last reset. GET /sim/stats shows it as "violations".
func (p *Platform) Violations() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.violations))
	for k, v := range p.violations {
		out[k] = v
	}
	return out
}

// ViolationLog lists the first 1000 refusals of strict rules since the last reset.
func (p *Platform) ViolationLog() []Violation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Violation(nil), p.violationLog...)
}

// delayable reports whether the "booked late" fault may delay infno: the writes and the
// reversal, whose late landing can surprise a client.
func delayable(infno string) bool {
	return platform.IsWrite(infno) || platform.IsReversible(infno) || infno == platform.InfnoReversal
}

// lateCall is a request the "booked late" fault holds back.
type lateCall struct {
	req platform.Request
	due int64 // lands once p.answered reaches it
}

// ExpireSessions makes the platform forget every sign-in: the next call carrying one
// of those sign_no values is refused with the session error (签到编号已失效, see
// platform.ErrSessionExpired), whether or not Options.RequireSignIn is set. It also
// answers POST /sim/expire-sessions. It returns how many sessions were expired.
func (p *Platform) ExpireSessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for no := range p.st.signNos {
		p.st.expired[no] = true
		delete(p.st.signNos, no)
		n++
	}
	for no := range p.st.used {
		if !p.st.expired[no] {
			p.st.expired[no] = true
			n++
		}
	}
	p.log.Info("sim sessions expired", "count", n)
	return n
}

// HoldLate with on holds every late booking until ReleaseLate, whatever
// Faults.LateAfterCalls says, so a test decides when it lands; off lets them land by
// LateAfterCalls again (those already due land with the next call).
func (p *Platform) HoldLate(on bool) {
	p.mu.Lock()
	p.holdLate = on
	p.mu.Unlock()
}

// ReleaseLate lands every late booking now, oldest first, and returns how many landed.
func (p *Platform) ReleaseLate() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.late)
	for _, lc := range p.late {
		p.landLocked(lc)
	}
	p.late = nil
	return n
}

// PendingLate returns the msgids of the late bookings that have not landed yet.
func (p *Platform) PendingLate() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.late))
	for i, lc := range p.late {
		out[i] = lc.req.Msgid
	}
	return out
}

// holdBackLocked queues req as a late booking; the caller holds p.mu.
func (p *Platform) holdBackLocked(req *platform.Request) {
	after := int64(max(p.faults.LateAfterCalls, 1))
	p.late = append(p.late, &lateCall{req: *req, due: p.answered + after})
}

// landDueLocked lands the late bookings that are due; the caller holds p.mu.
func (p *Platform) landDueLocked() {
	if p.holdLate || len(p.late) == 0 {
		return
	}
	keep := p.late[:0]
	for _, lc := range p.late {
		if lc.due <= p.answered {
			p.landLocked(lc)
		} else {
			keep = append(keep, lc)
		}
	}
	p.late = keep
}

func (p *Platform) landLocked(lc *lateCall) {
	p.log.Info("sim fault: booked late", "infno", lc.req.Infno, "msgid", lc.req.Msgid)
	p.processLocked(&lc.req)
}

// sessionRefusal returns the refusal of a call whose sign_no expired, or nil; the
// caller holds p.mu. A sign_no a call uses is remembered, so that ExpireSessions also
// expires sessions the platform never issued (RequireSignIn off).
func (p *Platform) sessionRefusal(req *platform.Request) *bizError {
	if req.Infno == platform.InfnoSignIn || req.SignNo == "" {
		return nil
	}
	if p.st.expired[req.SignNo] {
		return biz(msgSessionExpired).as(RuleSessionExpired)
	}
	p.st.used[req.SignNo] = true
	return nil
}

// reversibleList names the scope of 2601 for a refusal.
func reversibleList() string { return strings.Join(platform.ReversibleInfnos(), ", ") }

// insuplcRefusal refuses a call about a person whose envelope names another insured
// place (insuplc_admdvs) than the person's: the platform routes a call by it, and the
// insured place decides the policy. An empty insuplc_admdvs is not checked.
func (p *Platform) insuplcRefusal(req *platform.Request) *bizError {
	if req.InsuplcAdmdvs == "" {
		return nil
	}
	psnNo := psnNoOf(req.Input)
	if psnNo == "" {
		return nil
	}
	fp, ok := p.byPsnNo[psnNo]
	if !ok || fp.InsuplcAdmdvs == req.InsuplcAdmdvs {
		return nil
	}
	return biz("参保地医保区划 insuplc_admdvs %s 与参保人参保地 %s 不符", req.InsuplcAdmdvs, fp.InsuplcAdmdvs).as(RuleInsuplcMismatch)
}

// psnNoOf finds the psn_no of an input: at its top, in its first object (data,
// mdtrtinfo, …) or in the first element of its first list (feedetail).
func psnNoOf(input json.RawMessage) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(input, &top) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(top["psn_no"], &s) == nil && s != "" {
		return s
	}
	for _, k := range sortedRawKeys(top) {
		v := bytes.TrimSpace(top[k])
		if len(v) > 0 && v[0] == '[' {
			var list []json.RawMessage
			if json.Unmarshal(v, &list) != nil || len(list) == 0 {
				continue
			}
			v = list[0]
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(v, &obj) == nil && json.Unmarshal(obj["psn_no"], &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
