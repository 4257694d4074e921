package queue

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Filter selects records for List. The zero Filter lists every record in id order.
type Filter struct {
	State State  // only this state ("" = any)
	Key   string // only this key's not-done records ("" = any key)
	After uint64 // only ids greater than this (paging: pass the last id seen)
	Limit int    // at most this many (0 = no limit)
}

// List returns records in id order. It walks an index (by state or by key) when the
// filter names one, so listing the few failed records of a large store is cheap.
func (s *Store) List(f Filter) ([]*Record, error) {
	if f.State != "" && !f.State.Valid() {
		return nil, fmt.Errorf("list state %q: %w", f.State, ErrInvalid)
	}
	var out []*Record
	full := func() bool { return f.Limit > 0 && len(out) >= f.Limit }
	err := s.View(func(tx *bolt.Tx) error {
		var (
			c      *bolt.Cursor
			prefix []byte
		)
		switch {
		case f.Key != "":
			c, prefix = tx.Bucket(bucketKeys).Cursor(), keyPrefix(f.Key)
		case f.State != "":
			c, prefix = tx.Bucket(bucketStates).Cursor(), []byte{stateByte(f.State)}
		default:
			c = tx.Bucket(bucketRecords).Cursor()
		}
		start := binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), f.After+1)
		for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix) && !full(); k, _ = c.Next() {
			if len(k) != len(prefix)+8 {
				return fmt.Errorf("list: index key %x: %w", k, ErrCorrupt)
			}
			r, err := load(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return fmt.Errorf("list: %w", err)
			}
			if f.State != "" && stateOf(r.state) != f.State {
				continue
			}
			out = append(out, r.record())
		}
		return nil
	})
	return out, err
}

// Stats is a snapshot of the queue, read from counters kept in the file (no scan).
type Stats struct {
	Ready          int           `json:"ready"`
	Leased         int           `json:"leased"`
	Failed         int           `json:"failed"`
	Dead           int           `json:"dead"`
	Done           int           `json:"done"`
	OldestReady    time.Time     `json:"oldest_ready,omitzero"` // enqueue time of the oldest ready record
	OldestReadyAge time.Duration `json:"oldest_ready_age_ns"`   // now minus OldestReady (0 when none)
	FileBytes      int64         `json:"file_bytes"`
}

// Count returns the number of records in state st.
func (st Stats) Count(s State) int {
	switch s {
	case StateReady:
		return st.Ready
	case StateLeased:
		return st.Leased
	case StateFailed:
		return st.Failed
	case StateDead:
		return st.Dead
	case StateDone:
		return st.Done
	}
	return 0
}

// Stats returns the counts per state and the age of the oldest ready record. It
// reads a handful of pages, whatever the number of records.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		for _, p := range []struct {
			n *int
			s State
		}{{&st.Ready, StateReady}, {&st.Leased, StateLeased}, {&st.Failed, StateFailed}, {&st.Dead, StateDead}, {&st.Done, StateDone}} {
			*p.n = int(getUint(m, countKey(p.s)))
		}
		st.FileBytes = tx.Size()
		k, _ := tx.Bucket(bucketStates).Cursor().Seek([]byte{sReady})
		if k == nil || k[0] != sReady || len(k) != 9 {
			return nil
		}
		r, err := load(tx, binary.BigEndian.Uint64(k[1:]))
		if err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		st.OldestReady = fromNanos(r.enq)
		st.OldestReadyAge = max(s.opt.Now().Sub(st.OldestReady), 0)
		return nil
	})
	return st, err
}

// Export writes every record as one JSON line (see Record.MarshalJSON), in id
// order. redact, when not nil, rewrites each payload first (see RedactJSON).
func (s *Store) Export(w io.Writer, redact func([]byte) []byte) error {
	bw := bufio.NewWriter(w)
	err := s.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("export: record key %x: %w", k, ErrCorrupt)
			}
			r, err := decodeRecord(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return fmt.Errorf("export: record %x: %w: %v", k, ErrCorrupt, err)
			}
			rec := r.record()
			if redact != nil {
				rec.Payload = redact(rec.Payload)
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return fmt.Errorf("export record %d: %w", rec.ID, err)
			}
			bw.Write(b)
			if err := bw.WriteByte('\n'); err != nil {
				return fmt.Errorf("export: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// FileBytes is the size of the store file on disk.
func (s *Store) FileBytes() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// ReadRecord returns the record with that id as the caller's bbolt transaction tx
// (Store.View, Tx.Bolt) sees it, or ErrNotFound.
func ReadRecord(tx *bolt.Tx, id uint64) (*Record, error) {
	r, err := load(tx, id)
	if err != nil {
		return nil, err
	}
	return r.record(), nil
}

// Removed reports whether a record with id was issued by this file and is gone: a
// record is removed only once done (at its Ack under Options.RemoveDone, or by the
// retention sweep), so a removed record was done.
func Removed(tx *bolt.Tx, id uint64) bool {
	b := tx.Bucket(bucketRecords)
	return b != nil && id > 0 && id <= b.Sequence() && b.Get(u64(id)) == nil
}

// CountsIn returns the number of records per state as the file's counters hold
// them inside tx, a transaction of a View of this store's file: for a caller that
// needs the counts consistent with the rest of what it reads in that transaction
// (a backup's manifest). It reads one page.
func CountsIn(tx *bolt.Tx) map[State]int {
	out := map[State]int{}
	m := tx.Bucket(bucketMeta)
	if m == nil {
		return out
	}
	for _, st := range []State{StateReady, StateLeased, StateFailed, StateDead, StateDone} {
		out[st] = int(getUint(m, countKey(st)))
	}
	return out
}

// ForEachIn calls fn with every record, in id order, as the caller's bbolt
// transaction tx (Store.View) sees it: for a caller that hands the whole queue over
// together with the rest of the file (store.Store.Export).
func ForEachIn(tx *bolt.Tx, fn func(*Record) error) error {
	b := tx.Bucket(bucketRecords)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("record key %x: %w", k, ErrCorrupt)
		}
		r, err := decodeRecord(binary.BigEndian.Uint64(k), v)
		if err != nil {
			return fmt.Errorf("record %x: %w: %v", k, ErrCorrupt, err)
		}
		if err := fn(r.record()); err != nil {
			return err
		}
	}
	return nil
}

// LastIDIn is the last id Enqueue issued in tx's file (records removed since
// included): a store that takes the queue over issues ids after it, so that an id a
// bill still names never means another job.
func LastIDIn(tx *bolt.Tx) uint64 {
	if b := tx.Bucket(bucketRecords); b != nil {
		return b.Sequence()
	}
	return 0
}
