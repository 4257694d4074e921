package recon_test

import (
	"bytes"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/recon"
)

// The cashier office's CSV tells a stay whose share comes out of the deposit from a
// bill whose patient left owing money, and no cell starts a spreadsheet formula.
func TestWriteCSV_DepositAndFormulas(t *testing.T) {
	real := settle.MustMoney("1200.50")
	rep := &recon.Reconciliation{Date: "2026-12-01", Differences: []recon.DifferenceRow{
		{BillNo: "MZ202612010001", Window: "W01", State: "settled", SetlID: "=1+1", Total: settle.MustMoney("25.00"),
			Collected: settle.MustMoney("5.00"), RealCash: ptr(settle.MustMoney("10.00")), AmountDue: settle.MustMoney("5.00")},
		{BillNo: "ZY202612010001", Window: "ZY", State: "settled", SetlID: "ST1", Total: settle.MustMoney("8000.00"),
			RealCash: &real, AmountDue: real, Deposit: true},
	}}
	var buf bytes.Buffer
	if err := recon.WriteCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	want := "date,bill_no,window,state,setl_id,medfee_sumamt,collected,psn_cash_pay,refund,amount_due,deposit\n" +
		"2026-12-01,MZ202612010001,W01,settled,'=1+1,25.00,5.00,10.00,0.00,5.00,0\n" +
		"2026-12-01,ZY202612010001,ZY,settled,ST1,8000.00,0.00,1200.50,0.00,1200.50,1\n"
	if got := buf.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// The day is the Beijing settlement day; no cell says a time another way.
	if got := settle.StrayTimes(buf.String()); len(got) != 0 {
		t.Errorf("CSV says times %q; want none but as settle.BeijingTime says them", got)
	}
}

func ptr(m settle.Money) *settle.Money { return &m }
