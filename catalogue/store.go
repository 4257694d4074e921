package catalogue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the catalogue file's name beside the agent's store.
const FileName = "catalogue.db"

// StoreOptions tune Open; the zero value (or nil) means defaults.
type StoreOptions struct {
	// LockTimeout is how long Open waits for the file lock before ErrLocked (1s).
	LockTimeout time.Duration
	// ReadOnly opens the file for reading only (it must exist).
	ReadOnly bool
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Store is the local catalogue: one bbolt file. It is safe for concurrent use; a
// sync writes in batches, so lookups never wait long.
type Store struct {
	db     *bolt.DB
	path   string
	now    func() time.Time
	closed atomic.Bool
}

// Bucket names.
var (
	bucketMeta = []byte("meta")
)

func itemsBucket(infno string) []byte { return []byte("items:" + infno) }
func rulesBucket(infno string) []byte { return []byte("rules:" + infno) }
func indexBucket(infno string) []byte { return []byte("index:" + infno) }
func stateKey(infno string) []byte    { return []byte("state:" + infno) }

// Open opens (or creates) the catalogue file at path.
func Open(path string, o *StoreOptions) (*Store, error) {
	if o == nil {
		o = &StoreOptions{}
	}
	timeout := o.LockTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open catalogue %s: %w", path, err)
		}
	} else if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open catalogue %s: %w: %w", path, ErrNotSynced, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: o.ReadOnly, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("open catalogue %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open catalogue %s: %w", path, err)
	}
	s := &Store{db: db, path: path, now: o.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if !o.ReadOnly {
		err = db.Update(func(tx *bolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucketMeta)
			return err
		})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open catalogue %s: %w", path, err)
		}
	}
	return s, nil
}

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.db.View(fn)
}

func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.db.Update(fn)
}

// State is what the store knows of one catalogue or query.
type State struct {
	Infno     string    `json:"infno"`
	Title     string    `json:"title"`
	Kind      string    `json:"kind"`          // "file" or "query"
	Ver       string    `json:"ver,omitempty"` // files: the highest version held
	Rows      int       `json:"rows"`          // rows held
	SyncedAt  time.Time `json:"synced_at"`     // last complete sync (zero: never)
	TriedAt   time.Time `json:"tried_at"`      // last attempt
	LastError string    `json:"last_error,omitempty"`

	// Queries: the updt_time (yyyy-MM-dd) the next sync asks from, and the page a
	// sync that failed part-way resumes at (0: none pending).
	Since    string `json:"since,omitempty"`
	NextPage int    `json:"next_page,omitempty"`
	MaxSeen  string `json:"max_seen,omitempty"`
}

func getState(tx *bolt.Tx, infno string) (State, error) {
	var st State
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return st, nil
	}
	v := b.Get(stateKey(infno))
	if v == nil {
		return st, nil
	}
	if err := json.Unmarshal(v, &st); err != nil {
		return st, fmt.Errorf("catalogue state %s: %w", infno, err)
	}
	return st, nil
}

func putState(tx *bolt.Tx, st State) error {
	b, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	v, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return b.Put(stateKey(st.Infno), v)
}

// State returns the state of one catalogue (kinds and queries alike).
func (s *Store) State(infno string) (State, error) {
	var st State
	err := s.view(func(tx *bolt.Tx) (err error) {
		st, err = getState(tx, infno)
		return err
	})
	st.Infno = infno
	return st, err
}

