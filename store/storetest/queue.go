package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

func init() {
	add("EnqueuedJobIsLeasedOnce", testLeaseOnce)
	add("OneJobPerKeyAtATimeInOrder", testOnePerKey)
	add("LeaseHandsOutInDueOrderUpToN", testLeaseOrder)
	add("NackBacksOffThenHandsOutAgain", testNackBackoff)
	add("NackPastTheHorizonIsDead", testNackHorizon)
	add("PostponeIgnoresTheHorizon", testPostpone)
	add("FailedJobBlocksItsKeyUntilRetried", testFailRetry)
	add("DeadJobBlocksItsKeyUntilRetried", testDeadRetry)
	add("MovesOfAJobInTheWrongStateAreJobMoved", testWrongState)
	add("ExpiredLeaseIsHandedOutAgain", testLeaseExpiry)
	add("HastenMakesBackedOffJobsDue", testHasten)
	add("ReadySignalsAnEnqueue", testReady)
	add("JobOfAnUnknownIDIsNotFound", testJobUnknown)
	add("AckedJobIsDone", testAckDone)
	add("WithdrawnJobIsDoneAndFreesItsKey", testWithdraw)
	add("WithdrawOfALeasedOrDoneJobIsJobMoved", testWithdrawWrongState)
}

func lease(t *testing.T, s workflow.Store, n int) []workflow.Job {
	t.Helper()
	jobs, err := s.Lease(context.Background(), n)
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	return jobs
}

func enqueue(t *testing.T, s workflow.Store, key, payload string) uint64 {
	t.Helper()
	var id uint64
	if err := s.Update(context.Background(), func(tx workflow.Tx) (err error) {
		id, err = tx.Enqueue(key, []byte(payload))
		return err
	}); err != nil {
		t.Fatalf("Enqueue %s: %v", key, err)
	}
	return id
}

