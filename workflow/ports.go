package workflow

import (
	"context"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// The engine sees the outside world through the small interfaces of this file: the
// platform (a *platform.Client satisfies Platform), the durable store (store.Store
// satisfies Store), the item code mapping and an observer for metrics. Each is narrow
// enough that another implementation (a replicated store, a recording platform in a
// test) can take its place.

// Platform sends one message to the provincial platform.
type Platform interface {
	// Call sends infno with the envelope fields in m and decodes the answer's output
	// into out (when not nil). Its errors are classified by platform.Classify.
	Call(ctx context.Context, infno string, m platform.Meta, in, out any) (*platform.Response, error)
	// SignNo is the session of the last 9001 ("" when not signed in).
	SignNo() string
	// SetSignNo sets the session every later call carries.
	SetSignNo(signNo string)
}

// Mapper fills every item's national codes (目录对照) of a bill, or returns an error
// listing every unmapped or expired code (a *settle.ValidationError).
type Mapper interface {
	MapItems(b *settle.Bill) error
}

// Observer is told of what happens, for metrics; a nil Observer is allowed.
type Observer interface {
	// PlatformCall reports one platform call: its infno, outcome and duration.
	PlatformCall(infno string, o platform.Outcome, d time.Duration)
	// BillEvent reports a bill event (received, settled, queued, cancelled, failed,
	// dead) and how (the input it came through, "online" or "queue").
	BillEvent(event, via string)
}

// Store is the durable storage the engine keeps its documents in: bills (and, next,
// stays), remembered answers, cached persons, learned policy and the durable queue,
// every change of one step in one transaction. Documents are opaque bytes with named
// index entries; the store keeps each document's index entries in line with the last
// Put. Implementations: store.Store (bbolt); a replicated one may follow.
type Store interface {
	// Encode turns a document into its stored form (compressed, sealed when the store
	// has a key). Callers do it before Update so that the commit does not wait on it.
	Encode(kind, id string, data []byte) ([]byte, error)
	// View runs fn on a consistent read-only snapshot.
	View(fn func(ReadTx) error) error
	// Update runs fn in a write transaction that may be shared with concurrent callers
	// and returns once it is durable (fsynced). fn may run more than once and must be
	// idempotent; when it fails nothing it did is kept.
	Update(ctx context.Context, fn func(Tx) error) error
	// Lease hands out up to n queue jobs that are due, at most one per key.
	Lease(ctx context.Context, n int) ([]Job, error)
	// Ready gets a value whenever a job may have become due.
	Ready() <-chan struct{}
	// Hasten makes every job waiting out a backoff due now (the platform answers
	// again: the backlog drains at once).
	Hasten(ctx context.Context) (int, error)
	// Name is a keyed hash of b: a document id that does not give b away.
	Name(b []byte) []byte
}

// ReadTx reads documents and indexes.
type ReadTx interface {
	// Get returns a document's data (decoded), or an error matching
	// settle.ErrNotFound.
	Get(kind, id string) ([]byte, error)
	// IDs returns up to limit ids of kind with index entry index, after id `after`,
	// in id order.
	IDs(kind, index, after string, limit int) ([]string, error)
	// Count counts the documents of kind with index entry index.
	Count(kind, index string) int
	// Before returns up to limit (index entry, id) pairs of kind whose index entry
	// starts with prefix and sorts before prefix+cutoff, oldest first.
	Before(kind, prefix, cutoff string, limit int) ([]IndexEntry, error)
	// Latest returns up to limit ids of kind whose index entry starts with prefix,
	// the greatest entries first.
	Latest(kind, prefix string, limit int) ([]string, error)
	// ForEach calls fn for every document of kind.
	ForEach(kind string, fn func(id string, data []byte) error) error
	// Meta returns a small named value ("" when unset).
	Meta(key string) string
	// Job returns the queue job with that id.
	Job(id uint64) (Job, error)
}

// Tx is a write transaction: documents, small values and queue moves together.
type Tx interface {
	ReadTx
	// Put writes a document in its stored form (from Encode) with its index entries;
	// entries it had before and no longer has are removed.
	Put(kind, id string, stored []byte, index []string) error
	// Delete removes a document and its index entries.
	Delete(kind, id string) error
	// SetMeta sets a small named value.
	SetMeta(key, value string) error
	// Enqueue adds a job for key (jobs of one key run one at a time, in order).
	Enqueue(key string, payload []byte) (uint64, error)
	// Ack ends a leased job.
	Ack(id uint64) error
	// Nack returns a leased job for a later try; the job comes back dead past the
	// retry horizon.
	Nack(id uint64, cause string) (Job, error)
	// Postpone returns a leased job for a later try whatever its age (the caller does
	// not trust its clock to apply the retry horizon).
	Postpone(id uint64, cause string) error
	// Fail moves a job to failed: a person must look.
	Fail(id uint64, reason string) error
	// Retry puts a failed or dead job back in line now.
	Retry(id uint64) error
	// Dead gives up on a job (an administrator).
	Dead(id uint64, reason string) error
	// Withdraw ends a job that waits (ready, failed or dead) as done without running
	// it: its work is no longer wanted. A leased or done job is ErrJobMoved.
	Withdraw(id uint64, reason string) error
}

// Locker serialises the work on one bill (or stay) — a window's request, the sync
// worker — across everything that shares the store: one process on its own (the
// default, in memory), or the nodes of a group (etcdstore.NewLocker).
type Locker interface {
	// Lock holds key for this process/node until release is called; the returned ctx
	// carries what store writes under the lock must honour (for etcd: the lock key's
	// fence), so a node that lost its lease cannot write.
	Lock(ctx context.Context, key string) (context.Context, func(), error)
}

// IndexEntry names one document by one of its index entries.
type IndexEntry struct {
	Index string
	ID    string
}

// JobState is where a queue job is.
type JobState string

// Job states (those of package queue).
const (
	JobReady  JobState = "ready"
	JobLeased JobState = "leased"
	JobFailed JobState = "failed"
	JobDead   JobState = "dead"
	JobDone   JobState = "done"
)

// Job is one queue record as the engine sees it.
type Job struct {
	ID      uint64
	Key     string
	Payload []byte
	State   JobState
	Reason  string
}
