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
	// a write transaction (IsWrite) the agent must send a reversal (2601) naming the msgid
	// before repeating the step.
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
)

// BusinessError is a final refusal: infcode negative (other than -1) with the platform's
// err_msg, verbatim, for the cashier. errors.Is(err, ErrBusiness) holds.
type BusinessError struct {
	Infno   string
	Infcode int
	ErrMsg  string
}

// Error returns the infno, infcode and the platform's message.
func (e *BusinessError) Error() string {
	return fmt.Sprintf("platform refused %s (infcode %d): %s", e.Infno, e.Infcode, e.ErrMsg)
}

// Is makes errors.Is(err, ErrBusiness) true.
func (e *BusinessError) Is(target error) bool { return target == ErrBusiness }

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
// ErrOutcomeUnknown for -1, a *BusinessError for any other negative value. A positive
// infcode is not in the spec; it is treated as a business refusal too (final, with the
// message shown), since the platform answered definitely.
func InfcodeError(infno string, r *Response) error {
	switch {
	case r.Infcode == InfcodeOK:
		return nil
	case r.Infcode == InfcodeSystemError:
		return fmt.Errorf("%s infcode -1 (%s): %w", infno, r.ErrMsg, ErrOutcomeUnknown)
	}
	return &BusinessError{Infno: infno, Infcode: r.Infcode, ErrMsg: r.ErrMsg}
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
// ErrUnauthorized is OutcomeNotSent (the gateway refused it before any processing); an
// error of no known class is OutcomeUnknown, the safe assumption.
func Classify(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrBusiness):
		return OutcomeBusiness
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrNotSent):
		return OutcomeNotSent
	}
	return OutcomeUnknown
}