// States returns the state of every catalogue the sync keeps, downloads first.
func (s *Store) States() ([]State, error) {
	var out []State
	err := s.view(func(tx *bolt.Tx) error {
		for _, k := range Kinds {
			st, err := getState(tx, k.Infno)
			if err != nil {
				return err
			}
			st.Infno, st.Title, st.Kind = k.Infno, k.Title, "file"
			out = append(out, st)
		}
		for _, q := range Queries {
			st, err := getState(tx, q.Infno)
			if err != nil {
				return err
			}
			st.Infno, st.Title, st.Kind = q.Infno, q.Title, "query"
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// updateState changes one state in its own transaction.
func (s *Store) updateState(infno string, fn func(*State)) error {
	return s.write(infno, nil, func(st *State, _ []*bolt.Bucket) error {
		fn(st)
		return nil
	})
}

// write runs fn in one write transaction with infno's state and the named buckets
// (created when missing), then stores the state fn changed.
func (s *Store) write(infno string, buckets [][]byte, fn func(st *State, bs []*bolt.Bucket) error) error {
	return s.update(func(tx *bolt.Tx) error {
		bs := make([]*bolt.Bucket, len(buckets))
		for i, name := range buckets {
			b, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return err
			}
			bs[i] = b
		}
		st, err := getState(tx, infno)
		if err != nil {
			return err
		}
		st.Infno = infno
		if err := fn(&st, bs); err != nil {
			return err
		}
		return putState(tx, st)
	})
}

// putJSON stores v under key.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// putItems upserts rows of a downloaded catalogue by code; a row older than the one
// held (a lower version) is ignored. It counts new codes into the state.
func (s *Store) putItems(infno string, items []Item) error {
	return s.write(infno, [][]byte{itemsBucket(infno)}, func(st *State, bs []*bolt.Bucket) error {
		b := bs[0]
		for _, it := range items {
			key := []byte(it.Code)
			if old := b.Get(key); old != nil {
				var o Item
				if json.Unmarshal(old, &o) == nil && compareVer(it.Ver, o.Ver) < 0 {
					continue
				}
			} else {
				st.Rows++
			}
			if err := putJSON(b, key, it); err != nil {
				return err
			}
		}
		return nil
	})
}

// Item returns the downloaded row of a national code (med_list_codg) from whichever
// catalogue holds it.
func (s *Store) Item(code string) (Item, bool, error) {
	var it Item
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		for _, k := range Kinds {
			b := tx.Bucket(itemsBucket(k.Infno))
			if b == nil {
				continue
			}
			if v := b.Get([]byte(code)); v != nil {
				found = true
				return json.Unmarshal(v, &it)
			}
		}
		return nil
	})
	return it, found, err
}

// forEach calls fn for every row of a bucket, decoded, in key order.
func forEach[T any](s *Store, bucket []byte, fn func(T) error) error {
	return s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var x T
			if err := json.Unmarshal(v, &x); err != nil {
				return err
			}
			return fn(x)
		})
	})
}

// ForEachItem calls fn for every downloaded row of one catalogue, in code order.
func (s *Store) ForEachItem(infno string, fn func(Item) error) error {
	return forEach(s, itemsBucket(infno), fn)
}

// putRules upserts rows of a paged query by rid and keeps the code index in step;
// then it applies next to the query's state, in the same transaction.
func (s *Store) putRules(infno string, rules []Rule, next func(*State)) error {
	return s.write(infno, [][]byte{rulesBucket(infno), indexBucket(infno)}, func(st *State, bs []*bolt.Bucket) error {
		rb, ib := bs[0], bs[1]
		for _, r := range rules {
			key := []byte(r.Rid)
			if old := rb.Get(key); old != nil {
				var o Rule
				if json.Unmarshal(old, &o) == nil && o.Code != r.Code {
					if err := ib.Delete(indexKey(o.Code, o.Rid)); err != nil {
						return err
					}
				}
			} else {
				st.Rows++
			}
			if err := putJSON(rb, key, r); err != nil {
				return err
			}
			if err := ib.Put(indexKey(r.Code, r.Rid), nil); err != nil {
				return err
			}
		}
		if next != nil {
			next(st)
		}
		return nil
	})
}

func indexKey(code, rid string) []byte { return []byte(code + "\x00" + rid) }

// Rules returns every row of a paged query kept for code (hilist_code for 1312, 1318,
// 1319; med_list_codg for 1316; medins_list_codg for 1317).
func (s *Store) Rules(infno, code string) ([]Rule, error) {
	var out []Rule
	err := s.view(func(tx *bolt.Tx) error {
		ib, rb := tx.Bucket(indexBucket(infno)), tx.Bucket(rulesBucket(infno))
		if ib == nil || rb == nil {
			return nil
		}
		prefix := []byte(code + "\x00")
		c := ib.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			v := rb.Get(k[len(prefix):])
			if v == nil {
				continue
			}
			var r Rule
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("catalogue %s rid %s: %w", infno, k[len(prefix):], err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ForEachRule calls fn for every row of a paged query, in rid order.
func (s *Store) ForEachRule(infno string, fn func(Rule) error) error {
	return forEach(s, rulesBucket(infno), fn)
}

// Synced reports whether any downloaded catalogue holds rows.
func (s *Store) Synced() (bool, error) {
	sts, err := s.States()
	if err != nil {
		return false, err
	}
	for _, st := range sts {
		if st.Kind == "file" && st.Rows > 0 {
			return true, nil
		}
	}
	return false, nil
}
