package recon

import (
	"context"
	"strings"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// TestReconcile_InpatientTotalsApart: a stay's settlement (clr_type 21) is totalled
// and checked with the platform apart from the outpatient ones of the same insutype,
// and a stay settled from the queue is listed with its own share due from the deposit.
func TestReconcile_InpatientTotalsApart(t *testing.T) {
	var asked []string
	call := func(_ context.Context, infno string, in, out any) error {
		if infno == platform.InfnoTotalRecon {
			d := in.(platform.TotalReconInput).Data
			asked = append(asked, d.Insutype+"/"+d.ClrType+"/"+d.MedfeeSumamt.String())
			out.(*platform.TotalReconOutput).Stmtinfo.StmtRslt = platform.StmtMatch
		}
		return nil
	}
	out := &settle.Split{SetlID: "ST1", MedfeeSumamt: settle.MustMoney("46.00"), FundPaySumamt: settle.MustMoney("20.00"), PsnCashPay: settle.MustMoney("26.00")}
	stay := &settle.Split{SetlID: "ZS1", MedfeeSumamt: settle.MustMoney("1560.00"), FundPaySumamt: settle.MustMoney("646.00"), PsnCashPay: settle.MustMoney("914.00"), ClrType: "21"}
	bills := []Bill{
		{BillNo: "MZ1", Insutype: "310", Settlement: out, SettleMsgid: "M1"},
		{BillNo: "ZY1", Insutype: "310", Settlement: stay, SettleMsgid: "M2", ClrType: platform.ClrTypeInpatient, Deposit: true, Offline: true},
	}
	r := &Reconciler{Bills: func(string) ([]Bill, error) { return bills, nil }, Call: call, Online: func() bool { return true }, SetlOptins: "330100"}
	rep, err := r.Reconcile(context.Background(), "2026-11-23", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(asked, ","); got != "310/11/46.00,310/21/1560.00,390/11/0.00" {
		t.Errorf("3201 sent: %s; want outpatient and inpatient totals of 310 apart, and 390", got)
	}
	if len(rep.Differences) != 1 || !rep.Differences[0].Deposit || rep.Differences[0].AmountDue != settle.MustMoney("914.00") {
		t.Errorf("differences %+v; want the stay's own share 914.00 due from the deposit", rep.Differences)
	}
}
