package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

// The queue keeps the semantics of package queue (see its Tx): jobs of one key are
// handed out one at a time in enqueue order; Nack backs off exponentially with jitter
// and past the retry horizon kills the job; Postpone backs off whatever the age; a
// failed or dead job blocks its key until Retry; an expired lease hands the job out
// again.

// job is a queue job as kept in etcd (JSON, short names: it is in every bill's cost).
type job struct {
	Key      string `json:"k"`
	State    byte   `json:"s"`
	Payload  []byte `json:"p,omitempty"`
	Enq      int64  `json:"e"`
	Since    int64  `json:"h"`
	Next     int64  `json:"n,omitempty"`
	Lease    int64  `json:"l,omitempty"`
	Done     int64  `json:"d,omitempty"`
	Due      int64  `json:"u,omitempty"`
	Attempts int    `json:"a,omitempty"`
	Reason   string `json:"r,omitempty"`
}

// Job states, as package queue spells them on disk.
const (
	sReady  byte = 'r'
	sLeased byte = 'l'
	sFailed byte = 'f'
	sDead   byte = 'x'
	sDone   byte = 'd'
)

func stateOf(b byte) workflow.JobState {
	switch b {
	case sReady:
		return workflow.JobReady
	case sLeased:
		return workflow.JobLeased
	case sFailed:
		return workflow.JobFailed
	case sDead:
		return workflow.JobDead
	case sDone:
		return workflow.JobDone
	}
	return ""
}

func hex16(v uint64) string { return fmt.Sprintf("%016x", v) }

func (w *writeTx) qKey(part string) string { return w.t.s.prefix + "q/" + part }
func (w *writeTx) recKey(id uint64) string { return w.qKey("r/" + hex16(id)) }
func (w *writeTx) keyIdx(key string, id uint64) string {
	return w.qKey("k/" + key + "\x00" + hex16(id))
}
func (w *writeTx) dueKey(at int64, id uint64) string {
	return w.qKey("t/" + hex16(uint64(at)) + hex16(id))
}
func (w *writeTx) doneKey(at int64, id uint64) string {
	return w.qKey("f/" + hex16(uint64(at)) + hex16(id))
}
func (w *writeTx) stateKey(st byte, id uint64) string {
	return w.qKey("s/" + string(st) + hex16(id))
}

func (w *writeTx) now() int64 { return w.t.s.now().UnixNano() }

func (w *writeTx) load(id uint64) (*job, error) {
	v, err := w.t.get(w.recKey(id))
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("record %d: %w", id, queue.ErrNotFound)
	}
	var j job
	if err := json.Unmarshal(v, &j); err != nil {
		return nil, fmt.Errorf("record %d: %w: %v", id, queue.ErrCorrupt, err)
	}
	return &j, nil
}

func (w *writeTx) save(id uint64, j *job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	w.t.put(w.recKey(id), b)
	return nil
}

func jobOf(id uint64, j *job) workflow.Job {
	return workflow.Job{ID: id, Key: j.Key, Payload: j.Payload, State: stateOf(j.State), Reason: j.Reason}
}

func (w *writeTx) Job(id uint64) (workflow.Job, error) {
	j, err := w.load(id)
	if errors.Is(err, queue.ErrNotFound) && w.issued(id) {
		// Removed once done (retention, or by the single machine it was imported
		// from): it reads as done, as in package store.
		return workflow.Job{ID: id, State: workflow.JobDone}, nil
	}
	if err != nil {
		return workflow.Job{}, err
	}
	return jobOf(id, j), nil
}

// issued reports whether the queue has issued job id.
func (w *writeTx) issued(id uint64) bool {
	seq, err := w.t.get(w.qKey("seq"))
	if err != nil || len(seq) == 0 {
		return false
	}
	last, err := strconv.ParseUint(string(seq), 10, 64)
	return err == nil && id > 0 && id <= last
}

func (w *writeTx) Enqueue(key string, payload []byte) (uint64, error) {
	if key == "" || len(key) > queue.MaxKeyLen {
		return 0, fmt.Errorf("enqueue: key of %d bytes (want 1..%d): %w", len(key), queue.MaxKeyLen, queue.ErrInvalid)
	}
	seq, err := w.t.get(w.qKey("seq"))
	if err != nil {
		return 0, err
	}
	var last uint64
	if len(seq) > 0 {
		if last, err = strconv.ParseUint(string(seq), 10, 64); err != nil {
			return 0, fmt.Errorf("enqueue: job sequence %q: %w", seq, queue.ErrCorrupt)
		}
	}
	id := last + 1
	w.t.put(w.qKey("seq"), []byte(strconv.FormatUint(id, 10)))
	now := w.now()
	j := &job{Key: key, State: sReady, Payload: append([]byte(nil), payload...), Enq: now, Since: now, Next: now}
	w.t.put(w.keyIdx(key, id), nil)
	if err := w.place(id, nil, j); err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	w.t.notify = true
	return id, nil
}

