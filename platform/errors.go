package platform

import (
	"errors"
	"fmt"
)

// The outcome classes of a call. Every error Client.Call returns wraps exactly one of
// them; callers decide with errors.Is (or Classify) and never by reading messages.
var (
	// ErrBusiness marks a final refusal by the platform (infcode negative, not -1): the
	// transaction did not happen and will not; the message is for the cashier. The
	// error is a *BusinessError.
	ErrBusiness = errors.New("refused by the platform")

	// ErrOutcomeUnknown marks a call whose request may have reached the platform but
	// whose answer did not come back in a usable form: infcode -1, HTTP 5xx, a timeout or
	// broken connection after the request may have been written, an unparseable body. For
	// a write transaction (IsWrite) the agent must resolve it before repeating the step:
	// 2601 naming the msgid for a reversible one (IsReversible), the transaction's own
	// tool otherwise.
	ErrOutcomeUnknown = errors.New("platform outcome unknown")

	// ErrNotSent marks a call that certainly never left the machine: the connection could
	// not be dialled (refused, no route, DNS) or the TLS handshake failed, or the request
	// could not be built. It is safe to retry with the same or a new msgid.
	ErrNotSent = errors.New("request not sent to the platform")

	// ErrBadResponse marks a success answer (infcode 0) that lacks fields the agent relies
	// on or whose amounts do not add up. It also wraps ErrOutcomeUnknown: the platform may
	// have booked something the agent could not read.
	ErrBadResponse = errors.New("bad response from the platform")

	// ErrUnauthorized marks HTTP 401 from the gateway: a bad or stale signature, a wrong
	// paasid or token, or a clock more than 300 s off. The request was not processed;
	// IT must fix the configuration or the clock.
	ErrUnauthorized = errors.New("platform gateway refused the signature (HTTP 401): check paasid, token and the clock")

	// ErrEnvelopeRefused marks the platform's refusal of an envelope it could not
	// decrypt or whose signature did not verify (解密失败, 验签失败; an
	// *EnvelopeRefusal): nothing was processed. Like ErrUnauthorized it is
	// OutcomeNotSent: IT must fix [platform.crypto]; bills wait, none fails for it.
	ErrEnvelopeRefused = errors.New("the platform could not decrypt or verify the envelope: check [platform.crypto]")

	// ErrOriginalNotFound marks a business refusal of a reversal (2601) saying the
	// original transaction does not exist (原交易不存在): the platform does not hold what
	// omsgid would have booked, so for the caller it is "not booked now". It is always
	// also ErrBusiness.
	ErrOriginalNotFound = errors.New("the platform holds no such original transaction")

	// ErrAlreadySettled marks a business refusal saying the visit is already settled
	// (该就诊已结算, 重复结算): when a repeated 2207/2304 gets it, the settlement that
	// stands is the one the caller was making (find it with 5203 by mdtrt_id). It is
	// always also ErrBusiness.
	ErrAlreadySettled = errors.New("the visit is already settled at the platform")

	// ErrSessionExpired marks a business refusal saying the sign_no is unknown or
	// expired (签到失效, 请先签到): sign in again (9001) once and repeat the call with a
	// new msgid. Nothing was processed. It is always also ErrBusiness.
	ErrSessionExpired = errors.New("the platform no longer knows the session (sign_no): sign in again")

	// ErrAlreadyRegistered marks a business refusal of a registration (2201, 2401) saying
	// the hospital's visit number (ipt_otp_no / ipt_no) is already registered (该门诊号已
	// 挂号, 重复挂号, 已办理入院): the visit stands — a lost registration that landed
	// late — so find it (5201 by ipt_otp_no) and adopt its mdtrt_id. Always also
	// ErrBusiness.
	ErrAlreadyRegistered = errors.New("the visit number is already registered at the platform")

	// ErrNothingToCancel marks a business refusal of a cancellation (2205, 2302, 2208,
	// ...) saying there is nothing (left) to cancel: none of it is booked now. It is
	// always also ErrBusiness.
	ErrNothingToCancel = errors.New("the platform holds nothing to cancel")

	// ErrAlreadyDischarged marks a refusal of a discharge (2402) because the stay is
	// discharged already (已办理出院): a 2402 of the caller's booked late. Always also
	// ErrBusiness.
	ErrAlreadyDischarged = errors.New("the stay is already discharged at the platform")

	// ErrLinesDiffer marks a refusal of an inpatient (pre-)settlement (2303, 2304)
	// because the platform holds other fee lines than the request names (不符): an
	// upload given up on landed late. Always also ErrBusiness.
	ErrLinesDiffer = errors.New("the platform holds other fee lines than the request")
)

