package recon

import (
	"context"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// 3202's cash_payamt (现金支付金额) is Σ psn_cash_pay of the settlements that
// stand, not medfee − fund (that counts the account payment, acct_pay, as cash).
func TestDetailRecon_CashPayamtIsPsnCashPay(t *testing.T) {
	emp := &settle.Split{SetlID: "S310", MedfeeSumamt: settle.MustMoney("46.00"), FundPaySumamt: settle.MustMoney("20.00"),
		PsnPartAmt: settle.MustMoney("26.00"), AcctPay: settle.MustMoney("10.00"), PsnCashPay: settle.MustMoney("16.00")}
	res := &settle.Split{SetlID: "S390", MedfeeSumamt: settle.MustMoney("30.00"), FundPaySumamt: settle.MustMoney("15.00"),
		PsnPartAmt: settle.MustMoney("15.00"), PsnCashPay: settle.MustMoney("15.00")}
	gone := &settle.Split{SetlID: "C390", MedfeeSumamt: settle.MustMoney("5.00"), FundPaySumamt: settle.MustMoney("2.00"),
		PsnPartAmt: settle.MustMoney("3.00"), PsnCashPay: settle.MustMoney("3.00")}
	bills := []Bill{
		{BillNo: "MZ1", Insutype: "310", Settlement: emp},
		{BillNo: "MZ2", Insutype: "390", Settlement: res},
		{BillNo: "MZ3", Insutype: "390", Settlement: gone, Cancelled: true},
	}
	// The platform holds one more 310 settlement: 3201 does not balance, 3202 runs.
	fp := &fakePlatform{holds: map[string]int{"310": 2}}
	var sent []settle.Money
	detail := func(ctx context.Context, d platform.DetailRecon) ([]platform.ReconResultRow, error) {
		sent = append(sent, d.Data.CashPayamt.Money())
		return fp.detail(ctx, d)
	}
	r := &Reconciler{Bills: func(string) ([]Bill, error) { return bills, nil }, Call: fp.call, DetailRecon: detail, Meta: meta,
		Online: func() bool { return true }, SetlOptins: "330100"}
	if _, err := r.Reconcile(context.Background(), "2026-11-23", true); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 {
		t.Fatalf("3202 exchanges: %d; want 1", len(sent))
	}
	if got, want := sent[0], settle.MustMoney("31.00"); got != want {
		t.Errorf("3202 cash_payamt %s; want %s (Σ psn_cash_pay 16.00 + 15.00, the cancelled settlement and the account payment left out)", got, want)
	}
}