// place writes j (old: its previous version, nil for a new job) and keeps the key,
// due and done indexes in line.
func (w *writeTx) place(id uint64, old, j *job) error {
	if old == nil || old.State != j.State {
		if old != nil {
			w.t.del(w.stateKey(old.State, id))
		}
		w.t.put(w.stateKey(j.State, id), nil)
	}
	leftKey := old != nil && old.State != sDone && j.State == sDone
	if leftKey {
		w.t.del(w.keyIdx(j.Key, id))
		w.t.put(w.doneKey(j.Done, id), nil)
	}
	head := false
	if j.State != sDone {
		h, ok, err := w.head(j.Key)
		if err != nil {
			return err
		}
		head = ok && h == id
	}
	w.setDue(id, j, head)
	if err := w.save(id, j); err != nil {
		return err
	}
	if leftKey {
		return w.refreshHead(j.Key)
	}
	return nil
}

// setDue puts j in the due index at the time it becomes leasable when it is the head
// of its key, and out of it otherwise.
func (w *writeTx) setDue(id uint64, j *job, head bool) {
	var want int64
	if head {
		switch j.State {
		case sReady:
			want = max(j.Next, 1)
		case sLeased:
			want = max(j.Lease, 1)
		}
	}
	if want == j.Due {
		return
	}
	if j.Due != 0 {
		w.t.del(w.dueKey(j.Due, id))
	}
	if want != 0 {
		w.t.put(w.dueKey(want, id), nil)
		w.t.notify = true
	}
	j.Due = want
}

// head is the oldest not-done job of key.
func (w *writeTx) head(key string) (uint64, bool, error) {
	prefix := w.qKey("k/" + key + "\x00")
	kvs, err := w.t.list(prefix, prefixEnd(prefix), 1, false, true)
	if err != nil || len(kvs) == 0 {
		return 0, false, err
	}
	id, err := strconv.ParseUint(cut(kvs[0].key, prefix), 16, 64)
	if err != nil {
		return 0, false, fmt.Errorf("queue key index %q: %w", kvs[0].key, queue.ErrCorrupt)
	}
	return id, true, nil
}

// refreshHead puts the new head of key (after the old one was done) into the due index.
func (w *writeTx) refreshHead(key string) error {
	id, ok, err := w.head(key)
	if err != nil || !ok {
		return err
	}
	j, err := w.load(id)
	if err != nil {
		return err
	}
	before := j.Due
	w.setDue(id, j, true)
	if j.Due == before {
		return nil
	}
	return w.save(id, j)
}

// move loads job id, applies change and saves it with its indexes.
func (w *writeTx) move(id uint64, op string, change func(j *job) error) error {
	old, err := w.load(id)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	j := *old
	if err := change(&j); err != nil {
		return fmt.Errorf("%s record %d: %w", op, id, err)
	}
	if err := w.place(id, old, &j); err != nil {
		return fmt.Errorf("%s record %d: %w", op, id, err)
	}
	return nil
}

// moved makes a move refused for the job's state match workflow.ErrJobMoved.
func moved(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", workflow.ErrJobMoved, err)
}

func notLeased(j *job) error {
	return moved(fmt.Errorf("%w (state %s)", queue.ErrNotLeased, stateOf(j.State)))
}

func (w *writeTx) Ack(id uint64) error {
	return w.move(id, "ack", func(j *job) error {
		if j.State != sLeased {
			return notLeased(j)
		}
		j.State, j.Done, j.Lease = sDone, w.now(), 0
		return nil
	})
}

func (w *writeTx) Nack(id uint64, cause string) (workflow.Job, error) {
	var out workflow.Job
	err := w.move(id, "nack", func(j *job) error {
		if j.State != sLeased {
			return notLeased(j)
		}
		w.retryOrDie(j, cause)
		out = jobOf(id, j)
		return nil
	})
	return out, err
}

func (w *writeTx) Postpone(id uint64, cause string) error {
	return w.move(id, "postpone", func(j *job) error {
		if j.State != sLeased {
			return notLeased(j)
		}
		since := j.Since
		j.Since = w.now() // inside the horizon for this move only
		w.retryOrDie(j, cause)
		j.Since = since
		return nil
	})
}

// retryOrDie counts an attempt and moves j to ready after a backoff, or to dead past
// the horizon.
func (w *writeTx) retryOrDie(j *job, cause string) {
	now := w.now()
	q := &w.t.s.q
	j.Attempts++
	j.Lease = 0
	if time.Duration(now-j.Since) >= q.Horizon {
		j.State = sDead
		j.Reason = "not done within the retry horizon (" + q.Horizon.String() + "); last: " + cause
		return
	}
	j.State, j.Reason = sReady, cause
	d := q.MinBackoff
	for i := 1; i < j.Attempts && d < q.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, q.MaxBackoff)
	if half := d / 2; half > 0 {
		d = half + q.Jitter(half)
	}
	j.Next = now + int64(d)
}

func (w *writeTx) Fail(id uint64, reason string) error {
	return w.move(id, "fail", func(j *job) error {
		if j.State != sLeased && j.State != sReady {
			return moved(fmt.Errorf("%w (state %s)", queue.ErrWrongState, stateOf(j.State)))
		}
		j.Attempts++
		j.State, j.Reason, j.Lease = sFailed, reason, 0
		return nil
	})
}