// BusinessError is a final refusal: infcode negative (other than -1) with the platform's
// err_msg, verbatim, for the cashier. errors.Is(err, ErrBusiness) holds.
//
// Kind is the refinement the platform's message was recognised as by Phrases
// (ErrOriginalNotFound, ErrAlreadySettled, ErrSessionExpired, ErrNothingToCancel), or
// nil; errors.Is(err, Kind) holds too.
type BusinessError struct {
	Infno   string
	Infcode int
	ErrMsg  string
	Kind    error
}

// Error returns the infno, infcode and the platform's message.
func (e *BusinessError) Error() string {
	return fmt.Sprintf("platform refused %s (infcode %d): %s", e.Infno, e.Infcode, e.ErrMsg)
}

// Is makes errors.Is(err, ErrBusiness) true.
// With a Kind, errors.Is(err, Kind) is true as well.
func (e *BusinessError) Is(target error) bool {
	return target == ErrBusiness || e.Kind != nil && target == e.Kind
}

// badResponse wraps both ErrBadResponse and ErrOutcomeUnknown.
type badResponse struct{ msg string }

func (e *badResponse) Error() string { return "bad response from the platform: " + e.msg }

func (e *badResponse) Is(target error) bool {
	return target == ErrBadResponse || target == ErrOutcomeUnknown
}

// badf returns an error that is ErrBadResponse (and so ErrOutcomeUnknown).
func badf(format string, args ...any) error {
	return &badResponse{msg: fmt.Sprintf(format, args...)}
}

// InfcodeError returns the error an answer's infcode stands for: nil for 0,
// ErrOutcomeUnknown for -1, a *BusinessError for any other negative value, its Kind
// recognised by DefaultPhrases. A positive infcode is not in the spec; it is treated as
// a business refusal too (final, with the message shown), since the platform answered
// definitely.
func InfcodeError(infno string, r *Response) error { return DefaultPhrases.InfcodeError(infno, r) }

// InfcodeError is the package function InfcodeError with these phrases.
func (p Phrases) InfcodeError(infno string, r *Response) error {
	switch {
	case r.Infcode == InfcodeOK:
		return nil
	case r.Infcode == InfcodeSystemError:
		return fmt.Errorf("%s infcode -1 (%s): %w", infno, r.ErrMsg, ErrOutcomeUnknown)
	}
	return &BusinessError{Infno: infno, Infcode: r.Infcode, ErrMsg: r.ErrMsg, Kind: p.Kind(infno, r.ErrMsg)}
}

// Outcome is the class of a call's result.
type Outcome int

// Outcome classes, in the order a caller usually checks them.
const (
	OutcomeOK       Outcome = iota // success: the output is valid
	OutcomeBusiness                // final refusal: show err_msg, do not retry
	OutcomeUnknown                 // maybe booked: reverse (writes) or retry (reads)
	OutcomeNotSent                 // never left: retry freely
)

// String names the outcome for logs and metrics labels.
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeBusiness:
		return "business"
	case OutcomeUnknown:
		return "unknown"
	case OutcomeNotSent:
		return "not_sent"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Classify maps an error returned by Client.Call to its outcome. nil is OutcomeOK;
// ErrUnauthorized and ErrEnvelopeRefused are OutcomeNotSent (the gateway or the
// platform refused it before any processing); an
// error of no known class is OutcomeUnknown, the safe assumption.
func Classify(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrBusiness):
		return OutcomeBusiness
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrEnvelopeRefused), errors.Is(err, ErrNotSent):
		return OutcomeNotSent
	}
	return OutcomeUnknown
}
