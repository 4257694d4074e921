package queue

import (
	"context"
	"fmt"
)

// Enqueue stores a ready record and returns its id once the commit holding it is
// fsynced.
func (s *Store) Enqueue(ctx context.Context, key string, payload []byte) (uint64, error) {
	var id uint64
	err := s.Batch(ctx, func(tx *Tx) error {
		var err error
		id, err = tx.Enqueue(key, payload)
		return err
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// Ack moves a leased record to done; see Tx.Ack.
func (s *Store) Ack(ctx context.Context, id uint64) error {
	return s.Batch(ctx, func(tx *Tx) error { return tx.Ack(id) })
}

// Nack records a failed attempt and schedules a retry; see Tx.Nack.
func (s *Store) Nack(ctx context.Context, id uint64, cause string) error {
	return s.Batch(ctx, func(tx *Tx) error { return tx.Nack(id, cause) })
}

// Fail moves a record to failed for a person to look at; see Tx.Fail.
func (s *Store) Fail(ctx context.Context, id uint64, reason string) error {
	return s.Batch(ctx, func(tx *Tx) error { return tx.Fail(id, reason) })
}

// Dead moves a not-done record to dead (administrator); see Tx.Dead.
func (s *Store) Dead(ctx context.Context, id uint64, reason string) error {
	return s.Batch(ctx, func(tx *Tx) error { return tx.Dead(id, reason) })
}

// Retry makes a failed or dead record ready now (administrator); see Tx.Retry.
func (s *Store) Retry(ctx context.Context, id uint64) error {
	return s.Batch(ctx, func(tx *Tx) error { return tx.Retry(id) })
}

// Lease hands out up to n ready records whose NextAt has come (and leased records
// whose lease ran out), each the oldest not-done record of its key, never two of one
// key at once, marking them leased until now+LeaseTime. It does not wait for
// records; it returns an empty slice when none is due. Concurrent Lease, Ack and
// Enqueue calls share commits. Records come out in due-time order.
func (s *Store) Lease(ctx context.Context, n int) ([]*Record, error) {
	if n <= 0 {
		return nil, fmt.Errorf("lease %d records: %w", n, ErrInvalid)
	}
	var out []*Record
	err := s.Batch(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.lease(n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
