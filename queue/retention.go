package queue

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// sweepChunk bounds how many done records one retention transaction removes.
const sweepChunk = 1000

// Sweep removes done records whose DoneAt is more than Retention ago (every done
// record under Options.RemoveDone) and returns how many it removed. The background sweep calls it; it is exported for tests and
// tools. It walks the done index in time order, never the whole store.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.Batch(ctx, func(tx *Tx) error {
			n = 0
			cutoff := nanos(tx.now.Add(-s.opt.Retention))
			if s.opt.RemoveDone {
				cutoff = math.MaxInt64 // every done record goes
			}
			var ids []uint64
			c := tx.tx.Bucket(bucketDone).Cursor()
			for k, _ := c.First(); k != nil && len(ids) < sweepChunk; k, _ = c.Next() {
				if len(k) != 16 {
					return fmt.Errorf("sweep: done index key %x: %w", k, ErrCorrupt)
				}
				if int64(binary.BigEndian.Uint64(k)) >= cutoff {
					break
				}
				ids = append(ids, binary.BigEndian.Uint64(k[8:]))
			}
			for _, id := range ids {
				r, err := load(tx.tx, id)
				if err != nil {
					return fmt.Errorf("sweep: %w", err)
				}
				if r.state != sDone {
					return fmt.Errorf("sweep: record %d in the done index is %s: %w", id, stateOf(r.state), ErrCorrupt)
				}
				if err := tx.remove(r); err != nil {
					return fmt.Errorf("sweep record %d: %w", id, err)
				}
			}
			n = len(ids)
			return nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < sweepChunk {
			return total, nil
		}
	}
}

// sweepInterval is how often the background sweep runs.
func (s *Store) sweepInterval() time.Duration {
	return min(max(s.opt.Retention/10, time.Second), 10*time.Minute)
}

func (s *Store) sweepLoop(ctx context.Context) {
	defer close(s.sweepDone)
	t := time.NewTicker(s.sweepInterval())
	defer t.Stop()
	for {
		n, err := s.Sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.log.Error("queue retention sweep failed", "err", err)
		case n > 0:
			s.log.Info("queue retention sweep", "removed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
