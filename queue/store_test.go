package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	bolt "go.etcd.io/bbolt"
)

// testClock is an injected clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// MustOpen opens a store in a fresh temporary folder (or at path when given) and
// closes it at the end of the test.
func MustOpen(tb testing.TB, path string, o *Options) *Store {
	tb.Helper()
	if path == "" {
		path = filepath.Join(tb.TempDir(), "queue.db")
	}
	s, err := Open(path, o)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func mustEnqueue(tb testing.TB, s *Store, key, payload string) uint64 {
	tb.Helper()
	id, err := s.Enqueue(context.Background(), key, []byte(payload))
	if err != nil {
		tb.Fatalf("Enqueue(%q): %v", key, err)
	}
	return id
}

func mustLease(tb testing.TB, s *Store, n int) []*Record {
	tb.Helper()
	recs, err := s.Lease(context.Background(), n)
	if err != nil {
		tb.Fatalf("Lease(%d): %v", n, err)
	}
	return recs
}

func ids(recs []*Record) []uint64 {
	var out []uint64
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

func mustStats(tb testing.TB, s *Store) Stats {
	tb.Helper()
	st, err := s.Stats()
	if err != nil {
		tb.Fatalf("Stats: %v", err)
	}
	return st
}

func TestStore_Lifecycle(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := MustOpen(t, "", &Options{Now: clk.Now, LeaseTime: time.Minute, MinBackoff: time.Second, MaxBackoff: 8 * time.Second, Horizon: time.Hour, Retention: time.Hour})

	a1 := mustEnqueue(t, s, "visit-A", `{"n":1}`)
	a2 := mustEnqueue(t, s, "visit-A", `{"n":2}`)
	b1 := mustEnqueue(t, s, "visit-B", `{"n":3}`)

	t.Run("OneHeadPerKey", func(t *testing.T) {
		got := ids(mustLease(t, s, 10))
		if fmt.Sprint(got) != fmt.Sprint([]uint64{a1, b1}) {
			t.Fatalf("Lease = %v; want %v", got, []uint64{a1, b1})
		}
		if got := mustLease(t, s, 10); len(got) != 0 {
			t.Fatalf("second Lease = %v; want none", ids(got))
		}
	})
	t.Run("AckUncoversNext", func(t *testing.T) {
		if err := s.Ack(ctx, a1); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		got := ids(mustLease(t, s, 10))
		if fmt.Sprint(got) != fmt.Sprint([]uint64{a2}) {
			t.Fatalf("Lease = %v; want [%d]", got, a2)
		}
		if err := s.Ack(ctx, a1); !errors.Is(err, ErrNotLeased) {
			t.Fatalf("second Ack = %v; want ErrNotLeased", err)
		}
	})
	t.Run("NackBacksOff", func(t *testing.T) {
		if err := s.Nack(ctx, b1, "platform timeout"); err != nil {
			t.Fatalf("Nack: %v", err)
		}
		r, err := s.Get(b1)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != StateReady || len(r.Attempts) != 1 || r.Attempts[0].Cause != "platform timeout" {
			t.Fatalf("after Nack: state %s attempts %v; want ready with 1 attempt", r.State, r.Attempts)
		}
		if d := r.NextAt.Sub(clk.Now()); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("backoff = %v; want within [0.5s, 1s]", d)
		}
		if got := mustLease(t, s, 10); len(got) != 0 {
			t.Fatalf("Lease during backoff = %v; want none", ids(got))
		}
		clk.Add(time.Second)
		if got := ids(mustLease(t, s, 10)); fmt.Sprint(got) != fmt.Sprint([]uint64{b1}) {
			t.Fatalf("Lease after backoff = %v; want [%d]", got, b1)
		}
	})
	t.Run("LeaseExpires", func(t *testing.T) {
		clk.Add(time.Minute + time.Second)
		got := mustLease(t, s, 10)
		if fmt.Sprint(ids(got)) != fmt.Sprint([]uint64{a2, b1}) {
			t.Fatalf("Lease after LeaseTime = %v; want [%d %d]", ids(got), a2, b1)
		}
		if last := got[0].Attempts[len(got[0].Attempts)-1]; last.Cause != "lease expired" {
			t.Fatalf("attempt = %q; want lease expired", last.Cause)
		}
	})
	t.Run("FailAndRetry", func(t *testing.T) {
		if err := s.Fail(ctx, a2, "business error 1101: person not insured"); err != nil {
			t.Fatal(err)
		}
		a3 := mustEnqueue(t, s, "visit-A", `{"n":4}`)
		if got := mustLease(t, s, 10); len(got) != 0 {
			t.Fatalf("Lease with failed head = %v; want none (the key waits)", ids(got))
		}
		if err := s.Retry(ctx, a3); !errors.Is(err, ErrWrongState) {
			t.Fatalf("Retry(ready) = %v; want ErrWrongState", err)
		}
		if err := s.Retry(ctx, a2); err != nil {
			t.Fatal(err)
		}
		if got := ids(mustLease(t, s, 10)); fmt.Sprint(got) != fmt.Sprint([]uint64{a2}) {
			t.Fatalf("Lease after Retry = %v; want [%d]", got, a2)
		}
	})
	t.Run("Stats", func(t *testing.T) {
		st := mustStats(t, s)
		if st.Ready != 1 || st.Leased != 2 || st.Done != 1 || st.Failed != 0 || st.Dead != 0 {
			t.Fatalf("Stats = %+v; want ready 1 leased 2 done 1", st)
		}
		if !st.OldestReady.Equal(clk.Now()) {
			t.Fatalf("OldestReady = %v; want %v", st.OldestReady, clk.Now())
		}
	})
	t.Run("HorizonKills", func(t *testing.T) {
		clk.Add(2 * time.Hour)
		if err := s.Nack(ctx, b1, "still down"); err != nil {
			t.Fatal(err)
		}
		r, _ := s.Get(b1)
		if r.State != StateDead {
			t.Fatalf("state after horizon = %s; want dead", r.State)
		}
	})
	t.Run("Retention", func(t *testing.T) {
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("Sweep = %d, %v; want 1 (a1 done 2h ago)", n, err)
		}
		if _, err := s.Get(a1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(swept) = %v; want ErrNotFound", err)
		}
		if st := mustStats(t, s); st.Done != 0 {
			t.Fatalf("Done after sweep = %d; want 0", st.Done)
		}
	})
}

