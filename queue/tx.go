package queue

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxKeyLen and MaxPayloadLen bound what Enqueue accepts.
const (
	MaxKeyLen     = 1024
	MaxPayloadLen = 16 << 20
)

// Tx is a write transaction of the queue, shared by the callers of one group
// commit (see Store.Batch). Every state move updates the record and all its index
// entries in this one transaction.
type Tx struct {
	s      *Store
	tx     *bolt.Tx
	now    time.Time
	counts [5]int64 // per-state deltas, written to the meta bucket by finish
	notify bool
}

// Bolt is the underlying bbolt transaction, for the caller's own buckets (any name
// not starting with "queue.").
func (tx *Tx) Bolt() *bolt.Tx { return tx.tx }

// Now is the time this transaction uses for every record it touches.
func (tx *Tx) Now() time.Time { return tx.now }

// Enqueue adds a ready record and returns its id. It is leasable at once when it is
// the oldest not-done record of its key.
func (tx *Tx) Enqueue(key string, payload []byte) (uint64, error) {
	if key == "" || len(key) > MaxKeyLen {
		return 0, fmt.Errorf("enqueue: key of %d bytes (want 1..%d): %w", len(key), MaxKeyLen, ErrInvalid)
	}
	if len(payload) > MaxPayloadLen {
		return 0, fmt.Errorf("enqueue: payload of %d bytes (max %d): %w", len(payload), MaxPayloadLen, ErrInvalid)
	}
	recs := tx.tx.Bucket(bucketRecords)
	id, err := recs.NextSequence()
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	now := nanos(tx.now)
	r := &stored{id: id, state: sReady, enq: now, since: now, next: now, key: key,
		payload: append([]byte(nil), payload...)}
	if err := tx.tx.Bucket(bucketKeys).Put(keyIndex(key, id), nil); err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	if err := tx.save(nil, r); err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	tx.notify = true
	return id, nil
}

// Get returns a record as this transaction sees it, or ErrNotFound.
func (tx *Tx) Get(id uint64) (*Record, error) {
	r, err := load(tx.tx, id)
	if err != nil {
		return nil, err
	}
	return r.record(), nil
}

// Ack moves a leased record to done (also when its lease has run out but nobody
// leased it again). Anything else is ErrNotLeased.
func (tx *Tx) Ack(id uint64) error {
	if tx.s.opt.RemoveDone {
		return tx.ackRemove(id)
	}
	return tx.move(id, "ack", func(r *stored) error {
		if r.state != sLeased {
			return fmt.Errorf("%w (state %s)", ErrNotLeased, stateOf(r.state))
		}
		r.state, r.done, r.leaseUntil = sDone, nanos(tx.now), 0
		return nil
	})
}

// ackRemove is Ack under Options.RemoveDone: the leased record is removed, and the
// next record of its key becomes the head.
func (tx *Tx) ackRemove(id uint64) error {
	return tx.removeNow(id, "ack", func(r *stored) error {
		if r.state != sLeased {
			return fmt.Errorf("%w (state %s)", ErrNotLeased, stateOf(r.state))
		}
		return nil
	})
}

// Withdraw ends a record that waits (ready, failed or dead) without running it: the
// work it carries is no longer wanted (a bill cancelled before anything was sent).
// It is done with reason (removed under Options.RemoveDone) and the next record of
// its key becomes the head. A leased record is left to the consumer that holds it,
// and a done one stays done: both are ErrWrongState.
func (tx *Tx) Withdraw(id uint64, reason string) error {
	waits := func(r *stored) error {
		if r.state == sLeased || r.state == sDone {
			return fmt.Errorf("%w (state %s; only a waiting record is withdrawn)", ErrWrongState, stateOf(r.state))
		}
		return nil
	}
	if tx.s.opt.RemoveDone {
		return tx.removeNow(id, "withdraw", waits)
	}
	return tx.move(id, "withdraw", func(r *stored) error {
		if err := waits(r); err != nil {
			return err
		}
		r.state, r.reason, r.done, r.leaseUntil = sDone, reason, nanos(tx.now), 0
		return nil
	})
}

