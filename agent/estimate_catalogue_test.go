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

// estimateStats is how far the offline estimates of a run of bills were from the
// platform's pre-settlement of the same bills.
type estimateStats struct {
	n, exact, within1, conservative int
	sumAbs, max                     settle.Money
}

func (h estimateStats) mean() settle.Money { return settle.Money(int64(h.sumAbs) / int64(max(h.n, 1))) }

func (h estimateStats) String() string {
	return fmt.Sprintf("own share exact %d/%d, within ¥1 %d/%d, estimate ≥ real %d/%d, mean |diff| ¥%s, max |diff| ¥%s",
		h.exact, h.n, h.within1, h.n, h.conservative, h.n, h.mean(), h.max)
}

// How estimateRun makes each bill's estimate.
type estimateMode int

const (
	// estimateAfterUpload: with what the agent knows once the platform answered the
	// bill's own fee upload (2204), as TestEstimate_AgainstPlatform always did.
	estimateAfterUpload estimateMode = iota
	// estimateFirstTime: with what it knew before the platform saw the bill, as if it
	// were offline at that moment.
	estimateFirstTime
	// estimateFirstTimeCatalogue: the same with the catalogue synced first.
	estimateFirstTimeCatalogue
)

// estimateRun submits n random bills (the same ones every run), compares each bill's
// offline estimate (made as mode says) with the platform's real pre-settlement of the
// same bill at the same moment, then settles the bill for real so that deductibles,
// balances and the agent's learning move on. It checks every estimate's arithmetic
// invariants, and returns how far the estimates were off in each half of the run.
func estimateRun(t *testing.T, n int, mode estimateMode) [2]estimateStats {
	fx := sim.DemoFixture()
	a, _ := mustInternalAgent(t, fx, nil)
	ctx := context.Background()
	if mode == estimateFirstTimeCatalogue {
		if _, err := a.catalogue.SyncNow(ctx); err != nil {
			t.Fatalf("catalogue sync: %v", err)
		}
	}
	rng := rand.New(rand.NewSource(1))
	cards := []string{"A33010001", "A33010002", "B31000003", "A33010006", "A33010007", "B31000008"}
	items := fx.Catalogue()
	var halves [2]estimateStats
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
		// What the agent knew before the platform saw this bill: an offline estimate
		// made now would have had only that.
		before := a.engine.Link.Learned().Clone()
		out, err := a.engine.Bills.SubmitBill(ctx, b, b.BillNo, "test")
		if err != nil || out.Kind != workflow.ResultCreated {
			t.Fatalf("bill %d: %v %+v", i, err, out)
		}
		rec, err := a.engine.Bills.Bill(b.BillNo)
		if err != nil {
			t.Fatal(err)
		}
		real := rec.Presettle
		if rec.Estimate || real == nil {
			t.Fatalf("bill %d: no platform pre-settlement", i)
		}
		est := a.engine.Link.Estimate(rec)
		if mode != estimateAfterUpload {
			est = a.engine.Link.EstimateWith(rec, before)
		}
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
		if _, err := a.engine.Bills.SettleBill(ctx, b.BillNo, []string{"0", "1"}[rng.Intn(2)], "01"); err != nil {
			t.Fatalf("bill %d: settle: %v", i, err)
		}
	}
	return halves
}

// TestEstimate_FirstTime_Catalogue measures what the catalogue brings to the offline
// estimate of items the agent has never seen settled: the same 200 random bills with
// and without a synced catalogue. The first 100 are where it matters.
func TestEstimate_FirstTime_Catalogue(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 60
	}
	without := estimateRun(t, n, estimateFirstTime)
	with := estimateRun(t, n, estimateFirstTimeCatalogue)
	for i := range with {
		t.Logf("bills %d without the catalogue: %s", i+1, without[i])
		t.Logf("bills %d with the catalogue:    %s", i+1, with[i])
	}
	if with[0].sumAbs >= without[0].sumAbs {
		t.Errorf("first %d bills: mean |diff| with the catalogue ¥%s, without ¥%s; want the catalogue to help",
			with[0].n, with[0].mean(), without[0].mean())
	}
	if with[1].sumAbs > without[1].sumAbs {
		t.Errorf("last %d bills: mean |diff| with the catalogue ¥%s, without ¥%s; want no worse", with[1].n, with[1].mean(), without[1].mean())
	}
}
