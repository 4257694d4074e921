package workflow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// The adversarial review's findings (E1–E4), each a test that failed before its fix.

// E1: the 2601 of a lost 2207 is refused because the platform forgot the session;
// the reversal signs in again instead of being refused for ever.
func TestBill_ReversalAfterSessionExpiry_SignsInAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	r.pf.decide = faultOnce(platform.InfnoSettle, lostBefore)
	if res := r.mustSettle(b.BillNo); res.Kind != workflow.ResultQueued {
		t.Fatalf("settle with the 2207 lost: %s; want queued", res.Kind)
	}
	r.pf.decide = nil
	r.sim.ExpireSessions()
	r.drain(10, time.Minute)
	rec := r.mustSettledOnce(b.BillNo)
	notFound := false
	for _, m := range rec.History {
		notFound = notFound || m.Infno == platform.InfnoReversal && m.Outcome == workflow.OutcomeRefused && strings.Contains(m.ErrMsg, "原交易不存在")
	}
	if !notFound {
		t.Errorf("no 2601 answered 原交易不存在 in the history: %+v", rec.History)
	}
}

// queuedThenOnline queues a bill for settlement while the platform is down, then
// brings the platform back (nothing synced yet).
func (r *rig) queuedThenOnline(card string) settle.Bill {
	r.t.Helper()
	b := r.queueOffline(card).Bill
	r.down(false)
	r.eng.Link.Probe(context.Background())
	return b
}

// E1, the 2205 of a lost 2204 (resolved before the upload is repeated): the
// cancellation signs in again too.
func TestBill_CancelBatchAfterSessionExpiry_SignsInAgain(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.queuedThenOnline(cardLocalEmployee)
	r.pf.decide = faultOnce(platform.InfnoFeeUpload, lostAfter)
	if _, err := r.eng.Queue.SyncOnce(context.Background(), 8); err != nil {
		t.Fatal(err)
	}
	if rec := r.mustBill(b.BillNo); rec.State == workflow.StateSettled {
		t.Fatalf("settled although the 2204 was lost: %+v", rec.History)
	}
	r.pf.decide = nil
	r.sim.ExpireSessions()
	r.drain(10, time.Minute)
	r.mustSettledOnce(b.BillNo)
}
