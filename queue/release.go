package queue

import (
	"context"
	"encoding/binary"
)

// ReleaseLeases makes every leased record leasable at once and returns how many there
// were. bbolt's file lock lets only one process hold the store, so right after Open
// every lease belongs to a consumer that died with its process: a caller that is the
// store's only consumer calls this at start instead of waiting out LeaseTime. It reads
// only the leased records (an index range), never the whole queue.
func (s *Store) ReleaseLeases(ctx context.Context) (int, error) {
	n := 0
	err := s.Batch(ctx, func(tx *Tx) error {
		n = 0
		var ids []uint64
		c := tx.tx.Bucket(bucketStates).Cursor()
		for k, _ := c.Seek([]byte{sLeased}); len(k) == 9 && k[0] == sLeased; k, _ = c.Next() {
			ids = append(ids, binary.BigEndian.Uint64(k[1:]))
		}
		now := nanos(tx.now)
		for _, id := range ids {
			err := tx.move(id, "release lease", func(r *stored) error {
				r.leaseUntil = now
				return nil
			})
			if err != nil {
				return err
			}
			n++
		}
		if n > 0 {
			tx.notify = true
		}
		return nil
	})
	return n, err
}

// hastenChunk bounds the records one Hasten moves.
const hastenChunk = 10000

// Hasten makes every ready record waiting out a backoff leasable now and returns how
// many it moved. The agent calls it when the platform answers again after an outage,
// so that a backlog drains at once instead of waiting out each record's backoff. It
// walks the due index from now on, never the whole queue.
func (s *Store) Hasten(ctx context.Context) (int, error) {
	n := 0
	err := s.Batch(ctx, func(tx *Tx) error {
		n = 0
		now := nanos(tx.now)
		var ids []uint64
		c := tx.tx.Bucket(bucketDue).Cursor()
		for k, _ := c.Seek(timeID(now+1, 0)); k != nil && len(ids) < hastenChunk; k, _ = c.Next() {
			if len(k) == 16 {
				ids = append(ids, binary.BigEndian.Uint64(k[8:]))
			}
		}
		for _, id := range ids {
			old, err := load(tx.tx, id)
			if err != nil {
				return err
			}
			if old.state != sReady {
				continue // a lease runs its course
			}
			r := *old
			r.attempts = append([]Attempt(nil), old.attempts...)
			r.next = now
			if err := tx.save(old, &r); err != nil {
				return err
			}
			n++
		}
		if n > 0 {
			tx.notify = true
		}
		return nil
	})
	return n, err
}
