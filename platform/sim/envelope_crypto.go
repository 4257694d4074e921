package sim

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/gmcodec"
)

// The refusals of a 国密 platform, as provinces word them.
const (
	errMsgDecrypt   = "解密失败"
	errMsgSignature = "验签失败"
)

// openEnvelope checks a request against Options.Codec and returns its plain JSON. A
// request that is plain where the province encrypts, encrypted with another key, or
// unsigned or signed wrongly is answered here (infcode -2, 解密失败 or 验签失败, plain:
// the platform cannot tell whom to answer in its mode) and ok is false: nothing is
// processed, nothing booked, and the msgid is not used up.
func (p *Platform) openEnvelope(w http.ResponseWriter, body []byte) (plain []byte, ok bool) {
	if p.opts.Codec == nil || !p.opts.Codec.Enabled() {
		return body, true
	}
	plain, _, err := p.opts.Codec.Open(body, gmcodec.FieldInput, true)
	if err == nil {
		return plain, true
	}
	var req platform.Request
	var head struct {
		Infno string `json:"infno"`
		Msgid string `json:"msgid"`
	}
	_ = json.Unmarshal(body, &head) // best effort: to name it in the log and the refusal count
	req.Infno, req.Msgid = head.Infno, head.Msgid
	msg, rule := errMsgDecrypt, RuleEnvelopeUndecryptable
	if errors.Is(err, gmcodec.ErrSignature) {
		msg, rule = errMsgSignature, RuleEnvelopeSignature
	}
	p.mu.Lock()
	p.noteViolation(rule, &req)
	p.mu.Unlock()
	p.log.Info("sim refused the envelope", "infno", req.Infno, "msgid", req.Msgid, "err", err)
	p.reply(w, p.encodePlain(&platform.Response{Infcode: infcodeBusiness, ErrMsg: msg}))
	return nil, false
}

// sealAnswer puts an answer in the province's 国密 envelope: output encrypted,
// the envelope signed (SM3 with the secret, or SM2 with the platform's own key).
func (p *Platform) sealAnswer(b []byte) []byte {
	if p.opts.Codec == nil || !p.opts.Codec.Enabled() {
		return b
	}
	out, err := p.opts.Codec.Seal(b, gmcodec.FieldOutput)
	if err != nil {
		p.log.Error("sim could not seal an answer", "err", err)
		return p.encodePlain(&platform.Response{Infcode: platform.InfcodeSystemError, ErrMsg: "系统异常: 加密失败"})
	}
	return out
}