func TestStore_CountsMatchIndexes(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := MustOpen(t, "", &Options{Now: clk.Now, LeaseTime: time.Second})
	for i := range 50 {
		mustEnqueue(t, s, fmt.Sprint("k", i%7), "x")
	}
	for round := 0; round < 20; round++ {
		for i, r := range mustLease(t, s, 5) {
			switch i % 4 {
			case 0:
				s.Ack(ctx, r.ID)
			case 1:
				s.Nack(ctx, r.ID, "again")
			case 2:
				s.Fail(ctx, r.ID, "person")
			}
		}
		clk.Add(2 * time.Second)
	}
	st := mustStats(t, s)
	for _, state := range States {
		recs, err := s.List(Filter{State: state})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != st.Count(state) {
			t.Errorf("List(%s) = %d records; Stats says %d", state, len(recs), st.Count(state))
		}
		for _, r := range recs {
			if r.State != state {
				t.Errorf("List(%s) returned record %d in state %s", state, r.ID, r.State)
			}
		}
	}
	all, _ := s.List(Filter{})
	if len(all) != 50 {
		t.Fatalf("List() = %d; want 50", len(all))
	}
	page, _ := s.List(Filter{After: all[9].ID, Limit: 5})
	if len(page) != 5 || page[0].ID != all[10].ID {
		t.Fatalf("List(After, Limit) = %v; want 5 from %d", ids(page), all[10].ID)
	}
}

