package agent

import (
	"time"

	bolt "go.etcd.io/bbolt"

	settle "github.com/settle-agent/settle-agent"
)

// State is where a bill stands (cashier-api.md).
type State string

// The states of a bill.
const (
	StateReceived   State = "received"   // stored, nothing asked of the platform yet
	StatePresettled State = "presettled" // the split is known (platform or estimate)
	StateQueued     State = "queued"     // settlement asked for, waiting for the platform
	StateSettling   State = "settling"   // settlement message in flight
	StateSettled    State = "settled"    // booked at the platform exactly once
	StateCancelled  State = "cancelled"  // cancelled (at the platform, or before anything was sent)
	StateFailed     State = "failed"     // a business error that needs a person
	StateDead       State = "dead"       // gave up after the retry horizon; never deleted
)

// goal is what a bill's workflow is driving towards.
type goal string

const (
	goalPresettle goal = "presettle"
	goalSettle    goal = "settle"
	goalCancel    goal = "cancel"
)

// billRecord is everything the agent keeps of one bill, in the store under its bill_no.
// It is the resumable state of the workflow: each field set means a step done, and
// Pending names the write messages whose msgids are stored and whose outcome is not
// known: sent without a definite answer, or planned (stored before the chain's first
// write left) when the agent stopped.
type billRecord struct {
	Bill         settle.Bill    `json:"bill"`
	State        State          `json:"state"`
	Goal         goal           `json:"goal"`
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
	Presettle    *settle.Split  `json:"presettle,omitempty"`
	Estimate     bool           `json:"estimate,omitempty"`
	AcctUsedFlag string         `json:"acct_used_flag,omitempty"`
	PsnSetlway   string         `json:"psn_setlway,omitempty"`
	Settlement   *settle.Split  `json:"settlement,omitempty"`
	SettledAt    time.Time      `json:"settled_at,omitempty"`
	SettleMsgid  string         `json:"settle_msgid,omitempty"`
	Cancelled    bool           `json:"cancelled,omitempty"` // 2208 done
	RegCancelled bool           `json:"reg_cancelled,omitempty"`
	Provisional  *settle.Split  `json:"provisional,omitempty"`
	Collected    *settle.Money  `json:"collect_now,omitempty"`
	Offline      bool           `json:"offline,omitempty"` // settlement went through the queue
	QueuedAt     time.Time      `json:"queued_at,omitempty"`
	QueueID      uint64         `json:"queue_id,omitempty"`
	Pending      []pendingMsg   `json:"pending,omitempty"`
	History      []message      `json:"history"`
	ErrCode      string         `json:"err_code,omitempty"`
	ErrMsg       string         `json:"err_msg,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`

	stored State // state as last written, for the state index (not persisted)
	// riders are cache writes waiting for the bill's next save (not persisted).
	riders []func(tx *bolt.Tx) error
}

// pendingMsg is a write message that was (or may have been) sent and whose outcome
// is not recorded: before anything else happens to the bill it is reversed (2601).
type pendingMsg struct {
	Infno   string `json:"infno"`
	Msgid   string `json:"msgid"`
	Unknown bool   `json:"unknown,omitempty"` // the send ended without a definite answer
	// planned: stored for a later step of this run and not sent yet (not persisted:
	// a stored entry may always have been sent).
	planned bool
}

// plannedFor returns the index of a planned, unsent message for infno, or -1.
func (r *billRecord) plannedFor(infno string) int {
	for i, p := range r.Pending {
		if p.planned && p.Infno == infno {
			return i
		}
	}
	return -1
}

// dropPlans forgets the planned messages this run did not send: they never left.
func (r *billRecord) dropPlans() {
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

// settle removes the pending message msgid: its outcome is known now.
func (r *billRecord) settlePending(msgid string) {
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

// message is one line of a bill's history: a platform message and how it ended.
type message struct {
	Msgid   string    `json:"msgid"`
	Infno   string    `json:"infno"`
	At      time.Time `json:"time"`
	Outcome string    `json:"outcome"`
	ErrMsg  string    `json:"err_msg,omitempty"`
}

// maxHistory bounds a bill's history: a bill retried through a week-long outage must
// not grow without end. The first lines and the latest are kept.
const maxHistory = 64

func (r *billRecord) logMsg(msgid, infno, outcome, errMsg string, at time.Time) {
	for i := len(r.History) - 1; i >= 0 && i >= len(r.History)-3; i-- {
		if r.History[i].Msgid == msgid {
			r.History[i].Outcome, r.History[i].ErrMsg, r.History[i].At = outcome, errMsg, at
			return
		}
	}
	if len(r.History) >= maxHistory {
		r.History = append(r.History[:8], r.History[len(r.History)-maxHistory/2:]...)
	}
	r.History = append(r.History, message{Msgid: msgid, Infno: infno, At: at, Outcome: outcome, ErrMsg: errMsg})
}

// sentAnyWrite reports whether any write message of this bill ever left (or may have).
func (r *billRecord) sentAnyWrite() bool {
	if len(r.Pending) > 0 || r.MdtrtID != "" || r.FeesDone || r.Settlement != nil {
		return true
	}
	for _, m := range r.History {
		if m.Outcome != outcomeNotSent && isWriteInfno(m.Infno) {
			return true
		}
	}
	return false
}

// terminal reports whether nothing more will happen to the bill.
func (s State) terminal() bool {
	return s == StateSettled || s == StateCancelled || s == StateFailed || s == StateDead
}

// Outcomes recorded in a bill's history.
const (
	outcomeSent     = "sent"
	outcomeOK       = "ok"
	outcomeRefused  = "refused"
	outcomeUnknown  = "unknown"
	outcomeNotSent  = "not sent"
	outcomeReversed = "reversed"
)
