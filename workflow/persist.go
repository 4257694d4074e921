package workflow

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// Document kinds the bill workflow keeps in the store. A stay workflow adds its own.
const (
	KindBill    = "bill"
	KindIdem    = "idem"
	KindPerson  = "person"
	KindLearned = "learned"
)

// Index entries of bills. A day is yyyy-mm-dd in Beijing time.
const (
	// IndexState + state: every bill, by its state.
	IndexState = "state/"
	// IndexDay + day: the day a bill counts on in the day's report: its settlement's
	// day (setl_time), or, while it has none, the day it was queued with money
	// collected.
	IndexDay = "day/"
	// IndexDone + day: settled or cancelled bills, by the day they got there; the
	// retention sweep counts from it.
	IndexDone = "done/"
	// IndexBill + bill_no: the remembered answers of one bill.
	IndexBill = "bill/"
	// IndexPending + goal: bills with messages whose outcome is not known yet; Recover
	// finds those a crash left out of the queue.
	IndexPending = "pending/"
	// IndexSurprise: bills whose platform answers surprised the client (kept as the
	// platform booked them), for a person to check.
	IndexSurprise = "surprise/"
)

// Meta values.
const metaOutstanding = "outstanding"

// billIndex lists the index entries rec has in its current state.
func billIndex(rec *Record) []string {
	idx := []string{IndexState + string(rec.State)}
	switch {
	case rec.Settlement != nil && rec.SettleDay != "":
		idx = append(idx, IndexDay+rec.SettleDay)
	case rec.Offline && rec.QueueDay != "" && (rec.State != StateCancelled || rec.Collected != nil && *rec.Collected != 0):
		// Queued with money collected: the day's report lists it, also when it was
		// cancelled before it settled (the money goes back).
		idx = append(idx, IndexDay+rec.QueueDay)
	}
	if (rec.State == StateSettled || rec.State == StateCancelled) && rec.DoneDay != "" {
		idx = append(idx, IndexDone+rec.DoneDay)
	}
	if rec.unresolved() {
		idx = append(idx, IndexPending+string(rec.Goal))
	}
	if len(rec.Surprises) > 0 {
		idx = append(idx, IndexSurprise)
	}
	return idx
}

// encodeBill encodes rec for Put (outside the commit).
func (e *Bills) encodeBill(rec *Record) ([]byte, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode bill %s: %w", rec.Bill.BillNo, err)
	}
	return e.st.Encode(KindBill, rec.Bill.BillNo, data)
}

// putBill writes rec inside tx (which may run twice).
func (e *Bills) putBill(tx Tx, rec *Record) error {
	enc, err := e.encodeBill(rec)
	if err != nil {
		return err
	}
	return tx.Put(KindBill, rec.Bill.BillNo, enc, billIndex(rec))
}

