package recon

import (
	"context"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// ledgerPlatform is a platform holding settlements, answering 3201 per insutype and
// clr_type and 3202 as the platform does: the file against ALL the hospital's
// settlements of the period (3202's input names no insutype).
type ledgerPlatform struct {
	holds   []platform.ReconFileRow // with Insutype in psn_no's place: see held
	kind    map[string]string       // setl_id → insutype/clr_type
	details []platform.DetailRecon
}

func (f *ledgerPlatform) call(_ context.Context, infno string, in, out any) error {
	if infno != platform.InfnoTotalRecon {
		return nil
	}
	d := in.(platform.TotalReconInput).Data
	var medfee settle.Money
	n := 0
	for _, h := range f.holds {
		if f.kind[h.SetlID] == d.Insutype+"/"+d.ClrType {
			n++
			medfee += h.MedfeeSumamt.Money()
		}
	}
	o := out.(*platform.TotalReconOutput)
	o.Stmtinfo.StmtRslt = platform.StmtBalanced
	if n != d.FixmedinsSetlCnt || medfee != d.MedfeeSumamt.Money() {
		o.Stmtinfo.StmtRslt = platform.StmtPlatformMore
	}
	return nil
}

func (f *ledgerPlatform) detail(_ context.Context, r platform.DetailRecon) ([]platform.ReconResultRow, error) {
	f.details = append(f.details, r)
	in := map[string]bool{}
	for _, row := range r.Rows {
		in[row.SetlID] = true
	}
	var out []platform.ReconResultRow
	for _, h := range f.holds {
		if !in[h.SetlID] {
			out = append(out, platform.ReconResultRow{SetlID: h.SetlID, Msgid: "MSG-" + h.SetlID, StmtRslt: platform.StmtPlatformMore})
		}
	}
	return out, nil
}

// A day with a 310 and a 390 settlement, a 310 settlement only the platform holds
// (a late booking), and a stay's settlement (clr_type 21). 3202 is one exchange for
// the day with every settlement, so only the late one comes back as a difference
// (a 310-only file made the 390 and the stay's settlements false differences).
func TestDetailRecon_OneFileForTheDay(t *testing.T) {
	emp := &settle.Split{SetlID: "S310", MedfeeSumamt: settle.MustMoney("46.00"), FundPaySumamt: settle.MustMoney("20.00"), AcctPay: settle.MustMoney("10.00"), PsnCashPay: settle.MustMoney("16.00")}
	res := &settle.Split{SetlID: "S390", MedfeeSumamt: settle.MustMoney("30.00"), FundPaySumamt: settle.MustMoney("15.00"), PsnCashPay: settle.MustMoney("15.00")}
	stay := &settle.Split{SetlID: "Z310", MedfeeSumamt: settle.MustMoney("1000.00"), FundPaySumamt: settle.MustMoney("850.00"), AcctPay: settle.MustMoney("50.00"), PsnCashPay: settle.MustMoney("100.00")}
	gone := &settle.Split{SetlID: "C390", MedfeeSumamt: settle.MustMoney("5.00"), FundPaySumamt: settle.MustMoney("2.00"), PsnCashPay: settle.MustMoney("3.00")}
	bills := []Bill{
		{BillNo: "MZ1", Insutype: "310", Settlement: emp, MdtrtID: "M1", PsnNo: "P1"},
		{BillNo: "MZ2", Insutype: "390", Settlement: res, MdtrtID: "M2", PsnNo: "P2"},
		{BillNo: "ZY1", Insutype: "310", Settlement: stay, MdtrtID: "Z1", PsnNo: "P1", ClrType: platform.ClrTypeInpatient},
		{BillNo: "MZ3", Insutype: "390", Settlement: gone, MdtrtID: "M3", PsnNo: "P2", Cancelled: true},
	}
	fp := &ledgerPlatform{
		holds: []platform.ReconFileRow{
			{SetlID: "S310", MedfeeSumamt: platform.AmountOf(emp.MedfeeSumamt)},
			{SetlID: "LATE", MedfeeSumamt: platform.AmountOf(settle.MustMoney("12.00"))},
			{SetlID: "S390", MedfeeSumamt: platform.AmountOf(res.MedfeeSumamt)},
			{SetlID: "Z310", MedfeeSumamt: platform.AmountOf(stay.MedfeeSumamt)},
			{SetlID: "C390", MedfeeSumamt: platform.AmountOf(gone.MedfeeSumamt)},
		},
		kind: map[string]string{"S310": "310/11", "LATE": "310/11", "S390": "390/11", "Z310": "310/21", "C390": "cancelled"},
	}
	r := &Reconciler{Bills: func(string) ([]Bill, error) { return bills, nil }, Call: fp.call, DetailRecon: fp.detail, Meta: meta,
		Online: func() bool { return true }, SetlOptins: "330100"}
	rep, err := r.Reconcile(context.Background(), "2026-11-23", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(fp.details) != 1 {
		t.Fatalf("3202 exchanges: %d; want 1 for the day", len(fp.details))
	}
	d := fp.details[0]
	if len(d.Rows) != 4 || d.Data.FixmedinsSetlCnt != 4 {
		t.Errorf("3202 file rows %d, fixmedins_setl_cnt %d; want 4 (every settlement of the day, the cancelled one too)", len(d.Rows), d.Data.FixmedinsSetlCnt)
	}
	for _, row := range d.Rows {
		if want := map[string]string{"C390": "1"}[row.SetlID]; row.RefdSetlFlag != want && !(want == "" && row.RefdSetlFlag == "0") {
			t.Errorf("row %s refd_setl_flag %q; want %q", row.SetlID, row.RefdSetlFlag, want)
		}
	}
	if got, want := d.Data.MedfeeSumamt.Money(), settle.MustMoney("1076.00"); got != want {
		t.Errorf("3202 medfee_sumamt %s; want %s (every standing settlement of the day)", got, want)
	}
	if got, want := d.Data.FundPaySumamt.Money(), settle.MustMoney("885.00"); got != want {
		t.Errorf("3202 fund_pay_sumamt %s; want %s", got, want)
	}
	if len(rep.Diffs) != 1 || rep.Diffs[0].SetlID != "LATE" {
		t.Fatalf("day's differences %+v; want only the late booking", rep.Diffs)
	}
	for _, tot := range rep.Totals {
		want := 0
		if tot.Insutype == "310" && tot.ClrType == platform.ClrTypeOutpatient {
			want = 1
		}
		if len(tot.Diffs) != want {
			t.Errorf("total %s/%s differences %+v; want %d", tot.Insutype, tot.ClrType, tot.Diffs, want)
		}
	}
	if rep.Clean {
		t.Error("report clean with a difference")
	}
}