// removeNow removes record id when check allows it (Options.RemoveDone), and the
// next record of its key becomes the head.
func (tx *Tx) removeNow(id uint64, op string, check func(r *stored) error) error {
	r, err := load(tx.tx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := check(r); err != nil {
		return fmt.Errorf("%s record %d: %w", op, id, err)
	}
	if err := tx.setDue(r, false); err != nil {
		return fmt.Errorf("%s record %d: %w", op, id, err)
	}
	if err := tx.tx.Bucket(bucketKeys).Delete(keyIndex(r.key, r.id)); err != nil {
		return fmt.Errorf("%s record %d: %w", op, id, err)
	}
	if err := tx.remove(r); err != nil {
		return fmt.Errorf("%s record %d: %w", op, id, err)
	}
	return tx.refreshHead(r.key)
}

// Nack records a failed attempt of a leased record and makes it ready again after
// an exponential backoff with jitter; past the retry horizon it goes to dead.
func (tx *Tx) Nack(id uint64, cause string) error {
	return tx.move(id, "nack", func(r *stored) error {
		if r.state != sLeased {
			return fmt.Errorf("%w (state %s)", ErrNotLeased, stateOf(r.state))
		}
		tx.retryOrDie(r, cause)
		return nil
	})
}

// Postpone is Nack without the retry horizon: the record goes back to ready after
// the backoff however old it is. A caller whose clock may have jumped (it disagrees
// with a trusted one) uses it, so that a clock jump never kills records.
func (tx *Tx) Postpone(id uint64, cause string) error {
	return tx.move(id, "postpone", func(r *stored) error {
		if r.state != sLeased {
			return fmt.Errorf("%w (state %s)", ErrNotLeased, stateOf(r.state))
		}
		since := r.since
		r.since = nanos(tx.now) // inside the horizon for this move only
		tx.retryOrDie(r, cause)
		r.since = since
		return nil
	})
}

// retryOrDie records cause as an attempt and moves r to ready after a backoff, or
// to dead when the horizon has passed.
func (tx *Tx) retryOrDie(r *stored, cause string) {
	now := nanos(tx.now)
	r.attempts = append(r.attempts, Attempt{At: fromNanos(now), Cause: cause})
	if len(r.attempts) > maxAttempts {
		r.attempts = append(r.attempts[:0], r.attempts[len(r.attempts)-maxAttempts:]...)
	}
	r.leaseUntil = 0
	if time.Duration(now-r.since) >= tx.s.opt.Horizon {
		r.state = sDead
		r.reason = "not done within the retry horizon (" + tx.s.opt.Horizon.String() + "); last: " + cause
		tx.s.log.Warn("queue record dead", "id", r.id, "attempts", len(r.attempts))
		return
	}
	r.state, r.reason = sReady, cause
	r.next = now + int64(tx.s.backoff(len(r.attempts)))
	tx.notify = true
}

// backoff is MinBackoff*2^(n-1) capped at MaxBackoff, then jittered to [d/2, d).
func (s *Store) backoff(n int) time.Duration {
	d := s.opt.MinBackoff
	for i := 1; i < n && d < s.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.opt.MaxBackoff)
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + s.opt.Jitter(half)
}

// Fail moves a leased or ready record to failed: a person must look at it.
func (tx *Tx) Fail(id uint64, reason string) error {
	return tx.move(id, "fail", func(r *stored) error {
		if r.state != sLeased && r.state != sReady {
			return fmt.Errorf("%w (state %s)", ErrWrongState, stateOf(r.state))
		}
		r.attempts = append(r.attempts, Attempt{At: tx.now.UTC(), Cause: reason})
		if len(r.attempts) > maxAttempts {
			r.attempts = append(r.attempts[:0], r.attempts[len(r.attempts)-maxAttempts:]...)
		}
		r.state, r.reason, r.leaseUntil = sFailed, reason, 0
		return nil
	})
}

// Dead moves a not-done record to dead (an administrator gave up on it). It keeps
// blocking later records of its key until Retry.
func (tx *Tx) Dead(id uint64, reason string) error {
	return tx.move(id, "dead", func(r *stored) error {
		if r.state == sDone {
			return fmt.Errorf("%w (state %s)", ErrWrongState, stateOf(r.state))
		}
		r.state, r.reason, r.leaseUntil = sDead, reason, 0
		return nil
	})
}

