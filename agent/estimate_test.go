package agent

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/workflow"
)

// TestEstimate_AgainstPlatform is a property test of the offline estimate: for many
// random bills it compares the agent's own split (what a window would be told while
// offline) with the platform's real pre-settlement of the same bill at the same moment,
// then settles the bill for real so deductibles, balances and the agent's learning move
// on. It checks the estimate's arithmetic invariants on every bill, that learning makes
// it better, and reports how often and by how much it differs.
func TestEstimate_AgainstPlatform(t *testing.T) {
	fx := sim.DemoFixture()
	a, _ := mustInternalAgent(t, fx, nil)
	ctx := context.Background()

	n := 200
	if testing.Short() {
		n = 60
	}
	rng := rand.New(rand.NewSource(1))
	cards := []string{"A33010001", "A33010002", "B31000003", "A33010006", "A33010007", "B31000008"}
	items := fx.Catalogue()
	type stat struct {
		n, exact, within1, conservative int
		sumAbs, max                     settle.Money
	}
	var halves [2]stat
	for i := 0; i < n; i++ {
		b := settle.Bill{
			BillNo: fmt.Sprintf("EST%05d", i), Window: "W01",
			Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: cards[rng.Intn(len(cards))]},
			MedType: settle.MedTypeOutpatient, Dept: settle.Code{Code: "0301", Name: "内科"},
			Doctor: settle.Code{Code: "D1", Name: "医生"}, CreatedAt: time.Now(),
		}
		for l := 1; l <= 1+rng.Intn(5); l++ {
			it := items[rng.Intn(len(items))]
			q := settle.Qty((1 + rng.Intn(20)) * 10000)
			amt := settle.LineAmount(q, it.Price)
			b.Items = append(b.Items, settle.Item{Line: l, HISCode: it.MedinsListCodg, Name: it.Name, Qty: q, UnitPrice: it.Price, Amount: amt})
			b.Total += amt
		}
		out, err := a.engine.SubmitBill(ctx, b, b.BillNo, "test")
		if err != nil || out.Kind != workflow.ResultCreated {
			t.Fatalf("bill %d: %v %+v", i, err, out)
		}
		rec, err := a.engine.Bill(b.BillNo)
		if err != nil {
			t.Fatal(err)
		}
		real := rec.Presettle
		if rec.Estimate || real == nil {
			t.Fatalf("bill %d: no platform pre-settlement", i)
		}
		est := a.engine.Estimate(rec)
		// Invariants of every estimate.
		if est.FundPaySumamt+est.PsnPartAmt != b.Total || est.AcctPay+est.PsnCashPay != est.PsnPartAmt ||
			est.FundPaySumamt < 0 || est.FundPaySumamt > b.Total || est.AcctPay < 0 {
			t.Fatalf("bill %d: inconsistent estimate %+v for total %s", i, est, b.Total)
		}
		diff := est.PsnPartAmt - real.PsnPartAmt
		h := &halves[i*2/n]
		h.n++
		abs := max(diff, -diff)
		h.sumAbs += abs
		h.max = max(h.max, abs)
		if diff == 0 {
			h.exact++
		}
		if abs <= 100 {
			h.within1++
		}
		if diff >= 0 {
			h.conservative++
		}
		if _, err := a.engine.SettleBill(ctx, b.BillNo, []string{"0", "1"}[rng.Intn(2)], "01"); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range halves {
		t.Logf("bills %d: own share exact %d/%d, within ¥1 %d/%d, estimate ≥ real %d/%d, mean |diff| ¥%s, max |diff| ¥%s",
			i+1, h.exact, h.n, h.within1, h.n, h.conservative, h.n, settle.Money(int64(h.sumAbs)/int64(h.n)), h.max)
	}
	// Once the agent has seen the patients and the items, the estimate is what the
	// platform computes (the demo policy is deterministic); an estimate that errs, errs
	// towards the patient paying more now.
	if h := halves[1]; h.within1*100 < h.n*95 || h.exact*100 < h.n*90 || h.conservative*100 < h.n*95 {
		t.Errorf("after learning: exact %d/%d, within ¥1 %d/%d, estimate ≥ real %d/%d; want at least 90%%, 95%%, 95%%",
			h.exact, h.n, h.within1, h.n, h.conservative, h.n)
	}
	if h := halves[0]; h.conservative*100 < h.n*75 {
		t.Errorf("before learning: estimate ≥ real %d/%d; want at least 75%% (err towards the patient paying more now)", h.conservative, h.n)
	}
	if halves[1].sumAbs > halves[0].sumAbs {
		t.Errorf("the estimate got worse as the agent learned: mean |diff| first half %s, second half %s",
			settle.Money(int64(halves[0].sumAbs)/int64(halves[0].n)), settle.Money(int64(halves[1].sumAbs)/int64(halves[1].n)))
	}
}
