package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// E4: the 2207 went out, its answer was lost and the agent stopped before it stored
// the bill again: the stored record still plans the whole chain. While the agent
// resolves it the late 2207 lands, so the lost 2204's cancellation (2205) is refused
// "已结算": the settlement is found with 5203 and adopted, not left failed. (Delivered
// before the 2206 instead, the 2205 has cancelled the lines and the late 2207 is
// refused: settled once all the same.)
func TestBill_Late2207_LandsBeforeResolution_Adopted(t *testing.T) {
	for _, deliverOn := range []string{platform.InfnoCancelFee, platform.InfnoFeeUpload, platform.InfnoPreSettle} {
		t.Run(deliverOn, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			b := r.queuedThenOnline(cardLocalEmployee)
			// The 2207 is late; the commit after it crashes (before its fsync).
			r.pf.decide = func(infno string) fault {
				if infno == platform.InfnoSettle {
					r.crashAt.Store(1)
					r.crashAfter = false
					return late
				}
				return passThrough
			}
			_, _ = r.eng.Queue.SyncOnce(context.Background(), 8)
			if !r.crashed.Load() {
				t.Fatal("the sync did not crash at the commit after the late 2207")
			}
			r.restart()
			delivered := false
			r.pf.decide = func(infno string) fault {
				if infno == deliverOn && !delivered {
					delivered = true
					r.pf.Deliver(context.Background())
				}
				return passThrough
			}
			r.drain(10, time.Minute)
			r.pf.decide = nil
			if !delivered {
				t.Fatalf("no %s was sent after the restart", deliverOn)
			}
			r.mustSettledOnce(b.BillNo)
		})
	}
}
