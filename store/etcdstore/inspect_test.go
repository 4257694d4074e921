package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store/etcdstore"
	"github.com/settle-agent/settle-agent/store/storetest"
	"github.com/settle-agent/settle-agent/workflow"
)

// queueRig is an etcd store on a test clock with n jobs of their own keys enqueued.
type queueRig struct {
	t      *testing.T
	s      *etcdstore.Store
	clock  *storetest.Clock
	prefix string
	ids    []uint64
}

func newQueueRig(t *testing.T, n int) *queueRig {
	t.Helper()
	r := &queueRig{t: t, clock: storetest.NewClock(), prefix: newPrefix()}
	r.s = openStore(t, shared.cli, r.prefix, queue.Options{Now: r.clock.Now, MinBackoff: 10 * time.Second, MaxBackoff: time.Minute,
		LeaseTime: 30 * time.Second, Horizon: time.Hour, Retention: 24 * time.Hour, Jitter: func(d time.Duration) time.Duration { return d - 1 }})
	for i := range n {
		r.update(func(tx workflow.Tx) error {
			id, err := tx.Enqueue(fmt.Sprintf("V%03d", i), []byte(`{"n":1}`))
			r.ids = append(r.ids, id)
			return err
		})
	}
	return r
}

func (r *queueRig) update(fn func(tx workflow.Tx) error) {
	r.t.Helper()
	if err := r.s.Update(context.Background(), fn); err != nil {
		r.t.Fatal(err)
	}
}

// finish leases n due jobs and acknowledges them.
func (r *queueRig) finish(n int) []uint64 {
	r.t.Helper()
	jobs, err := r.s.Lease(context.Background(), n)
	if err != nil || len(jobs) != n {
		r.t.Fatalf("lease %d: got %d jobs, %v", n, len(jobs), err)
	}
	var ids []uint64
	for _, j := range jobs {
		r.update(func(tx workflow.Tx) error { return tx.Ack(j.ID) })
		ids = append(ids, j.ID)
	}
	return ids
}

// TestStats_CountsByStateFromTheIndexWithoutReadingRecords: Stats and List by state
// answer what the records say, from the state index: a damaged record (which a walk
// of the records would trip on) does not disturb them.
func TestStats_CountsByStateFromTheIndexWithoutReadingRecords(t *testing.T) {
	r := newQueueRig(t, 12)
	r.finish(3) // done
	jobs, err := r.s.Lease(context.Background(), 4)
	if err != nil || len(jobs) != 4 {
		t.Fatalf("lease 4: %d, %v", len(jobs), err)
	}
	r.update(func(tx workflow.Tx) error { return tx.Fail(jobs[0].ID, "refused") })
	r.update(func(tx workflow.Tx) error { return tx.Dead(jobs[1].ID, "by hand") })
	r.update(func(tx workflow.Tx) error { _, err := tx.Nack(jobs[2].ID, "down"); return err })
	// jobs[3] stays leased; 5 never leased + 1 nacked are ready.

	want := queue.Stats{Ready: 6, Leased: 1, Failed: 1, Dead: 1, Done: 3}
	check := func(when string) {
		t.Helper()
		st, err := r.s.Stats()
		if err != nil {
			t.Fatalf("%s: Stats: %v", when, err)
		}
		got := queue.Stats{Ready: st.Ready, Leased: st.Leased, Failed: st.Failed, Dead: st.Dead, Done: st.Done}
		if got != want {
			t.Errorf("%s: Stats: got %+v; want %+v", when, got, want)
		}
		if st.OldestReady.IsZero() {
			t.Errorf("%s: Stats.OldestReady: got none; want the enqueue time of the first ready job", when)
		}
		for _, s := range queue.States {
			recs, err := r.s.List(queue.Filter{State: s})
			if err != nil {
				t.Fatalf("%s: List %s: %v", when, s, err)
			}
			for _, rec := range recs {
				if rec.State != s {
					t.Errorf("%s: List %s gave job %d in state %s", when, s, rec.ID, rec.State)
				}
			}
			if len(recs) != want.Count(s) {
				t.Errorf("%s: List %s: got %d jobs; want %d", when, s, len(recs), want.Count(s))
			}
		}
	}
	check("after the moves")

	// A damaged record of a job id never issued: a walk of every record fails on it.
	if _, err := shared.cli.Put(context.Background(), r.prefix+"q/r/00000000ffffffff", "not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.List(queue.Filter{}); !errors.Is(err, queue.ErrCorrupt) {
		t.Fatalf("a walk of every record: got %v; want it to trip on the damaged record (else this test proves nothing)", err)
	}
	check("beside a damaged record")
}

// TestSweepQueue_RemovesDoneJobsPastRetentionOnly: the leader's sweep removes the
// jobs done longer ago than the retention, keeps the younger and the unfinished
// ones, keeps the counts right, and a removed job still reads as done to its bill.
func TestSweepQueue_RemovesDoneJobsPastRetentionOnly(t *testing.T) {
	r := newQueueRig(t, 80)
	old := r.finish(70) // more than one sweep transaction's worth
	r.clock.Advance(20 * time.Hour)
	young := r.finish(5)
	r.clock.Advance(5 * time.Hour) // the first 70 are 25 h done, the next 5 only 5 h

	n, err := r.s.SweepQueue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != len(old) {
		t.Errorf("SweepQueue removed %d jobs; want the %d done more than 24 h ago", n, len(old))
	}
	st, err := r.s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != len(young) || st.Ready != 5 {
		t.Errorf("after the sweep: %d done, %d ready; want %d done, 5 ready", st.Done, st.Ready, len(young))
	}
	if err := r.s.View(func(tx workflow.ReadTx) error {
		for _, id := range old {
			j, err := tx.Job(id)
			if err != nil || j.State != workflow.JobDone {
				return fmt.Errorf("swept job %d: got %v, %v; want done", id, j.State, err)
			}
		}
		for _, id := range young {
			j, err := tx.Job(id)
			if err != nil || j.State != workflow.JobDone || j.Key == "" {
				return fmt.Errorf("young job %d: got %+v, %v; want kept, done", id, j, err)
			}
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if resp, err := shared.cli.Get(context.Background(), r.prefix+"q/r/"+fmt.Sprintf("%016x", old[0])); err != nil || len(resp.Kvs) != 0 {
		t.Errorf("swept job %d's record: %d keys, %v; want removed", old[0], len(resp.Kvs), err)
	}
	if n, err := r.s.SweepQueue(context.Background()); err != nil || n != 0 {
		t.Errorf("a second sweep removed %d, %v; want 0", n, err)
	}
}
