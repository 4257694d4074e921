package agent

import "testing"

// TestEstimate_AgainstPlatform is a property test of the offline estimate: for many
// random bills it compares the agent's own split (what a window would be told while
// offline) with the platform's real pre-settlement of the same bill at the same moment,
// then settles the bill for real so deductibles, balances and the agent's learning move
// on. It checks the estimate's arithmetic invariants on every bill, that learning makes
// it better, and reports how often and by how much it differs.
func TestEstimate_AgainstPlatform(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 60
	}
	halves := estimateRun(t, n, estimateAfterUpload)
	for i, h := range halves {
		t.Logf("bills %d: %s", i+1, h)
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
			halves[0].mean(), halves[1].mean())
	}
}
