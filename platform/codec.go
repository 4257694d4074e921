package platform

import (
	"errors"
	"fmt"
	"strings"

	"github.com/settle-agent/settle-agent/platform/gmcodec"
)

// EnvelopeCodec is what every envelope goes through between the client and the wire
// in a province that encrypts or signs it (国密: enctype "SM4", signtype "SM3"/"SM2").
// *gmcodec.Codec is the one kept; nil in Options is plain JSON.
type EnvelopeCodec interface {
	// Seal turns the plain request envelope into the body sent (field "input").
	Seal(env []byte, field string) ([]byte, error)
	// Open turns an answer body into its plain envelope (field "output"); strict is
	// false for answers; signed reports whether a signature was checked.
	Open(env []byte, field string, strict bool) (plain []byte, signed bool, err error)
	// RequiresSignedAnswers reports whether a successful answer without a valid
	// signature is not to be trusted (sm2 with the platform's public key).
	RequiresSignedAnswers() bool
	// Describe names the mode for people ("plain", "sm4+sm3", …).
	Describe() string
}

// EnvelopeRefusal is the platform's refusal of an envelope it could not decrypt or
// whose signature did not verify (解密失败, 验签失败): nothing was processed, so
// nothing was booked, and every later envelope will be refused the same way until IT
// fixes [platform.crypto]. errors.Is(err, ErrEnvelopeRefused) holds; Classify calls it
// OutcomeNotSent, so a bill waits in the queue and never fails for it.
type EnvelopeRefusal struct {
	Infno   string
	Infcode int
	ErrMsg  string
	// Mode is the codec's Describe ("plain" when the client sends plain JSON).
	Mode string
}

// Error says what the platform said and which settings to check.
func (e *EnvelopeRefusal) Error() string {
	return fmt.Sprintf("platform could not read the %s envelope (infcode %d: %s; this agent sends %s): %s; nothing was booked",
		e.Infno, e.Infcode, e.ErrMsg, e.Mode, e.Settings())
}

// Settings names the [platform.crypto] keys that decide what the platform refused.
func (e *EnvelopeRefusal) Settings() string {
	switch {
	case e.Mode == "plain" || e.Mode == "":
		return "the province requires 国密 envelopes: set [platform.crypto] mode, app_id, app_secret and sign as it issued them (docs/platform.md)"
	case strings.Contains(e.ErrMsg, "签"):
		return "check [platform.crypto] app_secret, sign, private_key_file and sm2_user_id against what the province issued"
	}
	return "check [platform.crypto] app_id and app_secret (and encoding, cipher, iv) against what the province issued"
}

// Is makes errors.Is(err, ErrEnvelopeRefused) true.
func (e *EnvelopeRefusal) Is(target error) bool { return target == ErrEnvelopeRefused }

// openAnswer runs an answer body through the codec; its errors are ErrBadResponse
// (the platform answered; what it booked is not known) naming the settings to check.
func (c *Client) openAnswer(infno string, body []byte) ([]byte, bool, error) {
	if c.codec == nil {
		return body, false, nil
	}
	plain, signed, err := c.codec.Open(body, gmcodec.FieldOutput, false)
	switch {
	case errors.Is(err, gmcodec.ErrSignature):
		return nil, false, badf("%s answer: %v: check [platform.crypto] platform_public_key_file, sm2_user_id and app_secret", infno, err)
	case err != nil:
		return nil, false, badf("%s answer: %v: check [platform.crypto] mode, app_id, app_secret, encoding, cipher and iv", infno, err)
	}
	return plain, signed, nil
}

// sealRequest runs a request envelope through the codec; an error is ErrNotSent.
func (c *Client) sealRequest(infno, msgid string, body []byte) ([]byte, error) {
	if c.codec == nil {
		return body, nil
	}
	out, err := c.codec.Seal(body, gmcodec.FieldInput)
	if err != nil {
		return nil, fmt.Errorf("call %s %s: [platform.crypto]: %v: %w", infno, msgid, err, ErrNotSent)
	}
	return out, nil
}