func TestStore_Batch_FailingCallerIsolated(t *testing.T) {
	s := MustOpen(t, "", nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 40)
	boom := errors.New("boom")
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Batch(ctx, func(tx *Tx) error {
				if _, err := tx.Enqueue(fmt.Sprint("k", i), nil); err != nil {
					return err
				}
				if i%3 == 0 {
					return boom
				}
				return nil
			})
		}()
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		if i%3 == 0 {
			if !errors.Is(err, boom) {
				t.Errorf("caller %d: %v; want boom", i, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
		want++
	}
	if st := mustStats(t, s); st.Ready != want {
		t.Fatalf("Ready = %d; want %d (failed callers' enqueues rolled back)", st.Ready, want)
	}
	if err := s.Batch(ctx, func(tx *Tx) error { panic("caller bug") }); err == nil {
		t.Fatal("Batch(panicking fn) = nil; want error")
	}
}

func TestStore_Batch_CallersOwnBuckets(t *testing.T) {
	s := MustOpen(t, "", nil)
	err := s.Batch(context.Background(), func(tx *Tx) error {
		b, err := tx.Bolt().CreateBucketIfNotExists([]byte("agent.msgids"))
		if err != nil {
			return err
		}
		return b.Put([]byte("bill-1"), []byte("H330101202603010800001"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	s.View(func(tx *bolt.Tx) error {
		got = append(got, tx.Bucket([]byte("agent.msgids")).Get([]byte("bill-1"))...)
		return nil
	})
	if string(got) != "H330101202603010800001" {
		t.Fatalf("own bucket = %q", got)
	}
}

func TestStore_Enqueue_ErrInvalid(t *testing.T) {
	s := MustOpen(t, "", nil)
	for _, key := range []string{"", string(make([]byte, MaxKeyLen+1))} {
		if _, err := s.Enqueue(context.Background(), key, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("Enqueue(key of %d bytes) = %v; want ErrInvalid", len(key), err)
		}
	}
}

func TestStore_Enqueue_ErrClosed(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(context.Background(), "k", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close = %v; want ErrClosed", err)
	}
	if _, err := s.Get(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v; want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v; want ErrClosed", err)
	}
}

func TestOpen_ErrLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	MustOpen(t, path, nil)
	_, err := Open(path, &Options{OpenTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v; want ErrLocked", err)
	}
}

func TestOpen_ErrCorrupt(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.db")
	s := MustOpen(t, good, nil)
	mustEnqueue(t, s, "k", "payload")
	s.Close()
	orig, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket(bucketMeta)
		return b.Put([]byte("magic"), []byte("someone else"))
	})
	db.Close()
	otherBytes, _ := os.ReadFile(other)

	cases := map[string][]byte{
		"NotBolt":           bytes.Repeat([]byte("settle-agent "), 1000),
		"BadMagicOlderMeta": flip(orig, olderMeta(t, orig)+16), // magic of the meta page bbolt would not use
		"BothMetaPages":     flip(flip(orig, 16), 4096+16),
		"Checksum":          flip(flip(orig, 40), 4096+40),
		"ForeignMagic":      otherBytes,
		"Truncated":         orig[:len(orig)/2],
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q.db")
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, nil)
			if name == "BadMagicOlderMeta" {
				// bbolt falls back to the other, newer meta page: still readable, with the
				// record. (Breaking the newer one instead would fall back to a state before
				// the enqueue: which page is newer depends on the count of commits.)
				if err != nil {
					t.Fatalf("Open with one bad meta page = %v; want it to open", err)
				}
				if _, err := s.Get(1); err != nil {
					t.Fatalf("Get = %v", err)
				}
				s.Close()
				return
			}
			if !errors.Is(err, ErrCorrupt) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open = %v; want ErrCorrupt", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, content) {
				t.Fatal("corrupt file was modified; want it left untouched")
			}
		})
	}
}

