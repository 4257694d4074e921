package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

// A store that a hospital outgrows is moved into a group of front-end machines
// (`settle-agent cluster import`, docs/cluster.md): Export hands everything it holds
// — documents with their index entries, named values, the queue's jobs and the last
// job id issued — to another store's Sink from one read transaction, and MarkMoved
// then marks the file so that no agent settles from it again (its queued bills now
// belong to the group; draining them here too would settle them twice).

// Named values of the move itself; Export does not hand them over.
const (
	// metaExportID names this store to the store it is moved into, so that an import
	// interrupted after the group has everything can be finished without a second copy.
	metaExportID = "export_id"
	// metaMoved is set once the store has been moved: Open refuses it from then on.
	metaMoved = "moved_to_group"
)

// Document is one document as Export hands it over: its content opened (not sealed,
// not compressed: the receiving store seals it under its own key) and its index
// entries.
type Document struct {
	Kind, ID string
	Data     []byte
	Index    []string
}

// Contents is what an export holds, told before the first item.
type Contents struct {
	// ExportID names this store (Store.ExportID).
	ExportID string
	// Counts are bills and stays by state and queue jobs by state (as Copy counts).
	Counts map[string]map[string]int
	// LastJobID is the last queue job id issued: jobs removed since (acknowledged and
	// swept) are still named by their bills, and read as done.
	LastJobID uint64
}

// Sink takes a store's contents over (etcdstore.Importer). Export calls Begin once,
// then Document for every document (by kind, then id), Meta for every named value,
// Job for every queue job in id order.
type Sink interface {
	Begin(c Contents) error
	Document(d Document) error
	Meta(key, value string) error
	Job(r *queue.Record) error
}

// Moved is the mark MarkMoved leaves in a store.
type Moved struct {
	At time.Time `json:"at"`
	To string    `json:"to"` // the group, as the importer names it
}

// OpenToMove opens the store in dir for a move into a group: like Open, but a folder
// without a store is an error (ErrNoStore) instead of a new empty store, and a store
// already moved is ErrMoved.
func OpenToMove(dir string, o *Options) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, File)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoStore, err)
	}
	return Open(dir, o)
}

// ExportID is this store's name for a move, made and kept at the first call.
func (s *Store) ExportID() (string, error) {
	var id string
	_ = s.View(func(tx workflow.ReadTx) error { id = tx.Meta(metaExportID); return nil })
	if id != "" {
		return id, nil
	}
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("name the store for its move: %w", err)
	}
	id = hex.EncodeToString(raw)
	err := s.Update(context.Background(), func(tx workflow.Tx) error {
		if had := tx.Meta(metaExportID); had != "" {
			id = had
			return nil
		}
		return tx.SetMeta(metaExportID, id)
	})
	if err != nil {
		return "", fmt.Errorf("name the store for its move: %w", err)
	}
	return id, nil
}

// Export hands everything the store holds to sink, from one read transaction: no
// other writer may use the store meanwhile (a move is made with the agent stopped,
// and bbolt's file lock admits one process).
func (s *Store) Export(sink Sink) error {
	id, err := s.ExportID()
	if err != nil {
		return err
	}
	return s.q.View(func(tx *bolt.Tx) error {
		if err := sink.Begin(Contents{ExportID: id, Counts: countsIn(tx), LastJobID: queue.LastIDIn(tx)}); err != nil {
			return err
		}
		for _, kind := range kindsIn(tx) {
			if err := s.exportKind(tx, kind, sink); err != nil {
				return err
			}
		}
		if m := tx.Bucket(bucketMeta); m != nil {
			err := m.ForEach(func(k, v []byte) error {
				if key := string(k); key != metaExportID && key != metaMoved {
					return sink.Meta(key, string(v))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return queue.ForEachIn(tx, sink.Job)
	})
}

// kindsIn lists the kinds of document the file holds, in order.
func kindsIn(tx *bolt.Tx) []string {
	var kinds []string
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		switch n := string(name); {
		case n == string(docBucket(workflow.KindBill)):
			kinds = append(kinds, workflow.KindBill)
		case strings.HasPrefix(n, "docs/"):
			kinds = append(kinds, strings.TrimPrefix(n, "docs/"))
		}
		return nil
	})
	sort.Strings(kinds)
	return kinds
}

func (s *Store) exportKind(tx *bolt.Tx, kind string, sink Sink) error {
	b := tx.Bucket(docBucket(kind))
	ents := tx.Bucket(entBucket(kind))
	return b.ForEach(func(k, v []byte) error {
		id := string(k)
		data, err := s.decode(kind, id, v)
		if err != nil {
			return fmt.Errorf("export %s %s: %w", kind, id, err)
		}
		d := Document{Kind: kind, ID: id, Data: data}
		if ents != nil {
			if e := ents.Get(k); len(e) > 0 {
				d.Index = strings.Split(string(e), "\x00")
			}
		}
		return sink.Document(d)
	})
}

// MarkMoved marks the store as moved into the group to: Open refuses it from then on.
func (s *Store) MarkMoved(to string, at time.Time) error {
	b, err := json.Marshal(Moved{At: at, To: to})
	if err != nil {
		return err
	}
	return s.Update(context.Background(), func(tx workflow.Tx) error { return tx.SetMeta(metaMoved, string(b)) })
}

// movedIn reads the mark MarkMoved left in the file (ok false: none).
func movedIn(q *queue.Store) (m Moved, ok bool, err error) {
	err = q.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(metaMoved))
		if v == nil {
			return nil
		}
		ok = true
		if err := json.Unmarshal(v, &m); err != nil {
			return fmt.Errorf("%w: the mark of its move into a group: %v", ErrDamaged, err)
		}
		return nil
	})
	return m, ok, err
}

// movedError is ErrMoved for the mark m.
func movedError(dir string, m Moved) error {
	return fmt.Errorf("%w: %s was moved into the group %s on %s; start the agents of the group instead",
		ErrMoved, dir, m.To, m.At.Format(time.RFC3339))
}
