// Package queue is the agent's durable store-and-forward queue: records of
// (key string, payload []byte) kept in one bbolt file, handed out per key in order,
// acknowledged only after the commit that holds them is fsynced.
//
// A record moves ready -> leased -> done, or back to ready after a Nack (with
// exponential backoff and jitter), to failed when a person must look at it, and to
// dead when it was not done within the retry horizon. Records of one key are handed
// out one at a time in enqueue order; records of different keys go out concurrently.
// Every state move, with every index it touches, happens inside one bbolt write
// transaction, and concurrent callers share commits (group commit, see Store.Batch).
//
// The queue knows nothing about insurance; callers may keep their own buckets in the
// same file (Tx.Bolt, Store.View). docs/queue.md describes the file format and
// guarantees.
package queue

import "errors"

// Errors returned by the queue; they are wrapped with context, so test with errors.Is.
// The queue knows nothing of the domain: an API layer maps ErrNotFound, ErrWrongState
// and ErrInvalid to 404, 409 and 400 itself.
var (
	// ErrNotFound: no record with that id (it may have been removed by retention).
	ErrNotFound = errors.New("queue record not found")

	// ErrClosed: the store was closed.
	ErrClosed = errors.New("queue store closed")

	// ErrLocked: another process (normally the running agent) holds the store file.
	ErrLocked = errors.New("queue store is locked by another process (the agent is running; use its API or stop it)")

	// ErrCorrupt: the store file or a record in it cannot be read. The file is left
	// in place untouched; keep it as evidence and restore from a backup or compact
	// what is readable into a new file.
	ErrCorrupt = errors.New("queue store is corrupt")

	// ErrNotLeased: Ack or Nack of a record that is not leased.
	ErrNotLeased = errors.New("queue record is not leased")

	// ErrWrongState: a move the record's current state does not allow
	// (e.g. Retry of a done record).
	ErrWrongState = errors.New("queue record is in the wrong state for this")

	// ErrInvalid: bad arguments (empty or oversized key, and the like).
	ErrInvalid = errors.New("invalid queue argument")
)
