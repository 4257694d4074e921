package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// The stay (住院) is the engine's second workflow: one inpatient admission from 2401 to
// its final settlement, on the same foundations as a bill — a document in the store
// under its ipt_no, every write's msgid stored before it is sent, unknown outcomes
// resolved with each transaction's own tools, one queue job per stay that drives its
// waiting operations in order.
//
// Unlike a bill, a stay is asked for in pieces over days (admission, fee batches,
// discharge, settlement, cancellations). Each piece is an operation (StayOp) appended
// to the stay's line; advanceStay sends the line's operations in order. Online a
// request drives the line within the cashier deadline; what does not finish waits in
// the queue, in order, and is sent when the platform answers again.

// KindStay is the document kind of stays; the id is the ipt_no.
const KindStay = "stay"

// StayOpKind names what one operation of a stay asks of the platform.
type StayOpKind string

// The operations of a stay.
const (
	OpAdmit            StayOpKind = "admit"             // 1101 when needed, 2401
	OpFees             StayOpKind = "fees"              // 2301 of one batch
	OpCancelFees       StayOpKind = "cancel_fees"       // 2302 of one batch's lines
	OpDischarge        StayOpKind = "discharge"         // 2402
	OpCancelDischarge  StayOpKind = "cancel_discharge"  // 2405
	OpSettle           StayOpKind = "settle"            // 2303, 2304 (final or mid-stay)
	OpCancelSettlement StayOpKind = "cancel_settlement" // 2305
	OpCancel           StayOpKind = "cancel"            // 2405 and 2302 when needed, 2404
	OpChange           StayOpKind = "change"            // 2403 (bed, department, doctor)
)

// StayOp is one operation waiting in a stay's line.
type StayOp struct {
	ID    int        `json:"id"`
	Kind  StayOpKind `json:"kind"`
	Batch string     `json:"batch_no,omitempty"`
	Mid   bool       `json:"mid_setl,omitempty"`
	PayChoice
	SetlID string `json:"setl_id,omitempty"`
	// Change is what a change operation sets (2403).
	Change *settle.AdmissionChange `json:"change,omitempty"`
	At     time.Time               `json:"at"`
	// Offline: the operation was queued because the platform did not answer in time.
	Offline bool `json:"offline,omitempty"`
}

// StayBatch is one fee batch of a stay as the agent keeps it.
type StayBatch struct {
	Batch settle.FeeBatch `json:"batch"` // items mapped to national codes
	Hash  string          `json:"hash"`  // of the batch as posted
	// Seq numbers the batch within the stay and Attempt its upload: together they make
	// each line's feedetl_sn (a lost upload is cancelled and sent again as a new attempt).
	Seq       int       `json:"seq"`
	Attempt   int       `json:"attempt,omitempty"`
	Uploaded  bool      `json:"uploaded,omitempty"`
	Cancelled bool      `json:"cancelled,omitempty"`
	Withdrawn int       `json:"withdrawn,omitempty"` // lines cancelled so far (2302), for a cancellation cut short
	SettledBy string    `json:"settled_by,omitempty"`
	Refused   string    `json:"refused,omitempty"` // the platform's refusal of its upload
	Results   []FeeLine `json:"results,omitempty"`
	Source    string    `json:"source,omitempty"`
	At        time.Time `json:"at"`
}

// StaySettlement is one settlement of a stay (final or mid-stay) as the agent keeps it.
type StaySettlement struct {
	Split     settle.Split `json:"split"`
	Mid       bool         `json:"mid_setl"`
	Msgid     string       `json:"msgid"`
	SettledAt time.Time    `json:"settled_at"`
	SettleDay string       `json:"settle_day"`
	Batches   []string     `json:"batches"`
	Cancelled bool         `json:"cancelled,omitempty"`
	CancelDay string       `json:"cancel_day,omitempty"`
	// Offline: asked while the platform could not be reached and settled from the queue;
	// the deposit (押金) covered the patient meanwhile.
	Offline bool `json:"offline,omitempty"`
}

