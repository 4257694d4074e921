package queue

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// maxBatch bounds how many callers share one commit.
const maxBatch = 1024

type batchReq struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan error
}

// errCallerFailed aborts a shared transaction when one caller's fn fails; the
// others run again without it.
var errCallerFailed = errors.New("a caller's function failed")

// Batch runs fn in a write transaction shared with other concurrent callers (group
// commit) and returns only after that transaction is committed and fsynced. There is
// no added delay: whatever arrives while one commit runs goes into the next.
//
// fn may run more than once (when another caller in the same transaction fails, the
// transaction is rolled back and run again without it), so it must be idempotent
// and reset anything it collects. If fn returns an error, only this caller gets it
// and nothing fn did is kept. fn must not call the Store's methods that write
// (deadlock); use the Tx.
//
// ctx is checked until fn starts; once it runs, Batch waits for the commit so the
// caller always learns the outcome.
func (s *Store) Batch(ctx context.Context, fn func(tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &batchReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- r:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	return <-r.done
}

// commitLoop is the one goroutine that writes. It takes the first waiting request,
// adds every other one already waiting, and commits them together.
func (s *Store) commitLoop() {
	defer close(s.done)
	batch := make([]*batchReq, 0, maxBatch)
	for {
		r, ok := <-s.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		closing := false
	drain:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					closing = true
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commit(batch)
		clear(batch)
		if closing {
			return
		}
	}
}

func (s *Store) commit(batch []*batchReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	for len(live) > 0 {
		failed, ferr := -1, error(nil)
		var tx *Tx
		err := s.update(func(btx *bolt.Tx) error {
			tx = &Tx{s: s, tx: btx, now: s.opt.Now()}
			for i, r := range live {
				if err := call(r.fn, tx); err != nil {
					failed, ferr = i, err
					return errCallerFailed
				}
			}
			if err := tx.finish(); err != nil {
				return err
			}
			if s.opt.BeforeCommit != nil {
				return s.opt.BeforeCommit()
			}
			return nil
		})
		if err == nil && s.opt.AfterCommit != nil {
			s.opt.AfterCommit()
		}
		if failed >= 0 {
			live[failed].done <- ferr
			live = append(live[:failed], live[failed+1:]...)
			continue
		}
		if err != nil {
			err = fmt.Errorf("commit queue: %w", err)
			s.log.Error("queue commit failed", "records", len(live), "err", err)
		}
		if err == nil && tx.notify {
			s.signal() // before the callers return, so they can count on it
		}
		for _, r := range live {
			r.done <- err
		}
		return
	}
}

// update is db.Update that turns a panic (bbolt panics on some corrupted pages)
// into ErrCorrupt.
func (s *Store) update(fn func(*bolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	return s.db.Update(fn)
}

// call runs a caller's fn, turning its panic into an error for that caller alone.
func call(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("queue batch function panicked: %v", p)
		}
	}()
	return fn(tx)
}
