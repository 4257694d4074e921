package agent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/workflow"
)

func TestAgent_Sweep(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	a, _ := mustInternalAgent(t, sim.DemoFixture(), now)
	ctx := context.Background()
	bill := func(no, card string) settle.Bill {
		q, _ := settle.ParseQty("1")
		p, _ := settle.ParsePrice("25.00")
		return settle.Bill{BillNo: no, Window: "W01", MedType: settle.MedTypeOutpatient,
			Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: card},
			Items:   []settle.Item{{Line: 1, HISCode: "ZL0001", Name: "诊查费", Qty: q, UnitPrice: p, Amount: 2500}},
			Total:   2500, CreatedAt: now()}
	}
	mustSubmit := func(b settle.Bill) {
		if out, err := a.engine.SubmitBill(ctx, b, b.BillNo, "test"); err != nil && !errors.Is(err, workflow.ErrRefused) {
			t.Fatalf("submit %s: %v %+v", b.BillNo, err, out)
		}
	}
	mustSubmit(bill("OLD-SETTLED", "A33010001"))
	if _, err := a.engine.SettleBill(ctx, "OLD-SETTLED", "1", "01"); err != nil {
		t.Fatal(err)
	}
	mustSubmit(bill("OLD-FAILED", "C32010004")) // unfiled: refused, needs a person

	mu.Lock()
	clock = clock.Add(a.cfg.Store.Retention.Duration + 48*time.Hour)
	mu.Unlock()
	mustSubmit(bill("NEW-SETTLED", "A33010002"))
	if _, err := a.engine.SettleBill(ctx, "NEW-SETTLED", "1", "01"); err != nil {
		t.Fatal(err)
	}

	n, err := a.engine.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("swept %d bills; want 1", n)
	}
	if _, err := a.engine.Bill("OLD-SETTLED"); !errors.Is(err, settle.ErrNotFound) {
		t.Errorf("old settled bill: got %v; want it removed", err)
	}
	// The bill and its remembered answer are gone: posting it again is a new bill.
	if _, err := a.engine.SubmitBill(ctx, bill("OLD-SETTLED", "A33010001"), "OLD-SETTLED", "test"); err != nil {
		t.Errorf("post the swept bill again: %v", err)
	}
	for _, keep := range []string{"OLD-FAILED", "NEW-SETTLED"} {
		if _, err := a.engine.Bill(keep); err != nil {
			t.Errorf("bill %s: got %v; want it kept", keep, err)
		}
	}
	if got := a.engine.BillCounts()[workflow.StateSettled]; got != 1 {
		t.Errorf("settled bills after the sweep: got %d; want 1", got)
	}
}
