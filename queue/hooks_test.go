package queue

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// errDiskFull stands in for ENOSPC at the commit.
var errDiskFull = errors.New("no space left on device")

// TestStore_BeforeCommit_FailedCommitKeepsNothing covers a failed group commit on
// every machine (the tmpfs test needs root): the callers get the error, nothing of
// the transaction is kept, and the store goes on once the disk has room again.
func TestStore_BeforeCommit_FailedCommitKeepsNothing(t *testing.T) {
	full := false
	path := filepath.Join(t.TempDir(), "q.db")
	o := &Options{BeforeCommit: func() error {
		if full {
			return errDiskFull
		}
		return nil
	}}
	s := MustOpen(t, path, o)
	kept := mustEnqueue(t, s, "k", "kept")
	full = true
	if _, err := s.Enqueue(context.Background(), "k", []byte("lost")); !errors.Is(err, errDiskFull) {
		t.Fatalf("Enqueue on a full disk: got %v; want the commit's error", err)
	}
	if err := s.Ack(context.Background(), kept); err == nil {
		t.Fatal("Ack on a full disk: got nil; want the commit's error")
	}
	full = false
	if st := mustStats(t, s); st.Ready != 1 || st.Done != 0 {
		t.Errorf("after the failed commits: ready %d, done %d; want 1 and 0", st.Ready, st.Done)
	}
	all, err := s.List(Filter{})
	if err != nil || len(all) != 1 || all[0].ID != kept {
		t.Fatalf("records after a failed enqueue: %v, %v; want only %d", all, err, kept)
	}
	s.Close()
	s = MustOpen(t, path, nil)
	if st := mustStats(t, s); st.Ready != 1 {
		t.Errorf("after reopen: ready %d; want 1", st.Ready)
	}
	mustEnqueue(t, s, "k", "later")
}

// TestStore_Nack_BackoffCap checks the retry delay on the injected clock: it doubles
// from MinBackoff and never passes MaxBackoff, with jitter at its largest.
func TestStore_Nack_BackoffCap(t *testing.T) {
	clock := newTestClock()
	o := &Options{Now: clock.Now, MinBackoff: time.Second, MaxBackoff: 30 * time.Second,
		Jitter: func(n time.Duration) time.Duration { return n - 1 }}
	s := MustOpen(t, filepath.Join(t.TempDir(), "q.db"), o)
	id := mustEnqueue(t, s, "k", "p")
	var prev time.Duration
	for i := 1; i <= 20; i++ {
		recs := mustLease(t, s, 1)
		if len(recs) != 1 || recs[0].ID != id {
			t.Fatalf("attempt %d: leased %v; want record %d", i, recs, id)
		}
		if err := s.Nack(context.Background(), id, "offline"); err != nil {
			t.Fatal(err)
		}
		r, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		d := r.NextAt.Sub(clock.Now())
		if d > 30*time.Second {
			t.Fatalf("attempt %d: retry in %v; want at most MaxBackoff 30s", i, d)
		}
		if i > 1 && d < prev && prev < 29*time.Second {
			t.Errorf("attempt %d: retry in %v after %v; want it to grow until the cap", i, d, prev)
		}
		prev = d
		clock.Add(d)
	}
	if prev < 29*time.Second {
		t.Errorf("after 20 attempts the retry delay is %v; want it at the 30s cap", prev)
	}
}

// TestStore_Lease_ClockPutBack: a record scheduled by a clock that ran weeks ahead
// is due as soon as the clock is put right, not weeks later.
func TestStore_Lease_ClockPutBack(t *testing.T) {
	clock := newTestClock()
	s := MustOpen(t, filepath.Join(t.TempDir(), "q.db"), &Options{Now: clock.Now, MaxBackoff: 30 * time.Second})
	clock.Add(40 * 24 * time.Hour)
	id := mustEnqueue(t, s, "k", "p")
	mustLease(t, s, 1)
	if err := s.Nack(context.Background(), id, "offline"); err != nil {
		t.Fatal(err)
	}
	clock.Add(-40 * 24 * time.Hour)
	recs := mustLease(t, s, 1)
	if len(recs) != 1 || recs[0].ID != id {
		t.Fatalf("after the clock was put back: leased %v; want record %d at once", recs, id)
	}
}

// TestStore_Hasten: records waiting out a backoff are due at once after Hasten.
func TestStore_Hasten(t *testing.T) {
	clock := newTestClock()
	s := MustOpen(t, filepath.Join(t.TempDir(), "q.db"), &Options{Now: clock.Now, MinBackoff: 20 * time.Second, MaxBackoff: 30 * time.Second})
	a := mustEnqueue(t, s, "a", "p")
	b := mustEnqueue(t, s, "b", "p")
	mustLease(t, s, 2)
	for _, id := range []uint64{a, b} {
		if err := s.Nack(context.Background(), id, "offline"); err != nil {
			t.Fatal(err)
		}
	}
	if got := mustLease(t, s, 2); len(got) != 0 {
		t.Fatalf("leased %d records in backoff; want 0", len(got))
	}
	n, err := s.Hasten(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Hasten: %d, %v; want 2", n, err)
	}
	if got := mustLease(t, s, 2); len(got) != 2 {
		t.Fatalf("after Hasten: leased %d; want 2", len(got))
	}
}
