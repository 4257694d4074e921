package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

// The file's buckets besides the queue's. Bills keep the bucket of earlier builds.
var (
	bucketMeta = []byte("agent/meta") // small named values
)

// docBucket is where documents of kind live; idxBucket holds "entry \x00 id" keys;
// entBucket holds each document's current entries ("\x00"-joined) so that a Put can
// remove the ones it no longer has.
func docBucket(kind string) []byte {
	if kind == "bill" {
		return []byte("agent/bills")
	}
	return []byte("docs/" + kind)
}
func idxBucket(kind string) []byte { return []byte("index/" + kind) }
func entBucket(kind string) []byte { return []byte("entries/" + kind) }

func indexKey(entry, id string) []byte {
	k := make([]byte, 0, len(entry)+1+len(id))
	k = append(k, entry...)
	k = append(k, 0)
	return append(k, id...)
}

type readTx struct {
	s  *Store
	tx *bolt.Tx
}

func (t *readTx) Get(kind, id string) ([]byte, error) {
	b := t.tx.Bucket(docBucket(kind))
	if b == nil {
		return nil, fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	v := b.Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	}
	return t.s.decode(kind, id, v)
}

func (t *readTx) IDs(kind, entry, after string, limit int) ([]string, error) {
	idx := t.tx.Bucket(idxBucket(kind))
	if idx == nil {
		return nil, nil
	}
	prefix := indexKey(entry, "")
	c := idx.Cursor()
	start := indexKey(entry, after)
	k, _ := c.Seek(start)
	if after != "" && k != nil && bytes.Equal(k, start) {
		k, _ = c.Next()
	}
	var out []string
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out, nil
}

func (t *readTx) Count(kind, entry string) int {
	idx := t.tx.Bucket(idxBucket(kind))
	if idx == nil {
		return 0
	}
	prefix := indexKey(entry, "")
	n := 0
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

func (t *readTx) Before(kind, prefix, cutoff string, limit int) ([]workflow.IndexEntry, error) {
	idx := t.tx.Bucket(idxBucket(kind))
	if idx == nil {
		return nil, nil
	}
	var out []workflow.IndexEntry
	c := idx.Cursor()
	for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)) && len(out) < limit; k, _ = c.Next() {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			continue
		}
		entry := string(k[:i])
		if entry >= prefix+cutoff {
			break
		}
		out = append(out, workflow.IndexEntry{Index: entry, ID: string(k[i+1:])})
	}
	return out, nil
}

func (t *readTx) Latest(kind, prefix string, limit int) ([]string, error) {
	idx := t.tx.Bucket(idxBucket(kind))
	if idx == nil {
		return nil, nil
	}
	var out []string
	c := idx.Cursor()
	// Seek past every key with the prefix, then walk back.
	end := append([]byte(prefix), 0xff)
	k, _ := c.Seek(end)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, []byte(prefix)) && len(out) < limit; k, _ = c.Prev() {
		if i := bytes.IndexByte(k, 0); i >= 0 {
			out = append(out, string(k[i+1:]))
		}
	}
	return out, nil
}

func (t *readTx) ForEach(kind string, fn func(id string, data []byte) error) error {
	b := t.tx.Bucket(docBucket(kind))
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		data, err := t.s.decode(kind, string(k), v)
		if err != nil {
			return err
		}
		return fn(string(k), data)
	})
}

func (t *readTx) Meta(key string) string {
	b := t.tx.Bucket(bucketMeta)
	if b == nil {
		return ""
	}
	return string(b.Get([]byte(key)))
}

func (t *readTx) Job(id uint64) (workflow.Job, error) {
	r, err := queue.ReadRecord(t.tx, id)
	if err != nil {
		return removedJob(t.tx, id, err)
	}
	return jobOf(r), nil
}

