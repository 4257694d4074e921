package workflow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/workflow"
)

// An administrator's retry or give-up of a job that already finished is refused as a
// wrong move, with a sentence that says so — not as a store failure — and the bill
// keeps its state.
func TestEngine_MoveJob_DoneJob_WrongStateNotStoreError(t *testing.T) {
	r := newRig(t, rigOptions{})
	rec := r.queueOffline(cardLocalEmployee)
	r.down(false)
	r.drain(3, time.Second)
	settled := r.mustBill(rec.Bill.BillNo)
	if settled.State != workflow.StateSettled {
		t.Fatalf("state %s; want settled", settled.State)
	}
	for name, move := range map[string]func(context.Context, uint64) error{
		"Retry": r.eng.Queue.RetryJob,
		"Kill":  r.eng.Queue.KillJob,
	} {
		t.Run(name, func(t *testing.T) {
			err := move(context.Background(), settled.QueueID)
			if !errors.Is(err, workflow.ErrJobMoved) || errors.Is(err, workflow.ErrStore) {
				t.Fatalf("got %v; want ErrJobMoved and not ErrStore", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "is done") || strings.Contains(msg, "store could not") {
				t.Errorf("message %q; want it to say the job is done, not blame the store", msg)
			}
			if got := r.mustBill(rec.Bill.BillNo); got.State != workflow.StateSettled {
				t.Errorf("bill state after the refused move: %s; want settled", got.State)
			}
		})
	}
}
