package workflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/settle-agent/settle-agent/workflow"
)

// The same Idempotency-Key with the same bill answers what the first call answered,
// after the bill was settled and the agent restarted: the state and split as
// pre-settled, and the whole bill (taken from the record, not kept twice) — under
// the default key (the bill number) and under a key of the cashier's.
func TestEngine_SubmitBill_ReplayAnswersTheFirstAnswer(t *testing.T) {
	for _, key := range []string{"", "cashier-key-1"} {
		t.Run("key="+key, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			b := r.bill(cardLocalEmployee)
			if key == "" {
				key = b.BillNo
			}
			first, err := r.eng.Bills.SubmitBill(context.Background(), b, key, "test")
			if err != nil {
				t.Fatalf("submit: %v", err)
			}
			r.mustSettle(b.BillNo)
			r.restart()
			again, err := r.eng.Bills.SubmitBill(context.Background(), b, key, "test")
			if err != nil {
				t.Fatalf("submit again: %v", err)
			}
			if again.Kind != first.Kind || again.Bill.State != first.Bill.State || again.Bill.Settlement != nil {
				t.Errorf("replay: got %s, state %s, settlement %v; want %s, state %s, no settlement",
					again.Kind, again.Bill.State, again.Bill.Settlement, first.Kind, first.Bill.State)
			}
			for what, pair := range map[string][2]any{"bill": {again.Bill.Bill, first.Bill.Bill}, "presettle": {again.Bill.Presettle, first.Bill.Presettle}} {
				got, _ := json.Marshal(pair[0])
				want, _ := json.Marshal(pair[1])
				if !bytes.Equal(got, want) {
					t.Errorf("replay: got %s %s; want %s", what, got, want)
				}
			}
			if len(again.Bill.History) != len(first.Bill.History) {
				t.Errorf("replay: got %d messages; want the %d of the first answer", len(again.Bill.History), len(first.Bill.History))
			}
			if got := r.mustBill(b.BillNo); got.State != workflow.StateSettled {
				t.Errorf("the bill itself: state %s; want settled", got.State)
			}
		})
	}
}
