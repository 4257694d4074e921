package workflow

import (
	"errors"
	"slices"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// State is where a bill (or a stay) stands (cashier-api.md). The names are defined
// once, here, for every workflow.
type State string

// The states.
const (
	StateReceived   State = "received"   // stored, nothing asked of the platform yet
	StatePresettled State = "presettled" // the split is known (platform or estimate)
	StateQueued     State = "queued"     // waiting for the platform
	StateSettling   State = "settling"   // settlement message in flight
	StateSettled    State = "settled"    // booked at the platform exactly once
	StateCancelled  State = "cancelled"  // cancelled (at the platform, or before anything was sent)
	StateFailed     State = "failed"     // a business error that needs a person
	StateDead       State = "dead"       // gave up after the retry horizon; never deleted
	StateAdmitted   State = "admitted"   // a stay: admitted (2401 booked)
	StateDischarged State = "discharged" // a stay: discharged (2402 booked)
)

// BillStates lists the states a bill can be in, in the order lists show them.
var BillStates = []State{StateReceived, StatePresettled, StateQueued, StateSettling, StateSettled, StateCancelled, StateFailed, StateDead}

// Terminal reports whether nothing more will happen on its own.
func (s State) Terminal() bool {
	return s == StateSettled || s == StateCancelled || s == StateFailed || s == StateDead
}

// Goal is what a bill's workflow is driving towards.
type Goal string

// The goals of a bill.
const (
	GoalPresettle Goal = "presettle"
	GoalSettle    Goal = "settle"
	GoalCancel    Goal = "cancel"
)

// Where a person's data came from (cashier-api.md "source").
const (
	SourcePlatform = "platform"
	SourceCache    = "cache"
	SourceCard     = "card"
)

// Record is everything the agent keeps of one bill, in the store under its bill_no.
// It is the resumable state of the workflow: each field set means a step done, and
// Pending names the write messages whose msgids are stored and whose outcome is not
// known: sent without a definite answer, or planned (stored before the chain's first
// write left) when the agent stopped.
type Record struct {
	Bill         settle.Bill    `json:"bill"`
	State        State          `json:"state"`
	Goal         Goal           `json:"goal"`
	Source       string         `json:"source"`
	BodyHash     string         `json:"body_hash"`
	Person       *settle.Person `json:"person,omitempty"`
	PersonSource string         `json:"person_source,omitempty"`
	PsnNo        string         `json:"psn_no,omitempty"`
	Insutype     string         `json:"insutype,omitempty"`
	Insuplc      string         `json:"insuplc_admdvs,omitempty"`
	QualChecked  bool           `json:"qual_checked,omitempty"`
	MdtrtID      string         `json:"mdtrt_id,omitempty"`
	VisitDone    bool           `json:"visit_done,omitempty"`
	FeesDone     bool           `json:"fees_done,omitempty"`
	// FeeBatch numbers the current 2204 charge batch: a lost upload is cancelled
	// (2205 by chrg_bchno) and sent again under the next number.
	FeeBatch   int           `json:"fee_batch,omitempty"`
	FeeResults []FeeLine     `json:"fee_results,omitempty"`
	Presettle  *settle.Split `json:"presettle,omitempty"`
	// PresettleBatch is the charge batch the platform's pre-settlement was of.
	PresettleBatch int           `json:"presettle_batch,omitempty"`
	Estimate       bool          `json:"estimate,omitempty"`
	AcctUsedFlag   string        `json:"acct_used_flag,omitempty"`
	PsnSetlway     string        `json:"psn_setlway,omitempty"`
	Settlement     *settle.Split `json:"settlement,omitempty"`
	SettledAt      time.Time     `json:"settled_at,omitempty"`
	// SettleDay is the settlement's day: the platform's setl_time in Beijing time.
	SettleDay    string `json:"settle_day,omitempty"`
	SettleMsgid  string `json:"settle_msgid,omitempty"`
	Cancelled    bool   `json:"cancelled,omitempty"` // 2208 done
	CancelDay    string `json:"cancel_day,omitempty"`
	RegCancelled bool   `json:"reg_cancelled,omitempty"`
	// StrayVisits: a lost 2201 was resolved "not booked" and the bill registered
	// again; once the bill is settled or cancelled the engine looks (5201) for the
	// lost one landing late, and cancels it (2202). Cleared when looked.
	StrayVisits bool          `json:"stray_visits,omitempty"`
	Provisional *settle.Split `json:"provisional,omitempty"`
	Collected   *settle.Money `json:"collect_now,omitempty"`
	// Carried is the fund share the hospital carries for this bill (estimate policy)
	// until it is released, once.
	Carried  settle.Money `json:"carried,omitempty"`
	Offline  bool         `json:"offline,omitempty"` // settlement went through the queue
	QueuedAt time.Time    `json:"queued_at,omitempty"`
	QueueDay string       `json:"queue_day,omitempty"`
	QueueID  uint64       `json:"queue_id,omitempty"`
	Pending  []Pending    `json:"pending,omitempty"`
	// Reversing names the reversible messages (2207, 2208) whose 2601 went out
	// without a definite answer: such a 2601 may still land and undo what its
	// original booked, so what one of them booked is never taken as it stands (a
	// settlement adopted, a cancellation found done): it is reversed for certain and
	// the step made anew. A message leaves the list once a 2601 of it succeeded.
	Reversing   Reversals `json:"reversing,omitempty"`
	History     []Message `json:"history"`
	Warnings    []string  `json:"warnings,omitempty"`
	Surprises   []string  `json:"surprises,omitempty"`
	ErrCode     string    `json:"err_code,omitempty"`
	ErrMsg      string    `json:"err_msg,omitempty"`
	DoneDay     string    `json:"done_day,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	CreatedAuto bool      `json:"created_at_auto,omitempty"`

	stored State // state as last written (not persisted)
	// riders are cache writes waiting for the bill's next save (not persisted).
	riders []func(tx Tx) error
}

// FeeLine is what the platform answered for one uploaded fee line (2204 result).
type FeeLine struct {
	FeedetlSn       string       `json:"feedetl_sn"`
	FulamtOwnpayAmt settle.Money `json:"fulamt_ownpay_amt"`
	OverlmtAmt      settle.Money `json:"overlmt_amt"`
	PreselfpayAmt   settle.Money `json:"preselfpay_amt"`
	InscpScpAmt     settle.Money `json:"inscp_scp_amt"`
}

// Pending is a write message that was (or may have been) sent and whose outcome is
// not recorded: before anything else happens to the bill it is resolved with the
// transaction's own tools (platform.md "Outcome unknown").
type Pending struct {
	Infno   string `json:"infno"`
	Msgid   string `json:"msgid"`
	Unknown bool   `json:"unknown,omitempty"` // the send ended without a definite answer
	// Batch is the charge batch of a 2204.
	Batch string `json:"batch,omitempty"`
	// Absent counts, on a Reversals entry, the 2601s of it answered "原交易不存在"
	// (rebook's guard against undoing forever what another message did).
	Absent int `json:"absent,omitempty"`
	// planned: stored for a later step of this run and not sent yet (not persisted:
	// a stored entry may always have been sent).
	planned bool
}

// plannedFor returns the index of a planned, unsent message for infno, or -1.
func (r *Record) plannedFor(infno string) int {
	for i, p := range r.Pending {
		if p.planned && p.Infno == infno {
			return i
		}
	}
	return -1
}

// dropPlans forgets the planned messages this run did not send: they never left.
func (r *Record) dropPlans() {
	kept := r.Pending[:0]
	for _, p := range r.Pending {
		if !p.planned {
			kept = append(kept, p)
		}
	}
	r.Pending = kept
	if len(r.Pending) == 0 {
		r.Pending = nil
	}
}

// resolvePending removes the pending message msgid: its outcome is known now.
func (r *Record) resolvePending(msgid string) {
	for i, p := range r.Pending {
		if p.Msgid == msgid {
			r.Pending = append(r.Pending[:i], r.Pending[i+1:]...)
			break
		}
	}
	if len(r.Pending) == 0 {
		r.Pending = nil
	}
}

// unresolved reports whether the bill holds work whose outcome is not known yet: a
// pending message, or a stray visit whose cancellation got no definite answer. Such
// a bill is kept in the recovery index and its queue job is not acked.
func (r *Record) unresolved() bool { return len(r.Pending) > 0 || r.StrayVisits }

// reversing reports whether a 2601 of msgid is in flight.
func (r *Record) reversing(msgid string) bool { return r.Reversing.has(msgid) }

// Reversals names the reversible messages of a bill or a stay (2207, 2208, 2304,
// 2305, 2401) whose 2601 went out without a definite answer: such a 2601 may still
// land and undo what its original booked, so what one of them booked is never taken
// as it stands; it is reversed for certain and the step made anew. A message leaves
// the list once a 2601 of it succeeded.
type Reversals []Pending

// has reports whether a 2601 of msgid is in flight.
func (r Reversals) has(msgid string) bool {
	return slices.ContainsFunc(r, func(p Pending) bool { return p.Msgid == msgid })
}

// after records how a 2601 of p ended: undone for certain (no error) takes p off the
// list; no definite answer puts it on (that 2601 may land later, and undo p if p
// lands too); "原交易不存在" is counted on p's entry (rebook).
func (r *Reversals) after(p Pending, err error) {
	switch {
	case err == nil:
		*r = slices.DeleteFunc(*r, func(q Pending) bool { return q.Msgid == p.Msgid })
	case errors.Is(err, platform.ErrOriginalNotFound):
		for i := range *r {
			if (*r)[i].Msgid == p.Msgid {
				(*r)[i].Absent++
			}
		}
	case platform.Classify(err) == platform.OutcomeUnknown && !r.has(p.Msgid):
		*r = append(*r, Pending{Infno: p.Infno, Msgid: p.Msgid})
	}
}

// rebook puts the messages of infno whose 2601 is in flight back as pending: they
// are reversed for certain before the step is made again. It reports whether any was.
//
// What the step found done may have been done by another message, whose reversal is
// not in flight: then the 2601s of these messages answer "原交易不存在" round after
// round, and the step is refused round after round (seed 215986: a 2208 refused
// "already cancelled" for ever). A message lands at most once, so once each entry's
// 2601 was answered "原交易不存在" more often than there are entries (at least once
// after the step was refused), none of them did it: they leave the list, rebook
// reports false, and what the platform holds stands.
func (r *Record) rebook(infno string) bool {
	n := 0
	for _, p := range r.Reversing {
		if p.Infno == infno {
			n++
		}
	}
	put := false
	for _, p := range r.Reversing {
		if p.Infno == infno && p.Absent <= n && !slices.ContainsFunc(r.Pending, func(q Pending) bool { return q.Msgid == p.Msgid }) {
			r.Pending = append(r.Pending, Pending{Infno: p.Infno, Msgid: p.Msgid, Unknown: true})
			put = true
		}
	}
	if !put {
		r.Reversing = slices.DeleteFunc(r.Reversing, func(p Pending) bool { return p.Infno == infno && p.Absent > n })
	}
	return put
}

// maxNotes bounds a bill's warnings and surprises.
const maxNotes = 16

// addNote appends a note once (the same note twice is kept once).
func (r *Record) addNote(list *[]string, note string) {
	if len(*list) >= maxNotes || slices.Contains(*list, note) {
		return
	}
	*list = append(*list, note)
}

// Message is one line of a bill's history: a platform message and how it ended.
type Message struct {
	Msgid   string    `json:"msgid"`
	Infno   string    `json:"infno"`
	At      time.Time `json:"time"`
	Outcome string    `json:"outcome"`
	ErrMsg  string    `json:"err_msg,omitempty"`
}

// maxHistory bounds a bill's history: a bill retried through a week-long outage must
// not grow without end. The first lines and the latest are kept.
const maxHistory = 64

func (r *Record) logMsg(msgid, infno, outcome, errMsg string, at time.Time) {
	for i := len(r.History) - 1; i >= 0 && i >= len(r.History)-3; i-- {
		if r.History[i].Msgid == msgid {
			r.History[i].Outcome, r.History[i].ErrMsg, r.History[i].At = outcome, errMsg, at
			return
		}
	}
	if len(r.History) >= maxHistory {
		r.History = append(r.History[:8], r.History[len(r.History)-maxHistory/2:]...)
	}
	r.History = append(r.History, Message{Msgid: msgid, Infno: infno, At: at, Outcome: outcome, ErrMsg: errMsg})
}

// SentAnyWrite reports whether any write message of this bill ever left (or may have).
func (r *Record) SentAnyWrite() bool {
	if len(r.Pending) > 0 || r.MdtrtID != "" || r.FeesDone || r.Settlement != nil {
		return true
	}
	for _, m := range r.History {
		if m.Outcome != OutcomeNotSent && platform.IsWrite(m.Infno) {
			return true
		}
	}
	return false
}

// ErrorCode is the code of the bill's error ("platform_refused" when none is set).
func (r *Record) ErrorCode() string {
	if r.ErrCode != "" {
		return r.ErrCode
	}
	return "platform_refused"
}

// Outcomes recorded in a bill's history.
const (
	OutcomeSent      = "sent"
	OutcomeOK        = "ok"
	OutcomeRefused   = "refused"
	OutcomeUnknown   = "unknown"
	OutcomeNotSent   = "not sent"
	OutcomeReversed  = "reversed"
	OutcomeNotBooked = "not booked"
	OutcomeAdopted   = "adopted"
)

// Difference is what the cashier office settles with the patient after an offline
// bill: collected minus the patient's own cash share of the settlement that stands
// at the platform (0 when none stands: cancelled, or never settled and cancelled).
type Difference struct {
	Collected  settle.Money `json:"collected"`
	RealCash   settle.Money `json:"psn_cash_pay"`
	Refund     settle.Money `json:"refund"`
	AmountDue  settle.Money `json:"amount_due"`
	Settlement string       `json:"setl_id"`
}

// DifferenceOf is the bill's refund or amount due; ok is false when there is none
// yet (nothing collected offline, or the bill not settled nor cancelled). The money
// invariant (docs/architecture.md): Refund − AmountDue = Collected − the own share of
// the live settlement, 0 when none stands.
func DifferenceOf(rec *Record) (Difference, bool) {
	if rec.Collected == nil {
		return Difference{}, false
	}
	d := Difference{Collected: *rec.Collected}
	if rec.Settlement != nil {
		d.Settlement = rec.Settlement.SetlID
	}
	own, known := settle.StandingCash(rec.Settlement, rec.Cancelled, rec.State == StateCancelled)
	if !known {
		return Difference{}, false
	}
	d.RealCash = own
	d.Refund, d.AmountDue = settle.Owed(d.Collected, d.RealCash)
	return d, true
}

// doneDay is the day retention counts from, for bills and stays alike: the day the
// document reached the done state (settled or cancelled) it is in now. A change from
// one done state to the other (a settlement cancelled) moves it; a document not done
// has none.
func doneDay(state, stored State, day string, now time.Time) string {
	if state != StateSettled && state != StateCancelled {
		return ""
	}
	if day == "" || state != stored {
		return settle.Day(now)
	}
	return day
}
