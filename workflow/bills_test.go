package workflow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// TestEngine_SubmitBill_TotalOffByOneFen refuses a total one fen above and one fen
// below the sum of the lines, naming the field.
func TestEngine_SubmitBill_TotalOffByOneFen(t *testing.T) {
	r := newRig(t, rigOptions{})
	for _, delta := range []settle.Money{+1, -1} {
		b := r.bill(cardLocalEmployee)
		b.Total += delta
		_, err := r.eng.Bills.SubmitBill(context.Background(), b, "", "api")
		var ve *settle.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("total off by %s: got %v; want a validation error", delta, err)
		}
		found := false
		for _, f := range ve.Fields {
			found = found || f.Field == "total"
		}
		if !found {
			t.Errorf("total off by %s: fields %v; want \"total\" named", delta, ve.Fields)
		}
		if _, err := r.eng.Bills.Bill(b.BillNo); !errors.Is(err, settle.ErrNotFound) {
			t.Errorf("total off by %s: the bill was stored (%v)", delta, err)
		}
	}
}

// TestEngine_Sync_RefusedQueuedBill_Failed: a platform refusal of a queued bill is
// final (failed, for a person), never retried like an outage.
func TestEngine_Sync_RefusedQueuedBill_Failed(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalEmployee)
	r.down(false)
	calls := 0
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle {
			calls++
			return refused
		}
		return passThrough
	}
	r.drain(10, time.Minute)
	got := r.mustBill(rec.Bill.BillNo)
	if got.State != workflow.StateFailed || got.ErrMsg == "" {
		t.Fatalf("refused queued bill: state %s, err_msg %q; want failed with the platform's message", got.State, got.ErrMsg)
	}
	if calls != 1 {
		t.Errorf("2207 sent %d times; want once (a refusal is not retried)", calls)
	}
	j, err := r.st.Queue().Get(got.QueueID)
	if err != nil || j.State != "failed" {
		t.Errorf("queue record: %v, %v; want failed", j, err)
	}
	if n := r.eng.Bills.BillCounts()[workflow.StateFailed]; n != 1 {
		t.Errorf("failed bills: %d; want 1", n)
	}
}

// TestEngine_BackOnline_BacklogDueAtOnce: when the platform answers again, the
// queued bills sync at once; none waits out the backoff it took while it was away.
func TestEngine_BackOnline_BacklogDueAtOnce(t *testing.T) {
	r := newRig(t, rigOptions{})
	var bills []*workflow.Record
	for i := 0; i < 3; i++ {
		bills = append(bills, r.queueOffline(cardLocalEmployee))
	}
	// The sync tries while the line is still bad: every bill backs off.
	r.pf.decide = func(string) fault { return lostBefore }
	for i := 0; i < 4; i++ {
		r.eng.Link.Breaker().OK()
		if _, err := r.eng.Queue.SyncOnce(context.Background(), 8); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(20 * time.Second)
	}
	r.eng.Link.Breaker().Trip()
	r.pf.decide = nil
	if !r.eng.Link.Probe(context.Background()) {
		t.Fatal("probe failed")
	}
	if n, err := r.eng.Queue.SyncOnce(context.Background(), 8); err != nil || n != len(bills) {
		t.Fatalf("first sync after the platform came back: %d jobs, %v; want all %d at once", n, err, len(bills))
	}
	for _, b := range bills {
		if got := r.mustBill(b.Bill.BillNo); got.State != workflow.StateSettled {
			t.Errorf("bill %s: %s; want settled", b.Bill.BillNo, got.State)
		}
	}
}
