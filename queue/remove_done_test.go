package queue

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// Under RemoveDone an acked record is gone (not done), the next record of its key is
// handed out, and a second ack of it is refused.
func TestStore_RemoveDone_AckRemovesAndFreesTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := MustOpen(t, path, &Options{RemoveDone: true})
	first := mustEnqueue(t, s, "bill-1", "a")
	second := mustEnqueue(t, s, "bill-1", "b")
	got := mustLease(t, s, 2)
	if len(got) != 1 || got[0].ID != first {
		t.Fatalf("leased %v; want record %d alone (one of a key at once)", got, first)
	}
	if err := s.Ack(context.Background(), first); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if st := mustStats(t, s); st.Done != 0 || st.Ready != 1 || st.Leased != 0 {
		t.Errorf("after the ack: got %+v; want 1 ready, none done or leased", st)
	}
	if _, err := s.Get(first); !errors.Is(err, ErrNotFound) {
		t.Errorf("reading the acked record: got %v; want ErrNotFound", err)
	}
	if got := mustLease(t, s, 2); len(got) != 1 || got[0].ID != second {
		t.Fatalf("leased %v; want record %d, next of its key", got, second)
	}
	if err := s.Ack(context.Background(), first); !errors.Is(err, ErrNotFound) {
		t.Errorf("second ack of %d: got %v; want ErrNotFound", first, err)
	}
}

// A store an earlier build left with done records loses them to the first Sweep
// under RemoveDone, however recent they are.
func TestStore_RemoveDone_SweepRemovesKeptDoneRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	old := MustOpen(t, path, &Options{NoSweep: true})
	for _, key := range []string{"a", "b", "c"} {
		mustEnqueue(t, old, key, "p")
	}
	for _, r := range mustLease(t, old, 3) {
		if err := old.Ack(context.Background(), r.ID); err != nil {
			t.Fatal(err)
		}
	}
	mustEnqueue(t, old, "d", "p")
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s := MustOpen(t, path, &Options{RemoveDone: true, NoSweep: true})
	n, err := s.Sweep(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("Sweep: %d, %v; want 3 removed", n, err)
	}
	if st := mustStats(t, s); st.Done != 0 || st.Ready != 1 {
		t.Errorf("after the sweep: got %+v; want 1 ready and none done", st)
	}
}