func (w *writeTx) Dead(id uint64, reason string) error {
	return w.move(id, "dead", func(j *job) error {
		if j.State == sDone {
			return moved(fmt.Errorf("%w (state %s)", queue.ErrWrongState, stateOf(j.State)))
		}
		j.State, j.Reason, j.Lease = sDead, reason, 0
		return nil
	})
}

func (w *writeTx) Withdraw(id uint64, reason string) error {
	return w.move(id, "withdraw", func(j *job) error {
		if j.State == sLeased || j.State == sDone {
			return moved(fmt.Errorf("%w (state %s; only a waiting record is withdrawn)", queue.ErrWrongState, stateOf(j.State)))
		}
		j.State, j.Reason, j.Done, j.Lease = sDone, reason, w.now(), 0
		return nil
	})
}

func (w *writeTx) Retry(id uint64) error {
	return w.move(id, "retry", func(j *job) error {
		if j.State != sFailed && j.State != sDead {
			return moved(fmt.Errorf("%w (state %s; only failed or dead records are retried by hand)", queue.ErrWrongState, stateOf(j.State)))
		}
		now := w.now()
		j.State, j.Next, j.Since = sReady, now, now
		w.t.notify = true
		return nil
	})
}

// dueIDs lists the jobs of the due index in [from, to) (unix nanoseconds), up to n.
func (w *writeTx) dueIDs(from, to int64, n int) ([]uint64, error) {
	kvs, err := w.t.list(w.dueKey(from, 0), w.dueKey(to, 0), n, false, true)
	if err != nil {
		return nil, err
	}
	var ids []uint64
	prefix := w.qKey("t/")
	for _, e := range kvs {
		k := cut(e.key, prefix)
		if len(k) != 32 {
			return nil, fmt.Errorf("queue due index key %q: %w", e.key, queue.ErrCorrupt)
		}
		id, err := strconv.ParseUint(k[16:], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("queue due index key %q: %w", e.key, queue.ErrCorrupt)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Lease hands out up to n due jobs, at most one per key, in due order.
func (s *Store) Lease(ctx context.Context, n int) ([]workflow.Job, error) {
	if n <= 0 {
		return nil, fmt.Errorf("lease %d records: %w", n, queue.ErrInvalid)
	}
	var out []workflow.Job
	err := s.Update(ctx, func(tx workflow.Tx) error {
		w := tx.(*writeTx)
		out = out[:0]
		now := w.now()
		ids, err := w.dueIDs(1, now+1, n)
		if err != nil {
			return err
		}
		// A job due further ahead than any backoff or lease can put it was scheduled
		// by a clock that has since been put back: it is due now, not in weeks.
		if len(ids) < n {
			future := now + int64(s.q.MaxBackoff+s.q.LeaseTime+time.Minute)
			more, err := w.dueIDs(future, 1<<62, n-len(ids))
			if err != nil {
				return err
			}
			ids = append(ids, more...)
		}
		for _, id := range ids {
			err := w.move(id, "lease", func(j *job) error {
				switch j.State {
				case sReady:
				case sLeased: // the lease ran out: the consumer is gone
					j.Attempts++
				default:
					return fmt.Errorf("in the due index in state %s: %w", stateOf(j.State), queue.ErrCorrupt)
				}
				j.State, j.Lease = sLeased, now+int64(s.q.LeaseTime)
				out = append(out, jobOf(id, j))
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// hastenChunk bounds the jobs one transaction of Hasten moves (etcd's operations
// per transaction).
const hastenChunk = 30

// Hasten makes every job waiting out a backoff due now.
func (s *Store) Hasten(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.Update(ctx, func(tx workflow.Tx) error {
			w := tx.(*writeTx)
			n = 0
			now := w.now()
			ids, err := w.dueIDs(now+1, 1<<62, hastenChunk)
			if err != nil {
				return err
			}
			for _, id := range ids {
				j, err := w.load(id)
				if err != nil {
					return err
				}
				if j.State != sReady {
					continue // a lease runs its course
				}
				old := *j
				j.Next = now
				if err := w.place(id, &old, j); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// SweepQueue removes done jobs older than the retention (the leader calls it on
// schedule), a chunk per transaction.
func (s *Store) SweepQueue(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.Update(ctx, func(tx workflow.Tx) error {
			w := tx.(*writeTx)
			n = 0
			cutoff := w.now() - int64(s.q.Retention)
			prefix := w.qKey("f/")
			kvs, err := w.t.list(prefix, w.doneKey(cutoff, 0), hastenChunk, false, true)
			if err != nil {
				return err
			}
			for _, e := range kvs {
				k := cut(e.key, prefix)
				id, err := strconv.ParseUint(k[min(16, len(k)):], 16, 64)
				if err != nil {
					return fmt.Errorf("queue done index key %q: %w", e.key, queue.ErrCorrupt)
				}
				w.t.del(e.key)
				w.t.del(w.recKey(id))
				w.t.del(w.stateKey(sDone, id))
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < hastenChunk {
			return total, err
		}
	}
}
