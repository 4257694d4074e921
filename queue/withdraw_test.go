package queue

import (
	"context"
	"errors"
	"testing"
)

// A withdrawn record (a bill cancelled while it waited in the queue) counts as done,
// not ready, keeps its reason, and the next record of its key is handed out; under
// RemoveDone it is gone.
func TestStore_Withdraw_CountsTheRecordDoneNotReady(t *testing.T) {
	for _, removeDone := range []bool{false, true} {
		s := MustOpen(t, "", &Options{RemoveDone: removeDone})
		first := mustEnqueue(t, s, "bill-1", "a")
		second := mustEnqueue(t, s, "bill-1", "b")
		err := s.Batch(context.Background(), func(tx *Tx) error { return tx.Withdraw(first, "cancelled before it was sent") })
		if err != nil {
			t.Fatalf("RemoveDone=%v: Withdraw: %v", removeDone, err)
		}
		st := mustStats(t, s)
		wantDone := 1
		if removeDone {
			wantDone = 0
		}
		if st.Ready != 1 || st.Done != wantDone {
			t.Errorf("RemoveDone=%v: after Withdraw got %+v; want 1 ready, %d done", removeDone, st, wantDone)
		}
		r, err := s.Get(first)
		switch {
		case removeDone && !errors.Is(err, ErrNotFound):
			t.Errorf("RemoveDone: reading the withdrawn record: got %v; want ErrNotFound", err)
		case !removeDone && (err != nil || r.State != StateDone || r.Reason != "cancelled before it was sent"):
			t.Errorf("withdrawn record: got %+v, %v; want done with its reason", r, err)
		}
		if got := mustLease(t, s, 2); len(got) != 1 || got[0].ID != second {
			t.Errorf("RemoveDone=%v: leased %v; want record %d, next of its key", removeDone, got, second)
		}
	}
}