// olderMeta returns the file offset of the bbolt meta page (0 or 4096) holding the
// lower txid: the page header is 16 bytes, the meta's txid sits 48 bytes into it.
func olderMeta(t *testing.T, db []byte) int {
	t.Helper()
	if len(db) < 2*4096 {
		t.Fatalf("store file of %d bytes has no two meta pages", len(db))
	}
	tx0 := binary.LittleEndian.Uint64(db[16+48:])
	tx1 := binary.LittleEndian.Uint64(db[4096+16+48:])
	if tx0 < tx1 {
		return 0
	}
	return 4096
}

func flip(b []byte, off int) []byte {
	c := bytes.Clone(b)
	c[off] ^= 0xff
	return c
}

func TestOpen_DoesNotScan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := MustOpen(t, path, nil)
	const n = 5000
	err := s.Batch(context.Background(), func(tx *Tx) error {
		for i := range n {
			if _, err := tx.Enqueue(fmt.Sprint("visit-", i), []byte("{}")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := decodeCount.Load()
	s = MustOpen(t, path, nil)
	st := mustStats(t, s)
	got := mustLease(t, s, 3)
	if decoded := decodeCount.Load() - before; decoded > 10 {
		t.Fatalf("Open+Stats+Lease(3) decoded %d records; want a handful, not a scan of %d", decoded, n)
	}
	if st.Ready != n || len(got) != 3 {
		t.Fatalf("Ready = %d, leased %d; want %d, 3", st.Ready, len(got), n)
	}
}

func TestStore_Ready_Signals(t *testing.T) {
	s := MustOpen(t, "", nil)
	select { // the one after Open
	case <-s.Ready():
	default:
		t.Fatal("no Ready signal after Open")
	}
	mustEnqueue(t, s, "k", "x")
	select {
	case <-s.Ready():
	default:
		t.Fatal("no Ready signal after Enqueue")
	}
}

func TestStore_Compact(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := MustOpen(t, "", &Options{Now: clk.Now, Retention: time.Hour})
	big := bytes.Repeat([]byte("x"), 2000)
	for range 10 {
		err := s.Batch(ctx, func(tx *Tx) error {
			for i := range 200 {
				if _, err := tx.Enqueue(fmt.Sprint("k", i%100), big); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	keep := mustEnqueue(t, s, "keep", "kept")
	for {
		recs := mustLease(t, s, 500)
		if len(recs) == 0 {
			break
		}
		s.Batch(ctx, func(tx *Tx) error {
			for _, r := range recs {
				if r.Key != "keep" {
					if err := tx.Ack(r.ID); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	clk.Add(2 * time.Hour)
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "compact.db")
	if err := s.Compact(dst); err != nil {
		t.Fatal(err)
	}
	before, _ := s.FileBytes()
	fi, _ := os.Stat(dst)
	if fi.Size() >= before/2 {
		t.Fatalf("compacted %d bytes from %d; want less than half", fi.Size(), before)
	}
	c := MustOpen(t, dst, nil)
	if r, err := c.Get(keep); err != nil || string(r.Payload) != "kept" {
		t.Fatalf("Get(keep) in compacted file = %v, %v", r, err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestErrors_NoDomain: the queue's errors are its own; they do not claim to be the
// domain's (the API layer maps them).
func TestErrors_NoDomain(t *testing.T) {
	for _, c := range []struct{ err, domain error }{
		{ErrNotFound, settle.ErrNotFound}, {ErrWrongState, settle.ErrConflict}, {ErrInvalid, settle.ErrInvalid},
	} {
		if errors.Is(fmt.Errorf("wrapped: %w", c.err), c.domain) {
			t.Errorf("%v matches %v; the queue must not import the domain's errors", c.err, c.domain)
		}
	}
}
