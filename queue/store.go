package queue

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bucket names. Callers may keep their own buckets in the same file under any
// other name.
var (
	bucketMeta    = []byte("queue.meta")    // magic, version, per-state counters
	bucketRecords = []byte("queue.records") // id(8) -> record
	bucketKeys    = []byte("queue.keys")    // len(2) key id(8) -> nil, not-done records only
	bucketDue     = []byte("queue.due")     // time(8) id(8) -> nil, leasable heads of keys
	bucketStates  = []byte("queue.states")  // state(1) id(8) -> nil, every record
	bucketDone    = []byte("queue.done")    // doneAt(8) id(8) -> nil, done records
)

const (
	fileMagic   = "settle-agent/queue"
	fileVersion = 1
)

// decodeCount counts decoded records; tests use it to prove Open does not scan.
var decodeCount atomic.Int64

// Store is the durable queue: one bbolt file, safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opt  Options
	log  *slog.Logger

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan *batchReq
	done   chan struct{} // closed when the committer has stopped
	ready  chan struct{}

	stopSweep context.CancelFunc
	sweepDone chan struct{}
}

// Open opens or creates the store file at path. It waits up to OpenTimeout for the
// file lock, then returns ErrLocked. A file that is not a readable queue store gives
// ErrCorrupt and is left untouched. Open reads a fixed number of pages: it never
// scans the records.
func Open(path string, o *Options) (*Store, error) {
	opt := o.withDefaults()
	existed := false
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		existed = true
	}
	if existed {
		if err := preflight(path); err != nil {
			if errors.Is(err, ErrCorrupt) {
				return nil, fmt.Errorf("open queue %s: %w; the file was left as it is: keep it for inspection, restore a backup or start with a new file", path, err)
			}
			return nil, fmt.Errorf("open queue %s: %w", path, err)
		}
	}
	if existed {
		// Checked read-only first: opened for writing, bbolt grows the file to its
		// first mapping (on Windows) before reading a byte of it, and a file refused
		// must be left exactly as it was found.
		if err := checkReadOnly(path, opt.OpenTimeout); err != nil {
			return nil, err
		}
	}
	db, err := openBolt(path, opt.OpenTimeout, false)
	if err != nil {
		return nil, openError(path, existed, err)
	}
	if err := initFile(db, path); err != nil {
		db.Close()
		return nil, fmt.Errorf("open queue %s: %w", path, err)
	}
	s := &Store{
		db: db, path: path, opt: opt, log: opt.Logger,
		reqs:      make(chan *batchReq, 1024),
		done:      make(chan struct{}),
		ready:     make(chan struct{}, 1),
		sweepDone: make(chan struct{}),
	}
	go s.commitLoop()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopSweep = cancel
	if opt.NoSweep {
		close(s.sweepDone)
	} else {
		go s.sweepLoop(ctx)
	}
	s.ready <- struct{}{} // whatever was left ready before the restart
	return s, nil
}

// isOSError tells an operating-system failure (permission, read-only filesystem,
// I/O) from bbolt finding the content invalid.
func isOSError(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno)
}

// openError says why bbolt did not open path.
func openError(path string, existed bool, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open queue %s: %w", path, ErrLocked)
	case existed && !isOSError(err):
		return fmt.Errorf("open queue %s: %w: %v; the file was left as it is: keep it for inspection, restore a backup or start with a new file", path, ErrCorrupt, err)
	}
	return fmt.Errorf("open queue %s: %w", path, err)
}

// checkReadOnly opens an existing store file read-only and checks it as initFile
// does, changing nothing.
func checkReadOnly(path string, timeout time.Duration) error {
	db, err := openBolt(path, timeout, true)
	if err != nil {
		return openError(path, true, err)
	}
	defer db.Close()
	if _, err := checkFile(db, path); err != nil {
		return fmt.Errorf("open queue %s: %w", path, err)
	}
	return nil
}

func openBolt(path string, timeout time.Duration, readOnly bool) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bbolt: %v", p)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      timeout,
		FreelistType: bolt.FreelistMapType,
		ReadOnly:     readOnly,
	})
}

// initFile checks the file (checkFile), creating the buckets in a new file. An
// existing file is only read.
func initFile(db *bolt.DB, path string) error {
	fresh, err := checkFile(db, path)
	if err != nil || !fresh {
		return err
	}
	return createBuckets(db)
}

