package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// document is a workflow's record as the shared send path sees it: a bill's Record
// or a stay's StayRecord. A next workflow's record is one more.
type document interface {
	journal() *Journal
	// logMsg records a line of the document's history (bounded per workflow).
	logMsg(msgid, infno, outcome, errMsg string, at time.Time)
	// sender is the window that sends the document's messages and its insured place
	// (empty: the hospital's own).
	sender() (window, insuplc string)
	// name names the document in errors: "bill B1", "stay Z1".
	name() string
	// ref is the log attribute that names the document: "bill_no", "B1".
	ref() (key, value string)
	// key is where the store keeps the document; index its index entries.
	key() (kind, id string)
	index() []string
	// job is the key and payload of the document's queue job.
	job() (key string, p jobPayload)
}

func (r *Record) journal() *Journal                { return &r.Journal }
func (r *Record) sender() (window, insuplc string) { return r.Bill.Window, r.Insuplc }
func (r *Record) name() string                     { return "bill " + r.Bill.BillNo }
func (r *Record) ref() (string, string)            { return "bill_no", r.Bill.BillNo }
func (r *Record) key() (string, string)            { return KindBill, r.Bill.BillNo }
func (r *Record) index() []string                  { return billIndex(r) }
func (r *Record) job() (string, jobPayload) {
	return r.Bill.BillNo, jobPayload{Kind: KindBill, ID: r.Bill.BillNo, BillNo: r.Bill.BillNo}
}
func (r *StayRecord) job() (string, jobPayload) {
	return "stay/" + r.Admission.IptNo, jobPayload{Kind: KindStay, ID: r.Admission.IptNo}
}
func (r *StayRecord) journal() *Journal                { return &r.Journal }
func (r *StayRecord) sender() (window, insuplc string) { return r.Admission.Window, r.Insuplc }
func (r *StayRecord) name() string                     { return "stay " + r.Admission.IptNo }
func (r *StayRecord) ref() (string, string)            { return "ipt_no", r.Admission.IptNo }
func (r *StayRecord) key() (string, string)            { return KindStay, r.Admission.IptNo }
func (r *StayRecord) index() []string                  { return stayIndex(r) }

// renewing runs send, and once more after a sign-in when the platform refused it
// because it forgot the session (nothing was processed).
func (c *core) renewing(ctx context.Context, send func() error) error {
	stale := c.link.pf.SignNo()
	err := send()
	if errors.Is(err, platform.ErrSessionExpired) && c.link.renewSession(ctx, stale) {
		err = send()
	}
	return err
}

// sendStored sends the write msgid of doc, whose msgid is stored (fsynced) as pending
// with the document, and records how it ended: a definite answer resolves the pending
// message; a send without one leaves it pending, marked unknown, to be resolved
// before anything else happens to the document.
func (c *core) sendStored(ctx context.Context, doc document, infno, msgid string, in, out any) error {
	j := doc.journal()
	doc.logMsg(msgid, infno, OutcomeSent, "", c.now())
	resp, err := c.callFor(ctx, doc, infno, msgid, in, out)
	if c.keptBooked(doc, infno, msgid, resp, err) {
		if infno == platform.InfnoCancelSettle || infno == platform.InfnoInpatientCancelSettle {
			return nil
		}
		return fmt.Errorf("%s for %s: %w: %w", infno, doc.name(), ErrBookedUnread, err)
	}
	switch platform.Classify(err) {
	case platform.OutcomeOK, platform.OutcomeBusiness, platform.OutcomeNotSent:
		j.resolvePending(msgid)
	default:
		j.markUnknown(msgid)
	}
	if err != nil {
		return fmt.Errorf("%s for %s: %w", infno, doc.name(), err)
	}
	return nil
}

// bookedUnread reports whether a call was answered infcode 0 in an answer that lacks
// what the agent needs (platform.ErrBadResponse on a decoded success envelope).
func bookedUnread(resp *platform.Response, err error) bool {
	return resp != nil && resp.Infcode == 0 && errors.Is(err, platform.ErrBadResponse)
}

// keptBooked applies the one rule for a settlement or its cancellation (bills and
// stays alike) answered infcode 0 in an answer the agent cannot read in full: it is a
// success (platform.md), never reversed; it is resolved, logged and noted as booked,
// and a settlement is then found with 5203 and adopted. It reports whether the rule
// applied.
func (c *core) keptBooked(doc document, infno, msgid string, resp *platform.Response, err error) bool {
	switch infno {
	case platform.InfnoSettle, platform.InfnoCancelSettle, platform.InfnoInpatientSettle, platform.InfnoInpatientCancelSettle:
	default:
		return false
	}
	if !bookedUnread(resp, err) {
		return false
	}
	j := doc.journal()
	j.resolvePending(msgid)
	doc.logMsg(msgid, infno, OutcomeOK, "booked; answer unreadable: "+err.Error(), c.now())
	j.addNote(&j.Surprises, infno+" "+msgid+": infcode 0 in an answer the agent could not read in full ("+err.Error()+"); kept as booked")
	return true
}

// read sends a message of doc (nil: of no document) that books nothing, or one whose
// repetition is harmless and whose msgid need not be stored (the resolution's own
// 2601 and fee cancellations): a msgid of its own per try, and once more after a
// sign-in when the platform forgot the session.
func (c *core) read(ctx context.Context, doc document, infno string, in, out any) error {
	for try := 0; ; try++ {
		msgid, err := c.link.nextMsgid()
		if err != nil {
			return err
		}
		stale := c.link.pf.SignNo()
		_, err = c.callFor(ctx, doc, infno, msgid, in, out)
		if errors.Is(err, platform.ErrSessionExpired) && try == 0 && c.link.renewSession(ctx, stale) {
			continue
		}
		return err
	}
}

// callFor sends one message of doc (nil: of no document) and records its outcome in
// the document's history, with what the answer said for people: a warning (warn_msg)
// for the cashier, and what surprised the client in a successful answer (kept, shown,
// never reversed).
func (c *core) callFor(ctx context.Context, doc document, infno, msgid string, in, out any) (*platform.Response, error) {
	resp, err := c.link.call(ctx, infno, c.link.meta(msgid, doc), in, out)
	if doc == nil {
		return resp, err
	}
	c.recordOutcome(doc, msgid, infno, err)
	if resp != nil {
		j := doc.journal()
		if resp.WarnMsg != "" {
			j.addNote(&j.Warnings, infno+": "+resp.WarnMsg)
		}
		for _, s := range resp.Surprises {
			j.addNote(&j.Surprises, infno+" "+msgid+": "+s.String())
		}
	}
	return resp, err
}

// recordOutcome logs how a message of doc ended.
func (c *core) recordOutcome(doc document, msgid, infno string, err error) {
	now := c.now()
	switch platform.Classify(err) {
	case platform.OutcomeOK:
		doc.logMsg(msgid, infno, OutcomeOK, "", now)
	case platform.OutcomeBusiness:
		doc.logMsg(msgid, infno, OutcomeRefused, refusalMessage(err), now)
	case platform.OutcomeNotSent:
		doc.logMsg(msgid, infno, OutcomeNotSent, err.Error(), now)
	default:
		doc.logMsg(msgid, infno, OutcomeUnknown, err.Error(), now)
	}
}