// StayRefusal is one operation the platform (or the agent) refused.
type StayRefusal struct {
	Op      int        `json:"op"`
	Kind    StayOpKind `json:"kind"`
	Batch   string     `json:"batch_no,omitempty"`
	Code    string     `json:"code"`
	Message string     `json:"message"`
	At      time.Time  `json:"at"`
}

// StayRecord is everything the agent keeps of one stay, under its ipt_no: the
// resumable state of the stay's workflow.
type StayRecord struct {
	Journal
	Admission     settle.Admission  `json:"admission"`
	AdmHash       string            `json:"adm_hash"`
	Source        string            `json:"source"`
	State         State             `json:"state"`
	Person        *settle.Person    `json:"person,omitempty"`
	PersonSource  string            `json:"person_source,omitempty"`
	PsnNo         string            `json:"psn_no,omitempty"`
	Insutype      string            `json:"insutype,omitempty"`
	Insuplc       string            `json:"insuplc_admdvs,omitempty"`
	MdtrtID       string            `json:"mdtrt_id,omitempty"`
	Admitted      bool              `json:"admitted,omitempty"` // 2401 booked
	AdmFailed     bool              `json:"adm_failed,omitempty"`
	Cancelled     bool              `json:"cancelled,omitempty"` // 2404 done (or nothing was ever booked)
	Batches       []StayBatch       `json:"batches,omitempty"`
	Discharge     *settle.Discharge `json:"discharge,omitempty"`
	DischargeHash string            `json:"discharge_hash,omitempty"`
	Discharged    bool              `json:"discharged,omitempty"` // 2402 booked and not cancelled
	Presettle     *settle.Split     `json:"presettle,omitempty"`
	Settlements   []StaySettlement  `json:"settlements,omitempty"`
	Ops           []StayOp          `json:"ops,omitempty"`
	NextOp        int               `json:"next_op"`
	Refusals      []StayRefusal     `json:"refusals,omitempty"`
	Dead          bool              `json:"dead,omitempty"`
}

// StayStates lists the states a stay can be in, in the order lists show them.
var StayStates = []State{StateQueued, StateAdmitted, StateDischarged, StateSettled, StateCancelled, StateFailed, StateDead}

// derive is the stay's state from what is booked and what waits: dead and failed
// (the admission refused) first, cancelled, queued while operations wait for the
// platform, then settled (a final settlement stands), discharged, admitted.
func (r *StayRecord) derive() State {
	switch {
	case r.Dead:
		return StateDead
	case r.AdmFailed:
		return StateFailed
	case r.Cancelled:
		return StateCancelled
	case len(r.Ops) > 0 || len(r.Pending) > 0:
		return StateQueued
	case r.final() != nil:
		return StateSettled
	case r.Discharged:
		return StateDischarged
	case r.Admitted:
		return StateAdmitted
	}
	return StateQueued
}

// final is the stay's final settlement that stands, or nil.
func (r *StayRecord) final() *StaySettlement {
	for i := range r.Settlements {
		if s := &r.Settlements[i]; !s.Mid && !s.Cancelled {
			return s
		}
	}
	return nil
}

// finalKept is the final settlement that stands and no cancellation waiting in the
// line will undo, or nil: a settle request after a queued cancellation of the final
// is a new settlement behind it, never the one being cancelled.
func (r *StayRecord) finalKept() *StaySettlement {
	f := r.final()
	if f == nil {
		return nil
	}
	for _, op := range r.Ops {
		if op.Kind == OpCancelSettlement && op.SetlID == f.Split.SetlID {
			return nil
		}
	}
	return f
}

// live lists the settlements that stand.
func (r *StayRecord) live() []*StaySettlement {
	var out []*StaySettlement
	for i := range r.Settlements {
		if !r.Settlements[i].Cancelled {
			out = append(out, &r.Settlements[i])
		}
	}
	return out
}

