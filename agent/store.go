package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/queue"
)

// The agent keeps its own buckets in the queue's bbolt file, so that a bill's state and
// its queue record move in one transaction (one fsync, shared by concurrent callers).
var (
	bucketBills   = []byte("agent/bills")    // bill_no -> billRecord (sealed)
	bucketByState = []byte("agent/bystate")  // state \x00 bill_no -> ""
	bucketByDay   = []byte("agent/byday")    // yyyy-mm-dd \x00 bill_no -> "" (settled or queued that day)
	bucketIdem    = []byte("agent/idem")     // idempotency key -> idemEntry
	bucketPersons = []byte("agent/persons")  // cert type \x00 cert no -> cachedPerson (sealed)
	bucketLearned = []byte("agent/learned")  // policy and catalogue learned from platform answers
	bucketMeta    = []byte("agent/meta")     // msgid reservation, outstanding amount
	keyMsgidHigh  = []byte("msgid_reserved") // unix seconds
)

// idemEntry is the remembered answer to one Idempotency-Key.
type idemEntry struct {
	Hash   string          `json:"hash"`
	BillNo string          `json:"bill_no"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
	At     time.Time       `json:"at"`
}

// cachedPerson is the last 1101 answer for one certificate.
type cachedPerson struct {
	Person settle.Person `json:"person"`
	At     time.Time     `json:"at"`
	// DedcOpen: at this person's last settlement here the deductible (起付线) took the
	// whole insured amount, so the year's deductible may not be met yet.
	DedcOpen bool `json:"dedc_open,omitempty"`
}

func (a *Agent) bucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	if tx.Writable() {
		return tx.CreateBucketIfNotExists(name)
	}
	if b := tx.Bucket(name); b != nil {
		return b, nil
	}
	return nil, nil
}

// putBill writes rec and its index entries inside tx. Run inside Batch: it may run twice.
func (a *Agent) putBill(tx *bolt.Tx, rec *billRecord) error {
	sealed, err := a.sealBill(rec)
	if err != nil {
		return err
	}
	return a.putSealedBill(tx, rec, sealed)
}

// sealBill encodes and seals rec for the bills bucket. save does it before Batch, so
// that the one goroutine that commits for every caller does not spend its time on it.
func (a *Agent) sealBill(rec *billRecord) ([]byte, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode bill %s: %w", rec.Bill.BillNo, err)
	}
	return a.seal.Seal(compressRecord(data), []byte(rec.Bill.BillNo))
}

// putSealedBill writes rec, sealed by sealBill, and its index entries inside tx.
func (a *Agent) putSealedBill(tx *bolt.Tx, rec *billRecord, sealed []byte) error {
	b, err := a.bucket(tx, bucketBills)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(rec.Bill.BillNo), sealed); err != nil {
		return err
	}
	idx, err := a.bucket(tx, bucketByState)
	if err != nil {
		return err
	}
	if rec.stored != "" && rec.stored != rec.State {
		if err := idx.Delete(indexKey(string(rec.stored), rec.Bill.BillNo)); err != nil {
			return err
		}
	}
	if err := idx.Put(indexKey(string(rec.State), rec.Bill.BillNo), nil); err != nil {
		return err
	}
	if rec.State == StateSettled || rec.State == StateQueued {
		day, err := a.bucket(tx, bucketByDay)
		if err != nil {
			return err
		}
		when := rec.SettledAt
		if when.IsZero() {
			when = rec.QueuedAt
		}
		if err := day.Put(indexKey(dayOf(when), rec.Bill.BillNo), nil); err != nil {
			return err
		}
	}
	return nil
}

func indexKey(prefix, billNo string) []byte {
	k := make([]byte, 0, len(prefix)+1+len(billNo))
	k = append(k, prefix...)
	k = append(k, 0)
	return append(k, billNo...)
}

// dayOf is the hospital's calendar day (China Standard Time) of t.
func dayOf(t time.Time) string { return t.In(cst).Format("2006-01-02") }

var cst = time.FixedZone("CST", 8*3600)

// save writes rec durably (fsynced) together with whatever more is done in also.
func (a *Agent) save(ctx context.Context, rec *billRecord, also func(tx *queue.Tx) error) error {
	rec.UpdatedAt = a.now()
	sealed, err := a.sealBill(rec)
	if err != nil {
		return err
	}
	riders := rec.riders
	err = a.store.Batch(ctx, func(tx *queue.Tx) error {
		if err := a.putSealedBill(tx.Bolt(), rec, sealed); err != nil {
			return err
		}
		for _, w := range riders {
			if err := w(tx.Bolt()); err != nil {
				return err
			}
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store bill %s: %w", rec.Bill.BillNo, err)
	}
	rec.stored = rec.State
	rec.riders = rec.riders[len(riders):]
	return nil
}

// ride adds a write that goes into the store with the bill's next save, in the same
// transaction: caches (the person, learned policy) that need no commit of their own.
// Nothing that exactly-once depends on rides; losing one to a crash costs nothing.
func (rec *billRecord) ride(w func(tx *bolt.Tx) error) {
	rec.riders = append(rec.riders, w)
}

// loadBill reads one bill; settle.ErrNotFound when there is none.
func (a *Agent) loadBill(billNo string) (*billRecord, error) {
	var rec *billRecord
	err := a.store.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = a.getBill(tx, billNo)
		return err
	})
	return rec, err
}

func (a *Agent) getBill(tx *bolt.Tx, billNo string) (*billRecord, error) {
	b := tx.Bucket(bucketBills)
	if b == nil {
		return nil, fmt.Errorf("bill %s: %w", billNo, settle.ErrNotFound)
	}
	v := b.Get([]byte(billNo))
	if v == nil {
		return nil, fmt.Errorf("bill %s: %w", billNo, settle.ErrNotFound)
	}
	data, err := a.seal.Open(v, []byte(billNo))
	if err == nil {
		data, err = decompressRecord(data)
	}
	if err != nil {
		return nil, fmt.Errorf("bill %s: %w", billNo, err)
	}
	rec := new(billRecord)
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("bill %s: decode: %w", billNo, err)
	}
	rec.stored = rec.State
	return rec, nil
}

// listBills returns up to limit bills in the given state (any state when empty),
// after the bill number `after`, in bill-number order.
func (a *Agent) listBills(state State, after string, limit int, since time.Time) ([]*billRecord, error) {
	var out []*billRecord
	err := a.store.View(func(tx *bolt.Tx) error {
		if state == "" {
			b := tx.Bucket(bucketBills)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, _ := c.First()
			if after != "" {
				k, _ = c.Seek([]byte(after))
				if k != nil && string(k) == after {
					k, _ = c.Next()
				}
			}
			for ; k != nil && len(out) < limit; k, _ = c.Next() {
				rec, err := a.getBill(tx, string(k))
				if err != nil {
					return err
				}
				if !rec.UpdatedAt.Before(since) {
					out = append(out, rec)
				}
			}
			return nil
		}
		idx := tx.Bucket(bucketByState)
		if idx == nil {
			return nil
		}
		prefix := indexKey(string(state), "")
		c := idx.Cursor()
		k, _ := c.Seek(indexKey(string(state), after))
		if after != "" && k != nil && bytes.Equal(k, indexKey(string(state), after)) {
			k, _ = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			rec, err := a.getBill(tx, string(k[len(prefix):]))
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

// countState counts the bills in one state from the index (no decoding).
func (a *Agent) countState(tx *bolt.Tx, state State) int {
	idx := tx.Bucket(bucketByState)
	if idx == nil {
		return 0
	}
	prefix := indexKey(string(state), "")
	n := 0
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// billsOfDay returns every bill settled or queued on day (yyyy-mm-dd).
func (a *Agent) billsOfDay(day string) ([]*billRecord, error) {
	var out []*billRecord
	err := a.store.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketByDay)
		if idx == nil {
			return nil
		}
		prefix := indexKey(day, "")
		c := idx.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			rec, err := a.getBill(tx, string(k[len(prefix):]))
			if err != nil {
				if errors.Is(err, settle.ErrNotFound) {
					continue
				}
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}

// getIdem reads the answer remembered under an Idempotency-Key (sealed: it holds the
// answer's personal data).
func (a *Agent) getIdem(key string) (*idemEntry, error) {
	var e *idemEntry
	err := a.store.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIdem)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		data, err := a.seal.Open(v, []byte(key))
		if err == nil {
			data, err = decompressRecord(data)
		}
		if err != nil {
			return fmt.Errorf("idempotency key %q: %w", key, err)
		}
		e = new(idemEntry)
		return json.Unmarshal(data, e)
	})
	return e, err
}

// sealIdem encodes, deflates and seals a remembered answer, outside the commit.
func (a *Agent) sealIdem(key string, e *idemEntry) ([]byte, error) {
	v, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return a.seal.Seal(compressRecord(v), []byte(key))
}

// putSealedIdem stores a remembered answer sealed by sealIdem, inside tx.
func putSealedIdem(tx *bolt.Tx, key string, sealed []byte) error {
	b, err := tx.CreateBucketIfNotExists(bucketIdem)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), sealed)
}

// personKey is the cache key of a certificate: a keyed hash, so that card and ID
// numbers do not stand in the store file in clear even as keys. A new store key
// names persons anew: the cache starts over after a key rotation.
func (a *Agent) personKey(certType, certNo string) []byte {
	return a.seal.Name(indexKey(certType, certNo))
}

// cachePerson keeps the last 1101 answer for a certificate (sealed), for offline use:
// with the bill's next save when there is a bill, else in a commit of its own.
func (a *Agent) cachePerson(ctx context.Context, rec *billRecord, certType, certNo string, p settle.Person) error {
	return a.updateCachedPerson(ctx, rec, certType, certNo, func(cp *cachedPerson) {
		cp.Person, cp.At = p, a.now()
	})
}

// updateCachedPerson changes the cached person of a certificate (read, change, seal,
// write in one transaction); change also runs for a certificate not cached yet. With
// a bill, the write rides on the bill's next save.
func (a *Agent) updateCachedPerson(ctx context.Context, rec *billRecord, certType, certNo string, change func(*cachedPerson)) error {
	key := a.personKey(certType, certNo)
	write := func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketPersons)
		if err != nil {
			return err
		}
		cp := new(cachedPerson)
		if v := b.Get(key); v != nil {
			data, err := a.seal.Open(v, key)
			if err == nil {
				_ = json.Unmarshal(data, cp)
			}
		}
		change(cp)
		if cp.Person.PsnNo == "" && cp.Person.PsnName == "" {
			return nil // nothing known of this person: keep nothing
		}
		v, err := json.Marshal(cp)
		if err != nil {
			return err
		}
		sealed, err := a.seal.Seal(v, key)
		if err != nil {
			return err
		}
		return b.Put(key, sealed)
	}
	if rec != nil {
		rec.ride(write)
		return nil
	}
	return a.store.Batch(ctx, func(tx *queue.Tx) error { return write(tx.Bolt()) })
}

func (a *Agent) cachedPerson(certType, certNo string) (*cachedPerson, error) {
	var cp *cachedPerson
	key := a.personKey(certType, certNo)
	err := a.store.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPersons)
		if b == nil {
			return nil
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		data, err := a.seal.Open(v, key)
		if err != nil {
			return err
		}
		cp = new(cachedPerson)
		return json.Unmarshal(data, cp)
	})
	return cp, err
}
