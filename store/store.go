package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

// File is the name of the store in the data folder.
const File = "settle-agent.db"

// KeyFile is the store key generated in the data folder for a new store when the
// configuration names none.
const KeyFile = "store.key"

// Options tune Open. A nil *Options means defaults.
type Options struct {
	// Key seals documents (32 bytes as base64 or hex); "" means the key generated in
	// the data folder for a new store, or none for an old store that has records.
	Key string
	// OldKeys still open what they sealed.
	OldKeys []string
	// Queue are the durable queue's options (horizon, backoff, lease time, clock).
	Queue queue.Options
	// Logger receives notable events; nil discards.
	Logger *slog.Logger
}

// Store is the durable store of one data folder.
type Store struct {
	q     *queue.Store
	codec *Codec
	log   *slog.Logger
	// released is how many leases of a previous run Open released.
	released int
}

var _ workflow.Store = (*Store)(nil)

// Open opens (or creates) the store in dir. Leases left in it belong to a process
// that died (the file lock admits one process), so they are released at once.
func Open(dir string, o *Options) (*Store, error) {
	if o == nil {
		o = &Options{}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("%w: %s: %w (create it, or set [store] dir to a writable folder)", ErrNoDir, dir, err)
	}
	key := o.Key
	if key == "" {
		var err error
		if key, err = generatedKey(dir, log); err != nil {
			return nil, err
		}
	}
	codec, err := NewCodec(key, o.OldKeys)
	if err != nil {
		return nil, err
	}
	qo := o.Queue
	if qo.Logger == nil {
		qo.Logger = log
	}
	q, err := queue.Open(filepath.Join(dir, File), &qo)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if m, moved, err := movedIn(q); err != nil || moved {
		q.Close()
		if err == nil {
			err = movedError(dir, m)
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	n, err := q.ReleaseLeases(context.Background())
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &Store{q: q, codec: codec, log: log, released: n}, nil
}

// generatedKey returns the key of a store that has no configured one: the key
// generated for it at its first start, or a new one for a new store. A store that
// already holds records without a key stays unsealed ("" and a warning at start):
// sealing it under a key nobody knows about would lock IT out of their own data.
func generatedKey(dir string, log *slog.Logger) (string, error) {
	path := filepath.Join(dir, KeyFile)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	if _, err := os.Stat(filepath.Join(dir, File)); err == nil {
		return "", nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate a store key: %w", err)
	}
	key := base64.StdEncoding.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	_, werr := f.WriteString(key + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	log.Warn("generated a key for the new store; back it up with the data: without it the bills cannot be read",
		"file", path, "setting", "store.key")
	return key, nil
}

// Queue is the durable queue inside the store (the admin API and tools list it).
func (s *Store) Queue() *queue.Store { return s.q }

// ReleasedLeases is how many jobs a previous run left leased when Open found them.
func (s *Store) ReleasedLeases() int { return s.released }

// Sealed reports whether documents are sealed with a key.
func (s *Store) Sealed() bool { return s.codec.Sealed() }

// Close closes the file.
func (s *Store) Close() error { return s.q.Close() }

// Stats are the queue's counters.
func (s *Store) Stats() (queue.Stats, error) { return s.q.Stats() }

// Ready gets a value whenever a job may have become due.
func (s *Store) Ready() <-chan struct{} { return s.q.Ready() }

// Hasten makes every job waiting out a backoff due now (queue.Store.Hasten).
func (s *Store) Hasten(ctx context.Context) (int, error) { return s.q.Hasten(ctx) }

// Name is a keyed hash of b (HMAC-SHA256 under a key derived from the store key).
func (s *Store) Name(b []byte) []byte { return s.codec.Name(b) }

// Encode compresses and seals a document for Put.
func (s *Store) Encode(kind, id string, data []byte) ([]byte, error) {
	return s.codec.Encode(kind, id, data)
}

// decode reverses Encode.
func (s *Store) decode(kind, id string, v []byte) ([]byte, error) {
	return s.codec.Decode(kind, id, v)
}

// View runs fn on a read-only snapshot.
func (s *Store) View(fn func(workflow.ReadTx) error) error {
	return s.q.View(func(tx *bolt.Tx) error { return fn(&readTx{s: s, tx: tx}) })
}

// Update runs fn in a group-committed write transaction (queue.Store.Batch).
func (s *Store) Update(ctx context.Context, fn func(workflow.Tx) error) error {
	return s.q.Batch(ctx, func(qtx *queue.Tx) error {
		return fn(&writeTx{readTx: readTx{s: s, tx: qtx.Bolt()}, q: qtx})
	})
}

// Lease hands out due jobs (queue.Store.Lease).
func (s *Store) Lease(ctx context.Context, n int) ([]workflow.Job, error) {
	recs, err := s.q.Lease(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]workflow.Job, len(recs))
	for i, r := range recs {
		out[i] = jobOf(r)
	}
	return out, nil
}

func jobOf(r *queue.Record) workflow.Job {
	return workflow.Job{ID: r.ID, Key: r.Key, Payload: r.Payload, State: workflow.JobState(r.State), Reason: r.Reason}
}

// Get reads one document outside a transaction of the caller's.
func (s *Store) Get(kind, id string) ([]byte, error) {
	var out []byte
	err := s.View(func(tx workflow.ReadTx) error {
		var err error
		out, err = tx.Get(kind, id)
		return err
	})
	return out, err
}

// msgidKey is the meta value holding the msgid reservation (unix seconds).
const msgidKey = "msgid_reserved"

// MsgidReservation is the high-water second of msgids handed out before.
func (s *Store) MsgidReservation() (time.Time, error) {
	var v string
	if err := s.View(func(tx workflow.ReadTx) error { v = tx.Meta(msgidKey); return nil }); err != nil {
		return time.Time{}, err
	}
	if v == "" {
		return time.Time{}, nil
	}
	var sec int64
	if _, err := fmt.Sscan(v, &sec); err != nil {
		return time.Time{}, fmt.Errorf("msgid reservation %q: %w", v, err)
	}
	return time.Unix(sec, 0), nil
}

// ReserveMsgids persists a new high-water mark before msgids beyond the old one
// exist, so that a restart never hands out a msgid twice.
func (s *Store) ReserveMsgids(until time.Time) error {
	return s.Update(context.Background(), func(tx workflow.Tx) error {
		return tx.SetMeta(msgidKey, fmt.Sprint(until.Unix()))
	})
}
