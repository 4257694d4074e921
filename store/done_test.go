package store

import (
	"context"
	"testing"

	"github.com/settle-agent/settle-agent/workflow"
)

// A job acked is removed from the queue, and reads back as done (what the engine
// asks of a finished job); a job never issued is still not found.
func TestStore_AckedJobReadsAsDone(t *testing.T) {
	s, err := Open(t.TempDir(), &Options{Key: "qQqqmSCu+ALkUCzBZTpyfewlz1u1bwJruAa3XgkerW8="})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var id uint64
	if err := s.Update(ctx, func(tx workflow.Tx) error {
		var err error
		id, err = tx.Enqueue("bill-1", []byte(`{"bill_no":"bill-1"}`))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if jobs, err := s.Lease(ctx, 1); err != nil || len(jobs) != 1 {
		t.Fatalf("lease: %v, %v; want one job", jobs, err)
	}
	if err := s.Update(ctx, func(tx workflow.Tx) error { return tx.Ack(id) }); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(); st.Done != 0 || st.Leased != 0 {
		t.Errorf("queue after the ack: %+v; want the job removed", st)
	}
	err = s.View(func(tx workflow.ReadTx) error {
		j, err := tx.Job(id)
		if err != nil || j.State != workflow.JobDone {
			t.Errorf("job %d after its ack: %+v, %v; want done", id, j, err)
		}
		if _, err := tx.Job(id + 1); err == nil {
			t.Errorf("job %d never issued: found; want an error", id+1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