// checkFile checks the file is not shorter than its pages reach, and the meta bucket
// (magic and version); fresh is true when the file holds no buckets yet. It only
// reads.
func checkFile(db *bolt.DB, path string) (fresh bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	err = db.View(func(tx *bolt.Tx) error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if fi.Size() < tx.Size() {
			return fmt.Errorf("%w: the file is %d bytes but its pages reach %d (truncated)", ErrCorrupt, fi.Size(), tx.Size())
		}
		m := tx.Bucket(bucketMeta)
		if m == nil {
			if tx.Bucket(bucketRecords) != nil {
				return fmt.Errorf("%w: records without the meta bucket", ErrCorrupt)
			}
			fresh = true
			return nil
		}
		if got := string(m.Get([]byte("magic"))); got != fileMagic {
			return fmt.Errorf("%w: magic %q, want %q", ErrCorrupt, got, fileMagic)
		}
		if v := getUint(m, []byte("version")); v != fileVersion {
			return fmt.Errorf("%w: file format version %d, this build reads %d", ErrCorrupt, v, fileVersion)
		}
		for _, b := range [][]byte{bucketRecords, bucketKeys, bucketDue, bucketStates, bucketDone} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: bucket %s missing", ErrCorrupt, b)
			}
		}
		return nil
	})
	return fresh, err
}

// createBuckets makes the buckets and the meta of a new file.
func createBuckets(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketRecords, bucketKeys, bucketDue, bucketStates, bucketDone} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		if err := m.Put([]byte("magic"), []byte(fileMagic)); err != nil {
			return err
		}
		return putUint(m, []byte("version"), fileVersion)
	})
}

// Path is the store file.
func (s *Store) Path() string { return s.path }

// Close stops the retention sweep, commits what is already queued for Batch, and
// closes the file. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.stopSweep()
	<-s.sweepDone
	s.mu.Lock()
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	return s.db.Close()
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// Ready gets a value (never blocking the sender, capacity 1) whenever something may
// have become leasable: an enqueue, a Nack, a Retry, an Ack that uncovers the next
// record of a key, and once after Open. Consumers also poll on a timer, for backoff
// and lease expiry.
func (s *Store) Ready() <-chan struct{} { return s.ready }

func (s *Store) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// View runs fn in a read-only transaction, for callers' own buckets.
func (s *Store) View(fn func(tx *bolt.Tx) error) (err error) {
	if s.isClosed() {
		return ErrClosed
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, p)
		}
	}()
	err = s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Get returns the record with that id, or ErrNotFound.
func (s *Store) Get(id uint64) (*Record, error) {
	var rec *Record
	err := s.View(func(tx *bolt.Tx) error {
		r, err := load(tx, id)
		if err != nil {
			return err
		}
		rec = r.record()
		return nil
	})
	return rec, err
}

func load(tx *bolt.Tx, id uint64) (*stored, error) {
	v := tx.Bucket(bucketRecords).Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("record %d: %w", id, ErrNotFound)
	}
	r, err := decodeRecord(id, v)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w: %v", id, ErrCorrupt, err)
	}
	return r, nil
}

// Compact copies the live content into a new file at dst (which must not exist),
// leaving out the free pages. The store stays open and usable; to switch over, stop
// the agent and move dst over the store file. Worth it when Stats.FileBytes is much
// larger than what the records need (after a long outage was drained).
func (s *Store) Compact(dst string) error {
	if s.isClosed() {
		return ErrClosed
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("compact queue into %s: file exists", dst)
	}
	out, err := bolt.Open(dst, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, Timeout: s.opt.OpenTimeout})
	if err != nil {
		return fmt.Errorf("compact queue into %s: %w", dst, err)
	}
	if err := bolt.Compact(out, s.db, 64<<20); err != nil {
		out.Close()
		return fmt.Errorf("compact queue into %s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("compact queue into %s: %w", dst, err)
	}
	return nil
}

// errChecked ends Check's write transaction without a commit.
var errChecked = errors.New("checked")

// Check reads every page of the file and reports inconsistencies as ErrCorrupt. It
// reads the whole file inside a write transaction (bbolt's check is only exact when
// no writer runs beside it), so writers wait meanwhile: for doctor and tests, not
// for every start.
func (s *Store) Check() error {
	if s.isClosed() {
		return ErrClosed
	}
	var errs []error
	err := s.update(func(tx *bolt.Tx) error {
		for err := range tx.Check() { // drain: Check's goroutine stops at the end
			if len(errs) < 10 {
				errs = append(errs, err)
			}
		}
		return errChecked
	})
	if err != nil && !errors.Is(err, errChecked) {
		return fmt.Errorf("check queue %s: %w", s.path, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("check queue %s: %w: %w", s.path, ErrCorrupt, errors.Join(errs...))
	}
	return nil
}