// Retry makes a failed or dead record ready now and restarts its retry horizon.
func (tx *Tx) Retry(id uint64) error {
	return tx.move(id, "retry", func(r *stored) error {
		if r.state != sFailed && r.state != sDead {
			return fmt.Errorf("%w (state %s; only failed or dead records are retried by hand)", ErrWrongState, stateOf(r.state))
		}
		now := nanos(tx.now)
		r.state, r.next, r.since = sReady, now, now
		tx.notify = true
		return nil
	})
}

// move loads record id, applies change and saves it with its indexes.
func (tx *Tx) move(id uint64, op string, change func(r *stored) error) error {
	old, err := load(tx.tx, id)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	r := *old
	r.attempts = append([]Attempt(nil), old.attempts...)
	if err := change(&r); err != nil {
		return fmt.Errorf("%s record %d: %w", op, id, err)
	}
	if err := tx.save(old, &r); err != nil {
		return fmt.Errorf("%s record %d: %w", op, id, err)
	}
	return nil
}

// save writes r (old is its previous version, nil for a new record) and brings the
// states, due, keys and done indexes in line.
func (tx *Tx) save(old, r *stored) error {
	states := tx.tx.Bucket(bucketStates)
	if old == nil || old.state != r.state {
		if old != nil {
			if err := states.Delete(stateKey(old.state, r.id)); err != nil {
				return err
			}
			tx.counts[stateIndex(old.state)]--
		}
		if err := states.Put(stateKey(r.state, r.id), nil); err != nil {
			return err
		}
		tx.counts[stateIndex(r.state)]++
	}
	leftKey := old != nil && old.state != sDone && r.state == sDone
	if leftKey {
		if err := tx.tx.Bucket(bucketKeys).Delete(keyIndex(r.key, r.id)); err != nil {
			return err
		}
		if err := tx.tx.Bucket(bucketDone).Put(timeID(r.done, r.id), nil); err != nil {
			return err
		}
	}
	if err := tx.setDue(r, r.state != sDone && tx.isHead(r)); err != nil {
		return err
	}
	if err := tx.put(r); err != nil {
		return err
	}
	if leftKey {
		return tx.refreshHead(r.key)
	}
	return nil
}

// fillAppend is the page fill of buckets whose keys mostly come in increasing order
// (record ids): bbolt's default of one half leaves every page of an append-only
// bucket half empty.
const fillAppend = 0.9

func (tx *Tx) put(r *stored) error {
	b := tx.tx.Bucket(bucketRecords)
	b.FillPercent = fillAppend
	return b.Put(u64(r.id), r.encode())
}

// setDue puts r into the due index at the time it becomes leasable (NextAt when
// ready, LeaseUntil when leased) if it is the head of its key, and out of it
// otherwise. It updates r.due but does not write r.
func (tx *Tx) setDue(r *stored, head bool) error {
	var want int64
	if head {
		switch r.state {
		case sReady:
			want = max(r.next, 1)
		case sLeased:
			want = max(r.leaseUntil, 1)
		}
	}
	if want == r.due {
		return nil
	}
	due := tx.tx.Bucket(bucketDue)
	if r.due != 0 {
		if err := due.Delete(timeID(r.due, r.id)); err != nil {
			return err
		}
	}
	if want != 0 {
		if err := due.Put(timeID(want, r.id), nil); err != nil {
			return err
		}
	}
	r.due = want
	return nil
}

// isHead reports whether r is the oldest not-done record of its key.
func (tx *Tx) isHead(r *stored) bool {
	id, ok := tx.head(r.key)
	return ok && id == r.id
}

func (tx *Tx) head(key string) (uint64, bool) {
	prefix := keyPrefix(key)
	k, _ := tx.tx.Bucket(bucketKeys).Cursor().Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(prefix):]), true
}

// refreshHead puts the new head of key (after the old one was done) into the due
// index when it is ready.
func (tx *Tx) refreshHead(key string) error {
	id, ok := tx.head(key)
	if !ok {
		return nil
	}
	r, err := load(tx.tx, id)
	if err != nil {
		return err
	}
	before := r.due
	if err := tx.setDue(r, true); err != nil {
		return err
	}
	if r.due == before {
		return nil
	}
	tx.notify = true
	return tx.put(r)
}

