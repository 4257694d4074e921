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
		if out, err := a.engine.Bills.SubmitBill(ctx, b, b.BillNo, "test"); err != nil && !errors.Is(err, workflow.ErrRefused) {
			t.Fatalf("submit %s: %v %+v", b.BillNo, err, out)
		}
	}
	mustSubmit(bill("OLD-SETTLED", "A33010001"))
	if _, err := a.engine.Bills.SettleBill(ctx, "OLD-SETTLED", "1", "01"); err != nil {
		t.Fatal(err)
	}
	mustSubmit(bill("OLD-FAILED", "C32010004")) // unfiled: refused, needs a person

	mu.Lock()
	clock = clock.Add(a.cfg.Store.Retention.Duration + 48*time.Hour)
	mu.Unlock()
	mustSubmit(bill("NEW-SETTLED", "A33010002"))
	if _, err := a.engine.Bills.SettleBill(ctx, "NEW-SETTLED", "1", "01"); err != nil {
		t.Fatal(err)
	}

	n, err := a.engine.Queue.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("swept %d bills; want 1", n)
	}
	if _, err := a.engine.Bills.Bill("OLD-SETTLED"); !errors.Is(err, settle.ErrNotFound) {
		t.Errorf("old settled bill: got %v; want it removed", err)
	}
	// The bill and its remembered answer are gone: posting it again is a new bill.
	if _, err := a.engine.Bills.SubmitBill(ctx, bill("OLD-SETTLED", "A33010001"), "OLD-SETTLED", "test"); err != nil {
		t.Errorf("post the swept bill again: %v", err)
	}
	for _, keep := range []string{"OLD-FAILED", "NEW-SETTLED"} {
		if _, err := a.engine.Bills.Bill(keep); err != nil {
			t.Errorf("bill %s: got %v; want it kept", keep, err)
		}
	}
	if got := a.engine.Bills.BillCounts()[workflow.StateSettled]; got != 1 {
		t.Errorf("settled bills after the sweep: got %d; want 1", got)
	}
}

// TestAgent_QueueBackoff_CappedAt30s: the agent's queue retries a queued bill at
// least every 30 s (MaxBackoff), measured on the injected clock.
func TestAgent_QueueBackoff_CappedAt30s(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	a, p := mustInternalAgent(t, sim.DemoFixture(), now)
	ctx := context.Background()
	q, _ := settle.ParseQty("1")
	pr, _ := settle.ParsePrice("25.00")
	b := settle.Bill{BillNo: "BACKOFF-1", Window: "W01", MedType: settle.MedTypeOutpatient,
		Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: "A33010001"},
		Items:   []settle.Item{{Line: 1, HISCode: "ZL0001", Name: "诊查费", Qty: q, UnitPrice: pr, Amount: 2500}},
		Total:   2500, CreatedAt: now()}
	if _, err := a.engine.Bills.SubmitBill(ctx, b, b.BillNo, "test"); err != nil {
		t.Fatal(err)
	}
	p.SetFaults(sim.Faults{Down: true})
	a.engine.Link.Breaker().Trip()
	res, err := a.engine.Bills.SettleBill(ctx, b.BillNo, "", "")
	if err != nil || res.Kind != workflow.ResultQueued {
		t.Fatalf("settle offline: %v %v", res.Kind, err)
	}
	for i := 0; i < 12; i++ {
		a.engine.Link.Breaker().OK() // the sync tries, the platform is still down
		if _, err := a.engine.Queue.SyncOnce(ctx, 1); err != nil {
			t.Fatal(err)
		}
		rec, _ := a.engine.Bills.Bill(b.BillNo)
		j, err := a.Store().Get(rec.QueueID)
		if err != nil {
			t.Fatal(err)
		}
		if d := j.NextAt.Sub(now()); d > 30*time.Second {
			t.Fatalf("attempt %d: next retry in %v; want at most 30s", i+1, d)
		}
		mu.Lock()
		clock = j.NextAt
		mu.Unlock()
	}
}