func update(t *testing.T, s workflow.Store, what string, fn func(tx workflow.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func job(t *testing.T, s workflow.Store, id uint64) workflow.Job {
	t.Helper()
	var j workflow.Job
	view(t, s, func(tx workflow.ReadTx) (err error) {
		j, err = tx.Job(id)
		return err
	})
	return j
}

func leasedIDs(jobs []workflow.Job) []uint64 {
	var out []uint64
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

func testLeaseOnce(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", `{"bill_no":"MZ1"}`)
	got := lease(t, s, 10)
	if len(got) != 1 || got[0].ID != id || got[0].Key != "MZ1" || string(got[0].Payload) != `{"bill_no":"MZ1"}` || got[0].State != workflow.JobLeased {
		t.Fatalf("Lease: got %+v; want job %d of MZ1, leased, with its payload", got, id)
	}
	if again := lease(t, s, 10); len(again) != 0 {
		t.Errorf("second Lease: got %v; want nothing while leased", leasedIDs(again))
	}
	same(t, "Job state", job(t, s, id).State, workflow.JobLeased)
}

func testOnePerKey(t *testing.T, r *rig) {
	s := r.store()
	a1 := enqueue(t, s, "A", "a1")
	a2 := enqueue(t, s, "A", "a2")
	b1 := enqueue(t, s, "B", "b1")
	same(t, "first Lease", leasedIDs(lease(t, s, 10)), []uint64{a1, b1})
	update(t, s, "Ack a1", func(tx workflow.Tx) error { return tx.Ack(a1) })
	same(t, "Lease after Ack of a1", leasedIDs(lease(t, s, 10)), []uint64{a2})
	a3 := enqueue(t, s, "A", "a3")
	same(t, "Lease while a2 is leased", leasedIDs(lease(t, s, 10)), []uint64(nil))
	update(t, s, "Ack a2", func(tx workflow.Tx) error { return tx.Ack(a2) })
	same(t, "Lease after Ack of a2", leasedIDs(lease(t, s, 10)), []uint64{a3})
}

func testLeaseOrder(t *testing.T, r *rig) {
	s := r.store()
	var want []uint64
	for _, k := range []string{"K3", "K1", "K2", "K5", "K4"} {
		want = append(want, enqueue(t, s, k, k))
		r.clock.Advance(time.Millisecond)
	}
	same(t, "Lease 2", leasedIDs(lease(t, s, 2)), want[:2])
	same(t, "Lease 10", leasedIDs(lease(t, s, 10)), want[2:])
}

func testNackBackoff(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	lease(t, s, 1)
	var j workflow.Job
	update(t, s, "Nack", func(tx workflow.Tx) (err error) { j, err = tx.Nack(id, "offline"); return err })
	if j.State != workflow.JobReady || j.Reason != "offline" {
		t.Errorf("Nack returned %+v; want ready with the cause", j)
	}
	// The first backoff is at most minBackoff (jitter included).
	if got := lease(t, s, 1); len(got) != 0 {
		t.Fatalf("Lease right after Nack: got %v; want nothing during the backoff", leasedIDs(got))
	}
	r.clock.Advance(minBackoff / 4)
	if got := lease(t, s, 1); len(got) != 0 {
		t.Fatalf("Lease a quarter into the backoff: got %v; want nothing", leasedIDs(got))
	}
	r.clock.Advance(minBackoff)
	same(t, "Lease after the backoff", leasedIDs(lease(t, s, 1)), []uint64{id})
	// The second backoff doubles: minBackoff is not enough, 2*minBackoff is.
	update(t, s, "Nack", func(tx workflow.Tx) (err error) { _, err = tx.Nack(id, "offline"); return err })
	r.clock.Advance(minBackoff + time.Second)
	if got := lease(t, s, 1); len(got) != 0 {
		t.Fatalf("Lease one first backoff after the second Nack: got %v; want nothing (the backoff doubled)", leasedIDs(got))
	}
	r.clock.Advance(minBackoff)
	same(t, "Lease after the doubled backoff", leasedIDs(lease(t, s, 1)), []uint64{id})
}

func testNackHorizon(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	later := enqueue(t, s, "MZ1", "q")
	lease(t, s, 1)
	r.clock.Advance(horizon)
	var j workflow.Job
	update(t, s, "Nack", func(tx workflow.Tx) (err error) { j, err = tx.Nack(id, "offline"); return err })
	if j.State != workflow.JobDead || j.Reason == "" {
		t.Errorf("Nack past the horizon returned %+v; want dead with a reason", j)
	}
	same(t, "Job state", job(t, s, id).State, workflow.JobDead)
	r.clock.Advance(maxBackoff)
	same(t, "Lease behind a dead job", leasedIDs(lease(t, s, 10)), []uint64(nil))
	_ = later
}

func testPostpone(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	lease(t, s, 1)
	r.clock.Advance(2 * horizon)
	update(t, s, "Postpone", func(tx workflow.Tx) error { return tx.Postpone(id, "clock disagrees") })
	j := job(t, s, id)
	if j.State != workflow.JobReady || j.Reason != "clock disagrees" {
		t.Errorf("Postpone past the horizon: got %+v; want ready with the cause", j)
	}
	same(t, "Lease during the backoff", leasedIDs(lease(t, s, 1)), []uint64(nil))
	r.clock.Advance(minBackoff)
	same(t, "Lease after the backoff", leasedIDs(lease(t, s, 1)), []uint64{id})
}

func testFailRetry(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	next := enqueue(t, s, "MZ1", "q")
	lease(t, s, 1)
	update(t, s, "Fail", func(tx workflow.Tx) error { return tx.Fail(id, "refused: 人员信息不存在") })
	j := job(t, s, id)
	if j.State != workflow.JobFailed || j.Reason != "refused: 人员信息不存在" {
		t.Errorf("after Fail: got %+v; want failed with the reason", j)
	}
	r.clock.Advance(horizon)
	same(t, "Lease behind a failed job", leasedIDs(lease(t, s, 10)), []uint64(nil))
	update(t, s, "Retry", func(tx workflow.Tx) error { return tx.Retry(id) })
	same(t, "Job state after Retry", job(t, s, id).State, workflow.JobReady)
	same(t, "Lease after Retry", leasedIDs(lease(t, s, 10)), []uint64{id})
	// Retry restarts the horizon: a Nack now is not past it.
	var nj workflow.Job
	update(t, s, "Nack", func(tx workflow.Tx) (err error) { nj, err = tx.Nack(id, "offline"); return err })
	same(t, "Nack after Retry", nj.State, workflow.JobReady)
	_ = next
	// A ready job can be failed too (a person looked before it was sent).
	update(t, s, "Fail a ready job", func(tx workflow.Tx) error { return tx.Fail(id, "by hand") })
	same(t, "Job state", job(t, s, id).State, workflow.JobFailed)
}

func testDeadRetry(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	next := enqueue(t, s, "MZ1", "q")
	update(t, s, "Dead", func(tx workflow.Tx) error { return tx.Dead(id, "given up by an administrator") })
	j := job(t, s, id)
	if j.State != workflow.JobDead || j.Reason != "given up by an administrator" {
		t.Errorf("after Dead: got %+v; want dead with the reason", j)
	}
	same(t, "Lease behind a dead job", leasedIDs(lease(t, s, 10)), []uint64(nil))
	update(t, s, "Retry", func(tx workflow.Tx) error { return tx.Retry(id) })
	same(t, "Lease after Retry", leasedIDs(lease(t, s, 10)), []uint64{id})
	update(t, s, "Ack", func(tx workflow.Tx) error { return tx.Ack(id) })
	same(t, "Lease after Ack", leasedIDs(lease(t, s, 10)), []uint64{next})
}

func testWrongState(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	moves := map[string]func(tx workflow.Tx) error{
		"Ack of a ready job":      func(tx workflow.Tx) error { return tx.Ack(id) },
		"Nack of a ready job":     func(tx workflow.Tx) error { _, err := tx.Nack(id, "x"); return err },
		"Postpone of a ready job": func(tx workflow.Tx) error { return tx.Postpone(id, "x") },
		"Retry of a ready job":    func(tx workflow.Tx) error { return tx.Retry(id) },
	}
	for what, fn := range moves {
		if err := s.Update(context.Background(), fn); !errors.Is(err, workflow.ErrJobMoved) {
			t.Errorf("%s: got %v; want workflow.ErrJobMoved", what, err)
		}
	}
	lease(t, s, 1)
	update(t, s, "Ack", func(tx workflow.Tx) error { return tx.Ack(id) })
	done := map[string]func(tx workflow.Tx) error{
		"Ack of a done job":   func(tx workflow.Tx) error { return tx.Ack(id) },
		"Dead of a done job":  func(tx workflow.Tx) error { return tx.Dead(id, "x") },
		"Fail of a done job":  func(tx workflow.Tx) error { return tx.Fail(id, "x") },
		"Retry of a done job": func(tx workflow.Tx) error { return tx.Retry(id) },
	}
	for what, fn := range done {
		if err := s.Update(context.Background(), fn); !errors.Is(err, workflow.ErrJobMoved) {
			t.Errorf("%s: got %v; want workflow.ErrJobMoved", what, err)
		}
	}
	same(t, "Job state", job(t, s, id).State, workflow.JobDone)
}

func testLeaseExpiry(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	lease(t, s, 1)
	r.clock.Advance(leaseTime - time.Second)
	same(t, "Lease before the lease runs out", leasedIDs(lease(t, s, 1)), []uint64(nil))
	r.clock.Advance(2 * time.Second)
	same(t, "Lease after the lease ran out", leasedIDs(lease(t, s, 1)), []uint64{id})
	// Its first consumer may still Ack it: the job is leased, whoever holds it.
	update(t, s, "Ack", func(tx workflow.Tx) error { return tx.Ack(id) })
	same(t, "Job state", job(t, s, id).State, workflow.JobDone)
}

func testHasten(t *testing.T, r *rig) {
	s := r.store()
	a := enqueue(t, s, "A", "p")
	b := enqueue(t, s, "B", "p")
	c := enqueue(t, s, "C", "p")
	same(t, "Lease", leasedIDs(lease(t, s, 3)), []uint64{a, b, c})
	for _, id := range []uint64{a, b} {
		update(t, s, "Nack", func(tx workflow.Tx) error { _, err := tx.Nack(id, "offline"); return err })
	}
	same(t, "Lease during the backoff", leasedIDs(lease(t, s, 3)), []uint64(nil))
	n, err := s.Hasten(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("Hasten: got %d, %v; want 2 (the leased job runs its course)", n, err)
	}
	same(t, "Lease after Hasten", leasedIDs(lease(t, s, 3)), []uint64{a, b})
}

func testReady(t *testing.T, r *rig) {
	s := r.store()
	drain := func() {
		for {
			select {
			case <-s.Ready():
			default:
				return
			}
		}
	}
	drain()
	enqueue(t, s, "MZ1", "p")
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("no value on Ready within 10 s of an Enqueue")
	}
}

func testJobUnknown(t *testing.T, r *rig) {
	s := r.store()
	err := s.View(func(tx workflow.ReadTx) error { _, err := tx.Job(4711); return err })
	if !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Job 4711: got %v; want queue.ErrNotFound", err)
	}
}

func testAckDone(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", `{"bill_no":"MZ1"}`)
	lease(t, s, 1)
	update(t, s, "Ack", func(tx workflow.Tx) error { return tx.Ack(id) })
	j := job(t, s, id)
	if j.State != workflow.JobDone || j.Key != "MZ1" || string(j.Payload) != `{"bill_no":"MZ1"}` {
		t.Errorf("Job after Ack: got %+v; want done, its key and payload kept", j)
	}
	r.clock.Advance(horizon)
	same(t, "Lease after Ack", leasedIDs(lease(t, s, 1)), []uint64(nil))
}

func testWithdraw(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	next := enqueue(t, s, "MZ1", "q")
	failed := enqueue(t, s, "MZ2", "p")
	lease(t, s, 10)
	update(t, s, "Fail", func(tx workflow.Tx) error { return tx.Fail(failed, "refused") })
	// The leased head of MZ1 was handed out; give it back to wait behind a backoff.
	update(t, s, "Nack", func(tx workflow.Tx) error { _, err := tx.Nack(id, "offline"); return err })
	for _, w := range []uint64{id, failed} {
		update(t, s, "Withdraw", func(tx workflow.Tx) error { return tx.Withdraw(w, "bill cancelled before it was sent") })
		j := job(t, s, w)
		if j.State != workflow.JobDone || j.Reason != "bill cancelled before it was sent" {
			t.Errorf("job %d after Withdraw: got %+v; want done with the reason", w, j)
		}
	}
	same(t, "Lease after Withdraw", leasedIDs(lease(t, s, 10)), []uint64{next})
	r.clock.Advance(horizon)
	update(t, s, "Ack", func(tx workflow.Tx) error { return tx.Ack(next) })
	same(t, "Lease after the rest is done", leasedIDs(lease(t, s, 10)), []uint64(nil))
}

func testWithdrawWrongState(t *testing.T, r *rig) {
	s := r.store()
	id := enqueue(t, s, "MZ1", "p")
	lease(t, s, 1)
	err := s.Update(context.Background(), func(tx workflow.Tx) error { return tx.Withdraw(id, "x") })
	if !errors.Is(err, workflow.ErrJobMoved) {
		t.Errorf("Withdraw of a leased job: got %v; want workflow.ErrJobMoved", err)
	}
	same(t, "Job state after a refused Withdraw", job(t, s, id).State, workflow.JobLeased)
	update(t, s, "Ack", func(tx workflow.Tx) error { return tx.Ack(id) })
	err = s.Update(context.Background(), func(tx workflow.Tx) error { return tx.Withdraw(id, "x") })
	if !errors.Is(err, workflow.ErrJobMoved) {
		t.Errorf("Withdraw of a done job: got %v; want workflow.ErrJobMoved", err)
	}
}