// save writes rec durably (fsynced) together with whatever more is done in also.
func (e *Bills) save(ctx context.Context, rec *Record, also func(tx Tx) error) error {
	rec.UpdatedAt = e.now()
	rec.DoneDay = doneDay(rec.State, rec.stored, rec.DoneDay, rec.UpdatedAt)
	enc, err := e.encodeBill(rec)
	if err != nil {
		return err
	}
	riders := rec.riders
	idx := billIndex(rec)
	err = e.st.Update(ctx, func(tx Tx) error {
		if err := tx.Put(KindBill, rec.Bill.BillNo, enc, idx); err != nil {
			return err
		}
		for _, w := range riders {
			if err := w(tx); err != nil {
				return err
			}
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if errors.Is(err, ErrJobMoved) {
		// The queue refused the move (the job is not where the move needs it): the
		// store is fine and nothing changed.
		return fmt.Errorf("store bill %s: %w", rec.Bill.BillNo, err)
	}
	if err != nil {
		return fmt.Errorf("store bill %s: %w: %w", rec.Bill.BillNo, ErrStore, err)
	}
	rec.stored = rec.State
	rec.riders = rec.riders[len(riders):]
	return nil
}

// ride adds a write that goes into the store with the bill's next save, in the same
// transaction: caches (the person, learned policy) that need no commit of their own.
// Nothing that exactly-once depends on rides; losing one to a crash costs nothing.
func (r *Record) ride(w func(tx Tx) error) { r.riders = append(r.riders, w) }

// decodeBill decodes a stored bill.
func decodeBill(billNo string, data []byte) (*Record, error) {
	rec := new(Record)
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("bill %s: decode: %w", billNo, err)
	}
	rec.stored = rec.State
	return rec, nil
}

func getBill(tx ReadTx, billNo string) (*Record, error) {
	data, err := tx.Get(KindBill, billNo)
	if err != nil {
		return nil, fmt.Errorf("bill %s: %w", billNo, err)
	}
	return decodeBill(billNo, data)
}

// Bill reads one bill; an error matching settle.ErrNotFound when there is none.
func (e *Bills) Bill(billNo string) (*Record, error) {
	var rec *Record
	err := e.st.View(func(tx ReadTx) error {
		var err error
		rec, err = getBill(tx, billNo)
		return err
	})
	return rec, err
}

// Bills returns up to limit bills in the given state (any state when empty), after
// the bill number `after`, in bill-number order, updated at or after since.
func (e *Bills) Bills(state State, after string, limit int, since time.Time) ([]*Record, error) {
	var out []*Record
	err := e.st.View(func(tx ReadTx) error {
		ids, err := idsInState(tx, KindBill, state, BillStates, after, limit)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rec, err := getBill(tx, id)
			if err != nil {
				return err
			}
			if !rec.UpdatedAt.Before(since) {
				out = append(out, rec)
			}
		}
		return nil
	})
	return out, err
}

// BillCounts counts bills per state from the state index.
func (e *Bills) BillCounts() map[State]int {
	out := map[State]int{}
	_ = e.st.View(func(tx ReadTx) error {
		for _, st := range BillStates {
			out[st] = tx.Count(KindBill, IndexState+string(st))
		}
		return nil
	})
	return out
}

// BillsOfDay returns every bill that counts on day (yyyy-mm-dd): settled that day
// (by the platform's setl_time), or queued that day with money collected and not
// settled yet.
func (e *Bills) BillsOfDay(day string) ([]*Record, error) {
	var out []*Record
	err := e.st.View(func(tx ReadTx) error {
		ids, err := tx.IDs(KindBill, IndexDay+day, "", 1<<30)
		if err != nil {
			return err
		}
		for _, id := range ids {
			rec, err := getBill(tx, id)
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

// SurprisedBills returns up to n bills whose platform answers surprised the client
// (a hospital share, amounts that do not add up, unknown fields, a registration left
// open): kept as the platform booked them, shown to a person.
func (e *Bills) SurprisedBills(n int) []*Record {
	var out []*Record
	_ = e.st.View(func(tx ReadTx) error {
		ids, err := tx.IDs(KindBill, IndexSurprise, "", n)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if rec, err := getBill(tx, id); err == nil {
				out = append(out, rec)
			}
		}
		return nil
	})
	return out
}

// RecentBills returns up to n bills of the latest days.
func (e *Bills) RecentBills(n int) []*Record {
	var out []*Record
	_ = e.st.View(func(tx ReadTx) error {
		ids, err := tx.Latest(KindBill, IndexDay, n)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if rec, err := getBill(tx, id); err == nil {
				out = append(out, rec)
			}
		}
		return nil
	})
	return out
}

// idemEntry is the remembered answer to one Idempotency-Key.
type idemEntry struct {
	Hash    string     `json:"hash"`
	BillNo  string     `json:"bill_no"`
	Kind    ResultKind `json:"kind,omitempty"`
	Code    string     `json:"code,omitempty"`
	Message string     `json:"message,omitempty"`
	// Answer is the record as answered without its bill (answeredRecord): the bill
	// never changes once stored, so a replay takes it from the record.
	Answer json.RawMessage `json:"answer,omitempty"`
	// Bill is the whole record as answered, as builds before 2026-12-08 kept it.
	Bill json.RawMessage `json:"bill,omitempty"`
	At   time.Time       `json:"at"`
}

// answeredRecord is a record as answered, encoded without its bill (Bill shadows the
// record's and is left out).
type answeredRecord struct {
	*Record
	Bill *struct{} `json:"bill,omitempty"`
}

func (e *Bills) getIdem(key string) (*idemEntry, error) {
	var ent *idemEntry
	err := e.st.View(func(tx ReadTx) error {
		data, err := tx.Get(KindIdem, key)
		if errors.Is(err, settle.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("idempotency key %q: %w", key, err)
		}
		ent = new(idemEntry)
		return json.Unmarshal(data, ent)
	})
	return ent, err
}

// cachedPerson is the last 1101 answer for one certificate.
type cachedPerson struct {
	Person settle.Person `json:"person"`
	At     time.Time     `json:"at"`
	// DedcOpen: at this person's last settlement here the deductible (起付线) took the
	// whole insured amount, so the year's deductible may not be met yet.
	DedcOpen bool `json:"dedc_open,omitempty"`
}

// personID is the cache id of a certificate: a keyed hash, so that card and ID
// numbers do not stand in the store file in clear even as keys.
func (e *Link) personID(certType, certNo string) string {
	return hex.EncodeToString(e.st.Name([]byte(certType + "\x00" + certNo)))
}

// cachePerson keeps the last 1101 answer for a certificate, for offline use: with
// the bill's next save when there is a bill, else in a commit of its own.
func (e *Link) cachePerson(ctx context.Context, rec *Record, certType, certNo string, p settle.Person) error {
	return e.updateCachedPerson(ctx, rec, certType, certNo, func(cp *cachedPerson) {
		cp.Person, cp.At = p, e.now()
	})
}

// updateCachedPerson changes the cached person of a certificate (read, change, write
// in one transaction); with a bill, the write rides on the bill's next save.
func (e *Link) updateCachedPerson(ctx context.Context, rec *Record, certType, certNo string, change func(*cachedPerson)) error {
	id := e.personID(certType, certNo)
	write := func(tx Tx) error {
		cp := new(cachedPerson)
		if data, err := tx.Get(KindPerson, id); err == nil {
			_ = json.Unmarshal(data, cp)
		}
		change(cp)
		if cp.Person.PsnNo == "" && cp.Person.PsnName == "" {
			return nil // nothing known of this person: keep nothing
		}
		v, err := json.Marshal(cp)
		if err != nil {
			return err
		}
		enc, err := e.st.Encode(KindPerson, id, v)
		if err != nil {
			return err
		}
		return tx.Put(KindPerson, id, enc, nil)
	}
	if rec != nil {
		rec.ride(write)
		return nil
	}
	return e.st.Update(ctx, write)
}

func (e *Link) cachedPerson(certType, certNo string) (*cachedPerson, error) {
	var cp *cachedPerson
	id := e.personID(certType, certNo)
	err := e.st.View(func(tx ReadTx) error {
		data, err := tx.Get(KindPerson, id)
		if errors.Is(err, settle.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		cp = new(cachedPerson)
		return json.Unmarshal(data, cp)
	})
	return cp, err
}

// addOutstanding adds m to the persisted amount carried offline, inside tx (which
// may run twice: it reads and writes the stored value).
func addOutstanding(tx Tx, m settle.Money) error {
	if m == 0 {
		return nil
	}
	cur, err := outstandingIn(tx)
	if err != nil {
		return err
	}
	return tx.SetMeta(metaOutstanding, max(cur+m, 0).String())
}

// outstandingIn is the amount carried offline as the store holds it in tx.
func outstandingIn(tx ReadTx) (settle.Money, error) {
	v := tx.Meta(metaOutstanding)
	if v == "" {
		return 0, nil
	}
	m, err := settle.ParseMoney(v)
	if err != nil {
		return 0, fmt.Errorf("outstanding amount %q: %w", v, err)
	}
	return m, nil
}

func (e *Bills) loadOutstanding() error {
	return e.st.View(func(tx ReadTx) error {
		m, err := outstandingIn(tx)
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.outstanding = m
		e.mu.Unlock()
		return nil
	})
}

// idsInState returns up to limit ids of kind in state, after `after`, in id order;
// an empty state is any of all (their state lists merged).
func idsInState(tx ReadTx, kind string, state State, all []State, after string, limit int) ([]string, error) {
	states := []State{state}
	if state == "" {
		states = all
	}
	var ids []string
	for _, s := range states {
		got, err := tx.IDs(kind, IndexState+string(s), after, limit)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	slices.Sort(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}
