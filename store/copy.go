package store

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

// Copy writes a consistent copy of the whole store file to w from one read
// transaction (bbolt's Tx.WriteTo): the agent goes on settling and queueing
// meanwhile, and the copy is the store as it was when the transaction began, a
// file that opens like the original. Before the first byte it calls begin, inside
// the same transaction, with what the copy holds and its size in bytes; an error
// from begin stops the copy. counts has three members: "bills" and "stays" (by
// state, from their state index) and "queue" (records by state). It returns the
// bytes written.
func (s *Store) Copy(w io.Writer, begin func(counts map[string]map[string]int, size int64) error) (int64, error) {
	var n int64
	err := s.q.View(func(tx *bolt.Tx) error {
		if begin != nil {
			if err := begin(countsIn(tx), tx.Size()); err != nil {
				return err
			}
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("copy store: %w", err)
	}
	return n, nil
}

// CopyFile is Copy for the store in dir while no agent runs: it opens the file
// without changing anything in it (no lease is released, no key generated) and
// gives queue.ErrLocked when a running agent holds it.
func CopyFile(dir string, w io.Writer, begin func(counts map[string]map[string]int, size int64) error) (int64, error) {
	q, err := queue.Open(filepath.Join(dir, File), &queue.Options{NoSweep: true, OpenTimeout: 500 * time.Millisecond})
	if err != nil {
		return 0, err
	}
	defer q.Close()
	return (&Store{q: q}).Copy(w, begin)
}

// countsIn counts bills and stays by state (their "state/..." index entries) and
// the queue's records by state, inside tx.
func countsIn(tx *bolt.Tx) map[string]map[string]int {
	out := map[string]map[string]int{"bills": byState(tx, workflow.KindBill), "stays": byState(tx, workflow.KindStay), "queue": {}}
	for st, n := range queue.CountsIn(tx) {
		out["queue"][string(st)] = n
	}
	return out
}

// byState counts the documents of kind per state from the index entries
// workflow.IndexState + state.
func byState(tx *bolt.Tx, kind string) map[string]int {
	out := map[string]int{}
	idx := tx.Bucket(idxBucket(kind))
	if idx == nil {
		return out
	}
	prefix := []byte(workflow.IndexState)
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			continue
		}
		out[string(k[len(prefix):i])]++
	}
	return out
}
