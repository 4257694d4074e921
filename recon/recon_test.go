package recon

import (
	"context"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/platform"
)

// fakePlatform answers 3201 from the settlements it holds per insutype, as the
// platform compares totals: "0" when the counts agree, "1" when it holds more.
type fakePlatform struct {
	holds map[string]int
	asked []string
}

func (f *fakePlatform) call(_ context.Context, infno string, in, out any) error {
	switch infno {
	case platform.InfnoTotalRecon:
		d := in.(platform.TotalReconInput).Data
		f.asked = append(f.asked, d.Insutype)
		o := out.(*platform.TotalReconOutput)
		o.Stmtinfo.StmtRslt = platform.StmtBalanced
		if f.holds[d.Insutype] > d.FixmedinsSetlCnt {
			o.Stmtinfo.StmtRslt = platform.StmtPlatformMore
		}
	}
	return nil
}

func (f *fakePlatform) detail(_ context.Context, r platform.DetailRecon) ([]platform.ReconResultRow, error) {
	return []platform.ReconResultRow{{SetlID: "S1", Msgid: "H33010200001202611231000000001", StmtRslt: platform.StmtPlatformMore}}, nil
}

func meta() (platform.Meta, error) {
	return platform.Meta{Msgid: "H33010200001202611231000000009"}, nil
}

// Defect 3: reconciliation checked only the insurance types and days the agent had
// bills for; a day with no local bill sent no 3201 and reported clean while the
// platform held settlements.
func TestReconcile_DayWithoutLocalBills_AsksThePlatform(t *testing.T) {
	fp := &fakePlatform{holds: map[string]int{"390": 1}}
	r := &Reconciler{Bills: func(string) ([]Bill, error) { return nil, nil }, Call: fp.call, DetailRecon: fp.detail, Meta: meta,
		Online: func() bool { return true }, SetlOptins: "330100"}
	rep, err := r.Reconcile(context.Background(), "2026-11-23", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fp.asked, ","); got != "310,390" {
		t.Errorf("3201 sent for insutypes %q; want 310,390 (every insurance type, bills or not)", got)
	}
	if rep.Clean {
		t.Errorf("report clean while the platform holds a settlement the agent does not: %+v", rep.Totals)
	}
	for _, tot := range rep.Totals {
		if tot.Insutype == "390" && (len(tot.Diffs) != 1 || tot.Diffs[0].Msgid == "") {
			t.Errorf("390 differences %+v; want the platform's settlement named with its msgid (3202)", tot.Diffs)
		}
	}
}
