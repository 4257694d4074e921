package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// call sends one message to the platform and feeds the breaker and the observer.
// While the breaker is open, it fails at once with ErrOffline (nothing is sent).
func (e *Link) call(ctx context.Context, infno string, meta platform.Meta, in, out any) (*platform.Response, error) {
	if !e.breaker.Online() && infno != platform.InfnoSignIn && ctx.Value(probeKey{}) == nil {
		return nil, fmt.Errorf("%s: %w", infno, errOfflineNotSent)
	}
	start := time.Now()
	resp, err := e.pf.Call(ctx, infno, meta, in, out)
	elapsed := time.Since(start)
	e.pclock.observe(resp, e.now())
	addPlatformTime(ctx, elapsed)
	outcome := platform.Classify(err)
	e.obs.PlatformCall(infno, outcome, elapsed)
	switch outcome {
	case platform.OutcomeOK, platform.OutcomeBusiness:
		e.breaker.OK()
	default:
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.breaker.Fail()
		}
	}
	return resp, err
}

// Call sends one message outside any bill (reconciliation, doctor): the same
// breaker, observer and msgid rules as the workflows' own calls, bounded by the
// engine's call timeout.
func (e *Link) Call(ctx context.Context, infno string, in, out any) error {
	msgid, err := e.nextMsgid()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.o.CallTimeout)
	defer cancel()
	stale := e.pf.SignNo()
	_, err = e.call(ctx, infno, e.meta(msgid, nil), in, out)
	if errors.Is(err, platform.ErrSessionExpired) && e.renewSession(ctx, stale) {
		if msgid, err = e.nextMsgid(); err != nil {
			return err
		}
		_, err = e.call(ctx, infno, e.meta(msgid, nil), in, out)
	}
	return err
}

// Meta is a new envelope part (with a new msgid) for a call outside any bill.
func (e *Link) Meta() (platform.Meta, error) {
	msgid, err := e.nextMsgid()
	if err != nil {
		return platform.Meta{}, err
	}
	return e.meta(msgid, nil), nil
}

// renewSession signs in again after the platform refused a call made with the session
// stale as one it no longer knows: once for all the callers that hit it at about the
// same time (when the session is no longer stale, another caller renewed it). It
// reports whether the engine holds a new session.
func (e *Link) renewSession(ctx context.Context, stale string) bool {
	e.sessionMu.Lock()
	defer e.sessionMu.Unlock()
	if cur := e.pf.SignNo(); cur != "" && cur != stale {
		return true
	}
	e.log.Warn("the platform no longer knows the session: signing in again")
	return e.SignIn(ctx, false)
}

// errOfflineNotSent wraps ErrOffline so that platform.Classify sees "not sent".
var errOfflineNotSent = &notSentError{ErrOffline}

type notSentError struct{ err error }

func (e *notSentError) Error() string   { return e.err.Error() }
func (e *notSentError) Unwrap() []error { return []error{e.err, platform.ErrNotSent} }
func (e *notSentError) Is(target error) bool {
	return target == ErrOffline || target == platform.ErrNotSent
}

// meta is the envelope part that names the window and the insured place.
func (e *Link) meta(msgid string, rec *Record) platform.Meta {
	m := platform.Meta{Msgid: msgid, OpterType: platform.OpterStaff, Opter: "agent", OpterName: "settle-agent"}
	if rec != nil {
		m.InsuplcAdmdvs = rec.Insuplc
		m.Opter = rec.Bill.Window
		m.OpterName = "window " + rec.Bill.Window
	}
	if m.InsuplcAdmdvs == "" {
		m.InsuplcAdmdvs = e.o.Admdvs
	}
	return m
}

func (e *Link) nextMsgid() (string, error) {
	id, err := e.msgids.Next()
	if err != nil {
		return "", fmt.Errorf("msgid: %w", err)
	}
	return id, nil
}

// probeKey marks a context whose calls go out even while offline: the probe's.
type probeKey struct{}

// Probe checks whether the platform answers: 1101 of the configured test person,
// else 9001 sign-in (which also renews the session). A success closes the breaker.
func (e *Link) Probe(ctx context.Context) bool {
	if e.o.ProbeCertType == "" || e.o.ProbeCertNo == "" {
		return e.SignIn(ctx, true)
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, probeKey{}, true), e.o.CallTimeout)
	defer cancel()
	_, err := e.personOnline(ctx, settle.Patient{MdtrtCertType: e.o.ProbeCertType, MdtrtCertNo: e.o.ProbeCertNo}, nil)
	if err != nil && !errors.Is(err, platform.ErrBusiness) {
		e.log.Debug("probe: the platform does not answer yet", "err", err)
		return false
	}
	e.breaker.OK()
	if e.pf.SignNo() == "" {
		e.SignIn(ctx, true)
	}
	return true
}

