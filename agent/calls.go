package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/queue"
)

// call sends one message to the platform and feeds the breaker and the metrics.
// While the breaker is open, it fails at once with ErrOffline (nothing is sent).
func (a *Agent) call(ctx context.Context, infno string, meta platform.Meta, in, out any) error {
	if !a.breaker.isOnline() && infno != platform.InfnoSignIn && ctx.Value(probeKey{}) == nil {
		return fmt.Errorf("%s: %w", infno, errOfflineNotSent)
	}
	start := time.Now()
	_, err := a.client.Call(ctx, infno, meta, in, out)
	elapsed := time.Since(start)
	addPlatformTime(ctx, elapsed)
	outcome := platform.Classify(err)
	a.metrics.observeCall(infno, outcome, elapsed)
	switch outcome {
	case platform.OutcomeOK, platform.OutcomeBusiness:
		a.breaker.ok()
	default:
		if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			a.breaker.fail()
		}
	}
	return err
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
func (a *Agent) meta(msgid string, rec *billRecord) platform.Meta {
	m := platform.Meta{Msgid: msgid, OpterType: platform.OpterStaff, Opter: "agent", OpterName: "settle-agent"}
	if rec != nil {
		m.InsuplcAdmdvs = rec.Insuplc
		m.Opter = rec.Bill.Window
		m.OpterName = "window " + rec.Bill.Window
	}
	if m.InsuplcAdmdvs == "" {
		m.InsuplcAdmdvs = a.cfg.Hospital.Admdvs
	}
	return m
}

func (a *Agent) nextMsgid() (string, error) {
	id, err := a.msgids.Next()
	if err != nil {
		return "", fmt.Errorf("msgid: %w", err)
	}
	return id, nil
}

// loadMsgidReservation reads the high-water second of msgids handed out before.
func (a *Agent) loadMsgidReservation() (time.Time, error) {
	var t time.Time
	err := a.store.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return nil
		}
		if v := b.Get(keyMsgidHigh); v != nil {
			var sec int64
			if _, err := fmt.Sscan(string(v), &sec); err != nil {
				return fmt.Errorf("msgid reservation %q: %w", v, err)
			}
			t = time.Unix(sec, 0)
		}
		return nil
	})
	return t, err
}

// reserveMsgids persists a new high-water mark before msgids beyond the old one exist,
// so that a restart never hands out a msgid twice.
func (a *Agent) reserveMsgids(until time.Time) error {
	return a.store.Batch(context.Background(), func(tx *queue.Tx) error {
		b, err := tx.Bolt().CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyMsgidHigh, []byte(fmt.Sprint(until.Unix())))
	})
}

// probeKey marks a context whose calls go out even while offline: the probe's.
type probeKey struct{}

// probe checks whether the platform answers: 1101 of the configured test person
// ([platform] probe_cert_type/probe_cert_no), else 9001 sign-in (which also renews the
// session). A success closes the breaker.
func (a *Agent) probe(ctx context.Context) bool {
	pc := a.cfg.Platform
	if pc.ProbeCertType == "" || pc.ProbeCertNo == "" {
		return a.signIn(ctx, true)
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, probeKey{}, true), pc.Timeout.Duration)
	defer cancel()
	_, err := a.personOnline(ctx, settle.Patient{MdtrtCertType: pc.ProbeCertType, MdtrtCertNo: pc.ProbeCertNo}, nil)
	if err != nil && !errors.Is(err, platform.ErrBusiness) {
		a.log.Debug("probe: the platform does not answer yet", "err", err)
		return false
	}
	a.breaker.ok()
	if a.client.SignNo() == "" {
		a.signIn(ctx, true)
	}
	return true
}

// signIn sends 9001; on failure the agent starts offline and the probe keeps trying.
// quiet logs a failure at debug level (the probe tries every few seconds).
func (a *Agent) signIn(ctx context.Context, quiet bool) bool {
	msgid, err := a.nextMsgid()
	if err != nil {
		a.log.Error("sign-in: no msgid", "err", err)
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Platform.Timeout.Duration)
	defer cancel()
	in := platform.SignInInput{SignIn: platform.SignInData{OpterNo: "agent", Mac: macAddress(), IP: hostIP()}}
	var out platform.SignInOutput
	if err := a.call(ctx, platform.InfnoSignIn, a.meta(msgid, nil), in, &out); err != nil {
		a.breaker.trip()
		if quiet {
			a.log.Debug("sign-in failed", "err", err)
		} else {
			a.log.Warn("sign-in to the platform failed; working offline until it answers", "err", err)
		}
		return false
	}
	a.client.SetSignNo(out.Signinoutb.SignNo)
	a.breaker.ok()
	a.log.Info("signed in to the platform", "sign_no", out.Signinoutb.SignNo)
	return true
}

// signOut sends 9002 at shutdown, briefly: the platform not answering must not hold the stop.
func (a *Agent) signOut() {
	if a.client.SignNo() == "" || !a.breaker.isOnline() {
		return
	}
	msgid, err := a.nextMsgid()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	in := platform.SignOutInput{SignOut: platform.SignOutData{SignNo: a.client.SignNo(), OpterNo: "agent"}}
	if err := a.call(ctx, platform.InfnoSignOut, a.meta(msgid, nil), in, nil); err != nil {
		a.log.Warn("sign-out failed", "err", err)
		return
	}
	a.log.Info("signed out of the platform")
}

// probeLoop checks, while offline, whether the platform answers again (9001 sign-in,
// which also renews the session), and re-signs in daily while online.
func (a *Agent) probeLoop(ctx context.Context) {
	interval := a.cfg.Platform.ProbeInterval.Duration
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	lastSignIn, lastReminder := a.now(), a.now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		online, since, _ := a.breaker.state()
		if !online {
			if a.probe(ctx) {
				lastSignIn = a.now()
			} else if a.now().Sub(lastReminder) >= 10*time.Minute {
				lastReminder = a.now()
				a.log.Warn("still offline: the platform does not answer; bills are queued", "since", since)
			}
			continue
		}
		if a.now().Sub(lastSignIn) > 24*time.Hour {
			if a.signIn(ctx, false) {
				lastSignIn = a.now()
			}
		}
	}
}

func macAddress() string {
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 && len(i.HardwareAddr) > 0 {
			return strings.ToUpper(i.HardwareAddr.String())
		}
	}
	return ""
}

func hostIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}
