package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	ID           int        `json:"id"`
	Kind         StayOpKind `json:"kind"`
	Batch        string     `json:"batch_no,omitempty"`
	Mid          bool       `json:"mid_setl,omitempty"`
	AcctUsedFlag string     `json:"acct_used_flag,omitempty"`
	PsnSetlway   string     `json:"psn_setlway,omitempty"`
	SetlID       string     `json:"setl_id,omitempty"`
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
	Pending       []Pending         `json:"pending,omitempty"`
	Reversing     Reversals         `json:"reversing,omitempty"` // as a bill's: 2601s in flight
	History       []Message         `json:"history"`
	Warnings      []string          `json:"warnings,omitempty"`
	Surprises     []string          `json:"surprises,omitempty"`
	ErrCode       string            `json:"err_code,omitempty"`
	ErrMsg        string            `json:"err_msg,omitempty"`
	Dead          bool              `json:"dead,omitempty"`
	QueueID       uint64            `json:"queue_id,omitempty"`
	QueuedAt      time.Time         `json:"queued_at,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	DoneDay       string            `json:"done_day,omitempty"`
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

func (r *StayRecord) resolvePending(msgid string) {
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

func (r *StayRecord) logMsg(msgid, infno, outcome, errMsg string, at time.Time) {
	for i := len(r.History) - 1; i >= 0 && i >= len(r.History)-3; i-- {
		if r.History[i].Msgid == msgid {
			r.History[i].Outcome, r.History[i].ErrMsg, r.History[i].At = outcome, errMsg, at
			return
		}
	}
	if len(r.History) >= 4*maxHistory {
		r.History = append(r.History[:16], r.History[len(r.History)-2*maxHistory:]...)
	}
	r.History = append(r.History, Message{Msgid: msgid, Infno: infno, At: at, Outcome: outcome, ErrMsg: errMsg})
}

// addNote keeps a sentence for people once, bounded.
func (r *StayRecord) addNote(list *[]string, note string) {
	if len(*list) >= maxNotes || slices.Contains(*list, note) {
		return
	}
	*list = append(*list, note)
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

func (e *Stays) encodeStay(rec *StayRecord) ([]byte, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode stay %s: %w", rec.Admission.IptNo, err)
	}
	return e.st.Encode(KindStay, rec.Admission.IptNo, data)
}

// saveStay writes rec durably (fsynced) with whatever more is done in also.
func (e *Stays) saveStay(ctx context.Context, rec *StayRecord, also func(tx Tx) error) error {
	prev := rec.State
	rec.State = rec.derive()
	rec.UpdatedAt = e.now()
	rec.DoneDay = doneDay(rec.State, prev, rec.DoneDay, rec.UpdatedAt)
	enc, err := e.encodeStay(rec)
	if err != nil {
		return err
	}
	idx := stayIndex(rec)
	err = e.st.Update(ctx, func(tx Tx) error {
		if err := tx.Put(KindStay, rec.Admission.IptNo, enc, idx); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if errors.Is(err, ErrJobMoved) {
		return fmt.Errorf("store stay %s: %w", rec.Admission.IptNo, err)
	}
	if err != nil {
		return fmt.Errorf("store stay %s: %w: %w", rec.Admission.IptNo, ErrStore, err)
	}
	return nil
}

// putStay writes rec inside tx (a move of its queue job).
func (e *Stays) putStay(tx Tx, rec *StayRecord) error {
	enc, err := e.encodeStay(rec)
	if err != nil {
		return err
	}
	return tx.Put(KindStay, rec.Admission.IptNo, enc, stayIndex(rec))
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
func (e *Stays) Stay(iptNo string) (*StayRecord, error) {
	var rec *StayRecord
	err := e.st.View(func(tx ReadTx) error {
		var err error
		rec, err = getStay(tx, iptNo)
		return err
	})
	return rec, err
}

// StayCounts counts stays per state.
func (e *Stays) StayCounts() map[State]int {
	out := map[State]int{}
	_ = e.st.View(func(tx ReadTx) error {
		for _, st := range StayStates {
			out[st] = tx.Count(KindStay, IndexState+string(st))
		}
		return nil
	})
	return out
}

// StayWaitingOps counts the operations waiting in the stays' lines (queued stay messages).
func (e *Stays) StayWaitingOps() int {
	n := 0
	_ = e.st.View(func(tx ReadTx) error {
		ids, err := tx.IDs(KindStay, indexStayWaiting+"1", "", 1<<20)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if rec, err := getStay(tx, id); err == nil {
				n += len(rec.Ops)
			}
		}
		return nil
	})
	return n
}

// Stays returns up to limit stays in state (any when empty), after ipt_no `after`.
func (e *Stays) Stays(state State, after string, limit int) ([]*StayRecord, error) {
	var out []*StayRecord
	err := e.st.View(func(tx ReadTx) error {
		ids, err := idsInState(tx, KindStay, state, StayStates, after, limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rec, err := getStay(tx, id)
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// StaysOfDay returns the stays with a settlement (or its cancellation) on day, or a
// settlement deferred that day while offline.
func (e *Stays) StaysOfDay(day string) ([]*StayRecord, error) {
	var out []*StayRecord
	err := e.st.View(func(tx ReadTx) error {
		ids, err := tx.IDs(KindStay, IndexDay+day, "", 1<<30)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rec, err := getStay(tx, id)
			if errors.Is(err, settle.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
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