// settlement finds a settlement by setl_id.
func (r *StayRecord) settlement(setlID string) *StaySettlement {
	for i := range r.Settlements {
		if r.Settlements[i].Split.SetlID == setlID {
			return &r.Settlements[i]
		}
	}
	return nil
}

// batch finds a fee batch by batch_no.
func (r *StayRecord) batch(no string) *StayBatch {
	for i := range r.Batches {
		if r.Batches[i].Batch.BatchNo == no {
			return &r.Batches[i]
		}
	}
	return nil
}

// waiting reports whether an operation of kind (and batch) waits in the line.
func (r *StayRecord) waiting(kind StayOpKind, batch string) bool {
	for _, op := range r.Ops {
		if op.Kind == kind && (batch == "" || op.Batch == batch) {
			return true
		}
	}
	return false
}

// unsettled lists the uploaded batches that stand and no settlement covers, and their total.
func (r *StayRecord) unsettled() ([]*StayBatch, settle.Money) {
	var out []*StayBatch
	var sum settle.Money
	for i := range r.Batches {
		b := &r.Batches[i]
		if b.Uploaded && !b.Cancelled && b.SettledBy == "" {
			out = append(out, b)
			sum += b.Batch.Total()
		}
	}
	return out, sum
}

// Total is the sum of the batches that stand (uploaded or waiting).
func (r *StayRecord) Total() settle.Money {
	var sum settle.Money
	for _, b := range r.Batches {
		if !b.Cancelled && b.Refused == "" {
			sum += b.Batch.Total()
		}
	}
	return sum
}

// addOp appends an operation to the line and returns its id.
func (r *StayRecord) addOp(op StayOp) int {
	r.NextOp++
	op.ID = r.NextOp
	r.Ops = append(r.Ops, op)
	return op.ID
}

// refusalOf returns the refusal of operation id, if it was refused.
func (r *StayRecord) refusalOf(id int) *StayRefusal {
	for i := range r.Refusals {
		if r.Refusals[i].Op == id {
			return &r.Refusals[i]
		}
	}
	return nil
}

// opWaiting reports whether operation id still waits in the line.
func (r *StayRecord) opWaiting(id int) bool {
	for _, op := range r.Ops {
		if op.ID == id {
			return true
		}
	}
	return false
}

// logMsg keeps a longer history than a bill's: a stay lives for weeks.
func (r *StayRecord) logMsg(msgid, infno, outcome, errMsg string, at time.Time) {
	r.Journal.logMsg(4*maxHistory, 16, msgid, infno, outcome, errMsg, at)
}

// contentHash identifies a posted body for idempotency.
func contentHash(v any) string {
	data, _ := json.Marshal(v)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// Index entries of stays (in their own kind's index).
const (
	// IndexState + state: every stay by its state (as for bills).
	// IndexDay + day: a day one of its settlements (or cancellations) counts on.
	// IndexDone + day: cancelled or settled for good, by the day it got there.
	indexStayWaiting = "waiting/" // + "1": operations wait in the line
)

func stayIndex(rec *StayRecord) []string {
	idx := []string{IndexState + string(rec.State)}
	days := map[string]bool{}
	for _, s := range rec.Settlements {
		if s.SettleDay != "" {
			days[s.SettleDay] = true
		}
		if s.CancelDay != "" {
			days[s.CancelDay] = true
		}
	}
	for _, op := range rec.Ops {
		if op.Kind == OpSettle && op.Offline {
			days[settle.Day(op.At)] = true
		}
	}
	for d := range days {
		idx = append(idx, IndexDay+d)
	}
	if len(rec.Ops) > 0 {
		idx = append(idx, indexStayWaiting+"1")
	}
	if (rec.State == StateSettled || rec.State == StateCancelled) && rec.DoneDay != "" {
		idx = append(idx, IndexDone+rec.DoneDay)
	}
	return idx
}

// saveStay writes rec durably (fsynced) with whatever more is done in also.
func (e *Stays) saveStay(ctx context.Context, rec *StayRecord, also func(tx Tx) error) error {
	prev := rec.State
	rec.State = rec.derive()
	rec.UpdatedAt = e.now()
	rec.DoneDay = doneDay(rec.State, prev, rec.DoneDay, rec.UpdatedAt)
	return e.keep(ctx, rec, also)
}

func getStay(tx ReadTx, iptNo string) (*StayRecord, error) {
	data, err := tx.Get(KindStay, iptNo)
	if err != nil {
		return nil, fmt.Errorf("stay %s: %w", iptNo, err)
	}
	rec := new(StayRecord)
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("stay %s: decode: %w", iptNo, err)
	}
	return rec, nil
}

