package workflow_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

// TestResolutionOrder_StoredChain: the pending messages of a stored chain are
// resolved settlement first (2601), then the visit (5201), then the fee batch (2205
// needs the visit's mdtrt_id); a cancellation's 2208 before anything else.
func TestResolutionOrder_StoredChain(t *testing.T) {
	for _, c := range []struct {
		pending []string
		want    []string
	}{
		{[]string{"2201", "2204", "2207"}, []string{"2207", "2201", "2204"}},
		{[]string{"2204", "2207"}, []string{"2207", "2204"}},
		{[]string{"2207", "2208"}, []string{"2208", "2207"}},
		{[]string{"2205", "2202"}, []string{"2202", "2205"}},
	} {
		var ps []workflow.Pending
		for i, inf := range c.pending {
			ps = append(ps, workflow.Pending{Infno: inf, Msgid: string(rune('a' + i))})
		}
		if got := workflow.ResolutionOrder(ps); !slices.Equal(got, c.want) {
			t.Errorf("pending %v: resolved in order %v; want %v", c.pending, got, c.want)
		}
	}
}

// TestResolve_CrashAfterWholeChain: every write of the chain went out and every
// answer was lost, then the agent died; at the next start the 2207 is reversed
// before anything else is asked of the visit, and the bill settles once.
func TestResolve_CrashAfterWholeChain(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.bill(cardLocalEmployee)
	r.mustSubmit(b)
	// The presettle chain went through; now the settlement's 2207 answer is lost and
	// the process dies before it can store anything more.
	r.pf.decide = func(infno string) fault {
		if infno == platform.InfnoSettle {
			r.crashed.Store(true)
			return lostAfter
		}
		return passThrough
	}
	_, _ = r.eng.Bills.SettleBill(context.Background(), b.BillNo, "", "")
	r.pf.decide = nil
	r.restart()
	var first string
	r.pf.decide = func(infno string) fault {
		if first == "" && infno != platform.InfnoSignIn {
			first = infno
		}
		return passThrough
	}
	r.drain(5, time.Second)
	if first != platform.InfnoReversal {
		t.Errorf("first message after the restart: %s; want 2601 of the pending 2207", first)
	}
	r.mustSettledOnce(b.BillNo)
}
