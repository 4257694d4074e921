package workflow

import (
	"slices"
	"time"
)

// Journal is what every workflow's document (a bill's Record, a stay's StayRecord)
// keeps of the messages sent for it and of its life in the queue. It is embedded, so
// its fields are stored at the document's top level.
type Journal struct {
	// Pending names the write messages whose msgids are stored and whose outcome is
	// not known: before anything else happens to the document each is resolved with
	// the transaction's own tools (platform.md "Outcome unknown").
	Pending []Pending `json:"pending,omitempty"`
	// Reversing names the reversible messages whose 2601 went out without a definite
	// answer: such a 2601 may still land and undo what its original booked, so what
	// one of them booked is never taken as it stands (a settlement adopted, a
	// cancellation found done): it is reversed for certain and the step made anew. A
	// message leaves the list once a 2601 of it succeeded.
	Reversing Reversals `json:"reversing,omitempty"`
	History   []Message `json:"history"`
	// Warnings (the platform's warn_msg) and Surprises (what surprised the client in
	// an answer, kept as booked) are shown to people.
	Warnings  []string `json:"warnings,omitempty"`
	Surprises []string `json:"surprises,omitempty"`
	ErrCode   string   `json:"err_code,omitempty"`
	ErrMsg    string   `json:"err_msg,omitempty"`
	// QueueID is the document's job in the durable queue; QueuedAt when it was queued.
	QueueID  uint64    `json:"queue_id,omitempty"`
	QueuedAt time.Time `json:"queued_at,omitempty"`
	// DoneDay is the day the document was settled or cancelled (retention counts
	// from it).
	DoneDay   string    `json:"done_day,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// resolvePending removes the pending message msgid: its outcome is known now.
func (j *Journal) resolvePending(msgid string) {
	for i, p := range j.Pending {
		if p.Msgid == msgid {
			j.Pending = append(j.Pending[:i], j.Pending[i+1:]...)
			break
		}
	}
	if len(j.Pending) == 0 {
		j.Pending = nil
	}
}

// markUnknown records that the send of msgid ended without a definite answer.
func (j *Journal) markUnknown(msgid string) {
	for i := range j.Pending {
		if j.Pending[i].Msgid == msgid {
			j.Pending[i].Unknown = true
		}
	}
}

// addNote appends a note for people once (the same note twice is kept once), at
// most maxNotes.
func (j *Journal) addNote(list *[]string, note string) {
	if len(*list) >= maxNotes || slices.Contains(*list, note) {
		return
	}
	*list = append(*list, note)
}

// logMsg records how message msgid ended: a line of the history, or the same line
// updated when msgid is among the latest. Past max lines the first head and the
// latest max/2 are kept: a document retried through a long outage does not grow
// without end.
func (j *Journal) logMsg(max, head int, msgid, infno, outcome, errMsg string, at time.Time) {
	for i := len(j.History) - 1; i >= 0 && i >= len(j.History)-3; i-- {
		if j.History[i].Msgid == msgid {
			j.History[i].Outcome, j.History[i].ErrMsg, j.History[i].At = outcome, errMsg, at
			return
		}
	}
	if len(j.History) >= max {
		j.History = append(j.History[:head], j.History[len(j.History)-max/2:]...)
	}
	j.History = append(j.History, Message{Msgid: msgid, Infno: infno, At: at, Outcome: outcome, ErrMsg: errMsg})
}