// Stay reads one stay; an error matching settle.ErrNotFound when there is none.
func (e *Stays) Stay(iptNo string) (*StayRecord, error) { return stayShelf.one(e.st, iptNo) }

// StayCounts counts stays per state.
func (e *Stays) StayCounts() map[State]int { return stayShelf.counts(e.st) }

// StayWaitingOps counts the operations waiting in the stays' lines (queued stay messages).
func (e *Stays) StayWaitingOps() int {
	n := 0
	recs, _ := stayShelf.list(e.st, stayShelf.byIndex(indexStayWaiting+"1", 1<<20), skipUnreadable)
	for _, rec := range recs {
		n += len(rec.Ops)
	}
	return n
}

// Stays returns up to limit stays in state (any when empty), after ipt_no `after`.
func (e *Stays) Stays(state State, after string, limit int) ([]*StayRecord, error) {
	return stayShelf.list(e.st, stayShelf.inState(state, after, limit), failUnreadable)
}

// StaysOfDay returns the stays with a settlement (or its cancellation) on day, or a
// settlement deferred that day while offline.
func (e *Stays) StaysOfDay(day string) ([]*StayRecord, error) {
	return stayShelf.list(e.st, stayShelf.byIndex(IndexDay+day, 1<<30), skipMissing)
}

// Final is the stay's final settlement that stands, or nil.
func (r *StayRecord) Final() *StaySettlement { return r.final() }

// StaySummary is what the status page and the metrics show of the stays.
type StaySummary struct {
	// Open: admitted and not settled for good nor cancelled (in hospital, or
	// discharged awaiting settlement), queued ones included.
	Open int `json:"open"`
	// DischargedUnsettled: discharged (booked or waiting) and not settled for good.
	DischargedUnsettled int `json:"discharged_unsettled"`
	// QueuedOps: stay operations waiting for the platform.
	QueuedOps int `json:"queued_ops"`
	// NeedsPerson: stays failed (the admission refused) or dead (past the retry horizon).
	NeedsPerson int `json:"needs_person"`
	// States counts the stays per state.
	States map[State]int `json:"states"`
}

// StaySummary counts the open stays, the discharged ones not settled, and the stay
// operations waiting for the platform.
func (e *Stays) StaySummary() StaySummary {
	sum := StaySummary{States: map[State]int{}}
	_ = e.st.View(func(tx ReadTx) error {
		for _, st := range StayStates {
			sum.States[st] = tx.Count(KindStay, IndexState+string(st))
		}
		sum.Open = sum.States[StateAdmitted] + sum.States[StateDischarged]
		sum.NeedsPerson = sum.States[StateFailed] + sum.States[StateDead]
		sum.DischargedUnsettled = sum.States[StateDischarged]
		ids, err := tx.IDs(KindStay, IndexState+string(StateQueued), "", 1<<20)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rec, err := getStay(tx, id)
			if err != nil {
				continue
			}
			sum.QueuedOps += len(rec.Ops)
			if rec.final() != nil || rec.Cancelled || rec.waiting(OpCancel, "") {
				continue
			}
			sum.Open++
			if rec.Discharged || rec.waiting(OpDischarge, "") {
				sum.DischargedUnsettled++
			}
		}
		return nil
	})
	return sum
}