// SignIn sends 9001; on failure the agent works offline and the probe keeps trying.
// quiet logs a failure at debug level (the probe tries every few seconds).
func (e *Link) SignIn(ctx context.Context, quiet bool) bool {
	msgid, err := e.nextMsgid()
	if err != nil {
		e.log.Error("sign-in: no msgid", "err", err)
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, e.o.CallTimeout)
	defer cancel()
	in := platform.SignInInput{SignIn: platform.SignInData{OpterNo: e.o.SignInOpter, Mac: e.o.SignInMac, IP: e.o.SignInIP}}
	if in.SignIn.OpterNo == "" {
		in.SignIn.OpterNo = "agent"
	}
	var out platform.SignInOutput
	if _, err := e.call(ctx, platform.InfnoSignIn, e.meta(msgid, nil), in, &out); err != nil {
		if errors.Is(err, platform.ErrBusiness) {
			// The platform answered: it is there, and refused this machine's sign-in
			// (a wrong operator, MAC or code). Not offline: IT must look.
			e.refusalMu.Lock()
			e.signInRefusal = refusalMessage(err)
			e.refusalMu.Unlock()
			e.log.Error("the platform refused the sign-in (9001); hospital IT must check the operator and the hospital code", "err_msg", refusalMessage(err))
			return false
		}
		e.breaker.Trip()
		if errors.Is(err, platform.ErrEnvelopeRefused) {
			// The platform could not decrypt or verify the envelope: nothing was booked,
			// and nothing will be until IT fixes [platform.crypto]. Bills wait in the
			// queue as while offline; the status page says what to fix.
			e.refusalMu.Lock()
			e.signInRefusal = err.Error()
			e.refusalMu.Unlock()
			if !quiet {
				e.log.Error("the platform refused the sign-in envelope (9001); working offline until [platform.crypto] is fixed", "err", err)
			}
			return false
		}
		if quiet {
			e.log.Debug("sign-in failed", "err", err)
		} else {
			e.log.Warn("sign-in to the platform failed; working offline until it answers", "err", err)
		}
		return false
	}
	e.pf.SetSignNo(out.Signinoutb.SignNo)
	e.refusalMu.Lock()
	e.signInRefusal = ""
	e.refusalMu.Unlock()
	e.breaker.OK()
	e.log.Info("signed in to the platform", "sign_no", out.Signinoutb.SignNo)
	return true
}

// SignOut sends 9002 at shutdown, briefly: the platform not answering must not hold
// the stop.
func (e *Link) SignOut() {
	if e.pf.SignNo() == "" || !e.breaker.Online() {
		return
	}
	msgid, err := e.nextMsgid()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	in := platform.SignOutInput{SignOut: platform.SignOutData{SignNo: e.pf.SignNo(), OpterNo: "agent"}}
	if _, err := e.call(ctx, platform.InfnoSignOut, e.meta(msgid, nil), in, nil); err != nil {
		e.log.Warn("sign-out failed", "err", err)
		return
	}
	e.log.Info("signed out of the platform")
}

// probeLoop checks, while offline, whether the platform answers again, and re-signs
// in daily while online.
func (e *Link) probeLoop(ctx context.Context) {
	t := time.NewTicker(e.o.ProbeInterval)
	defer t.Stop()
	lastSignIn, lastReminder := e.now(), e.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		online, since, _ := e.breaker.State()
		if !online {
			if e.Probe(ctx) {
				lastSignIn = e.now()
			} else if e.now().Sub(lastReminder) >= 10*time.Minute {
				lastReminder = e.now()
				e.log.Warn("still offline: the platform does not answer; bills are queued", "since", since)
			}
			continue
		}
		if e.now().Sub(lastSignIn) > 24*time.Hour {
			if e.SignIn(ctx, false) {
				lastSignIn = e.now()
			}
		}
	}
}

// SignInRefusal is the platform's message when it refused the last sign-in (9001),
// for IT; "" when it did not.
func (e *Link) SignInRefusal() string {
	e.refusalMu.Lock()
	defer e.refusalMu.Unlock()
	return e.signInRefusal
}

// FindPerson asks the platform (1101) within the cashier deadline; offline, or when
// it does not answer in time, the last answer kept for that certificate (source
// "cache", with when it was taken, when the name given, if any, is the person's); else
// an error matching settle.ErrNotFound.
func (e *Link) FindPerson(ctx context.Context, pt settle.Patient) (p *settle.Person, source string, cachedAt time.Time, err error) {
	if e.breaker.Online() {
		dctx, cancel := context.WithTimeout(ctx, e.o.Deadline)
		p, err := e.personOnline(dctx, pt, nil)
		cancel()
		if err == nil {
			return p, SourcePlatform, time.Time{}, nil
		}
		if isFinal(err) {
			return nil, "", time.Time{}, &Refusal{Code: "platform_refused", Message: refusalMessage(err)}
		}
		e.log.Warn("person lookup did not finish online; using the cache", "err", err)
	}
	cp, err := e.cachedPerson(pt.MdtrtCertType, pt.MdtrtCertNo)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	// A name given must be the person's, as the platform checks it online (1101).
	if cp == nil || pt.PsnName != "" && cp.Person.PsnName != "" && strings.TrimSpace(pt.PsnName) != cp.Person.PsnName {
		return nil, "", time.Time{}, fmt.Errorf("person: %w", settle.ErrNotFound)
	}
	person := cp.Person
	return &person, SourceCache, cp.At, nil
}