// removedJob answers for a job the queue no longer holds: one it removed at its ack
// (or by retention) reads as done, its key and payload gone with it; else err.
func removedJob(tx *bolt.Tx, id uint64, err error) (workflow.Job, error) {
	if errors.Is(err, queue.ErrNotFound) && queue.Removed(tx, id) {
		return workflow.Job{ID: id, State: workflow.JobDone}, nil
	}
	return workflow.Job{}, err
}

type writeTx struct {
	readTx
	q *queue.Tx
}

func (t *writeTx) Job(id uint64) (workflow.Job, error) {
	r, err := t.q.Get(id)
	if err != nil {
		return removedJob(t.tx, id, err)
	}
	return jobOf(r), nil
}

func (t *writeTx) Put(kind, id string, stored []byte, index []string) error {
	b, err := t.tx.CreateBucketIfNotExists(docBucket(kind))
	if err != nil {
		return err
	}
	// Bill numbers (and the keys named after them) mostly come in increasing order:
	// fill pages well instead of bbolt's default half.
	b.FillPercent = 0.9
	if err := b.Put([]byte(id), stored); err != nil {
		return err
	}
	return t.setEntries(kind, id, index)
}

// setEntries makes the document's index entries exactly want.
func (t *writeTx) setEntries(kind, id string, want []string) error {
	ents, err := t.tx.CreateBucketIfNotExists(entBucket(kind))
	if err != nil {
		return err
	}
	ents.FillPercent = 0.9 // keyed like the documents
	idx, err := t.tx.CreateBucketIfNotExists(idxBucket(kind))
	if err != nil {
		return err
	}
	var had []string
	if v := ents.Get([]byte(id)); len(v) > 0 {
		had = strings.Split(string(v), "\x00")
	}
	keep := map[string]bool{}
	for _, e := range want {
		keep[e] = true
	}
	for _, e := range had {
		if !keep[e] {
			if err := idx.Delete(indexKey(e, id)); err != nil {
				return err
			}
		}
	}
	for _, e := range want {
		if strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("index entry %q of %s %s holds a NUL", e, kind, id)
		}
		if err := idx.Put(indexKey(e, id), nil); err != nil {
			return err
		}
	}
	if len(want) == 0 {
		return ents.Delete([]byte(id))
	}
	return ents.Put([]byte(id), []byte(strings.Join(want, "\x00")))
}

func (t *writeTx) Delete(kind, id string) error {
	if b := t.tx.Bucket(docBucket(kind)); b != nil {
		if err := b.Delete([]byte(id)); err != nil {
			return err
		}
	}
	return t.setEntries(kind, id, nil)
}

func (t *writeTx) SetMeta(key, value string) error {
	b, err := t.tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), []byte(value))
}

func (t *writeTx) Enqueue(key string, payload []byte) (uint64, error) {
	return t.q.Enqueue(key, payload)
}
func (t *writeTx) Ack(id uint64) error { return moved(t.q.Ack(id)) }
func (t *writeTx) Nack(id uint64, cause string) (workflow.Job, error) {
	if err := t.q.Nack(id, cause); err != nil {
		return workflow.Job{}, moved(err)
	}
	return t.Job(id)
}
func (t *writeTx) Postpone(id uint64, cause string) error { return moved(t.q.Postpone(id, cause)) }
func (t *writeTx) Fail(id uint64, reason string) error    { return moved(t.q.Fail(id, reason)) }
func (t *writeTx) Retry(id uint64) error                  { return moved(t.q.Retry(id)) }
func (t *writeTx) Dead(id uint64, reason string) error    { return moved(t.q.Dead(id, reason)) }
func (t *writeTx) Withdraw(id uint64, reason string) error {
	return moved(t.q.Withdraw(id, reason))
}

// moved makes a queue move refused for the job's state match workflow.ErrJobMoved.
func moved(err error) error {
	if errors.Is(err, queue.ErrNotLeased) || errors.Is(err, queue.ErrWrongState) {
		return fmt.Errorf("%w: %w", workflow.ErrJobMoved, err)
	}
	return err
}