// lease hands out up to n due records (see Store.Lease).
func (tx *Tx) lease(n int) ([]*Record, error) {
	now := nanos(tx.now)
	var ids []uint64
	c := tx.tx.Bucket(bucketDue).Cursor()
	for k, _ := c.First(); k != nil && len(ids) < n; k, _ = c.Next() {
		if len(k) != 16 {
			return nil, fmt.Errorf("lease: due index key %x: %w", k, ErrCorrupt)
		}
		if int64(binary.BigEndian.Uint64(k)) > now {
			break
		}
		ids = append(ids, binary.BigEndian.Uint64(k[8:]))
	}
	// A record due further ahead than any backoff or lease can put it was scheduled
	// by a clock that has since been put back: it is due now, not in weeks.
	future := now + int64(tx.s.opt.MaxBackoff+tx.s.opt.LeaseTime+time.Minute)
	for k, _ := c.Seek(timeID(future, 0)); k != nil && len(ids) < n; k, _ = c.Next() {
		if len(k) == 16 {
			ids = append(ids, binary.BigEndian.Uint64(k[8:]))
		}
	}
	out := make([]*Record, 0, len(ids))
	for _, id := range ids {
		old, err := load(tx.tx, id)
		if err != nil {
			return nil, fmt.Errorf("lease: %w", err)
		}
		r := *old
		r.attempts = append([]Attempt(nil), old.attempts...)
		switch r.state {
		case sReady:
		case sLeased: // the lease ran out: the consumer is gone
			// The attempt is recorded, but the record is handed out again rather
			// than moved to dead here: its consumer keeps state of its own beside it
			// and moves both together (a Nack past the horizon).
			r.attempts = append(r.attempts, Attempt{At: fromNanos(now), Cause: "lease expired"})
			if len(r.attempts) > maxAttempts {
				r.attempts = append(r.attempts[:0], r.attempts[len(r.attempts)-maxAttempts:]...)
			}
		default:
			return nil, fmt.Errorf("lease: record %d in the due index in state %s: %w", id, stateOf(r.state), ErrCorrupt)
		}
		r.state, r.leaseUntil = sLeased, now+int64(tx.s.opt.LeaseTime)
		if err := tx.save(old, &r); err != nil {
			return nil, fmt.Errorf("lease: %w", err)
		}
		out = append(out, r.record())
	}
	return out, nil
}

// remove deletes a done record and its index entries (retention).
func (tx *Tx) remove(r *stored) error {
	if err := tx.tx.Bucket(bucketRecords).Delete(u64(r.id)); err != nil {
		return err
	}
	if err := tx.tx.Bucket(bucketStates).Delete(stateKey(r.state, r.id)); err != nil {
		return err
	}
	if err := tx.tx.Bucket(bucketDone).Delete(timeID(r.done, r.id)); err != nil {
		return err
	}
	tx.counts[stateIndex(r.state)]--
	return nil
}

// finish writes the per-state counter deltas; the committer calls it last.
func (tx *Tx) finish() error {
	m := tx.tx.Bucket(bucketMeta)
	for i, d := range tx.counts {
		if d == 0 {
			continue
		}
		k := countKey(States[i])
		v := int64(getUint(m, k)) + d
		if v < 0 {
			return fmt.Errorf("%w: negative %s count", ErrCorrupt, States[i])
		}
		if err := putUint(m, k, uint64(v)); err != nil {
			return err
		}
	}
	return nil
}

func countKey(s State) []byte { return []byte("count." + string(s)) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }

func getUint(b *bolt.Bucket, k []byte) uint64 {
	v := b.Get(k)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

func putUint(b *bolt.Bucket, k []byte, v uint64) error { return b.Put(k, u64(v)) }

func keyPrefix(key string) []byte {
	b := make([]byte, 0, 2+len(key)+8)
	b = binary.BigEndian.AppendUint16(b, uint16(len(key)))
	return append(b, key...)
}

func keyIndex(key string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(keyPrefix(key), id)
}

func stateKey(state byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{state}, id)
}

func timeID(t int64, id uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(t))
	return binary.BigEndian.AppendUint64(b, id)
}
