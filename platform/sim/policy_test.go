package sim

import (
	"testing"

	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

func TestSplitFee(t *testing.T) {
	a := CatalogueItem{Class: ClassA}
	b := CatalogueItem{Class: ClassB, SelfpayProp: platform.RatioOf(decimal.RequireFromString("0.15"))}
	c := CatalogueItem{Class: ClassC}
	aCeil := CatalogueItem{Class: ClassA, PriceCeiling: settle.Price(25_000000)}
	bCeil := CatalogueItem{Class: ClassB, SelfpayProp: platform.RatioOf(decimal.RequireFromString("0.10")), PriceCeiling: settle.Price(25_000000)}
	tests := []struct {
		name                                   string
		it                                     CatalogueItem
		cnt, pric                              string
		fulamt, overlmt, preself, inscp, total string
	}{
		{"甲 all in scope", a, "2", "12.50", "0.00", "0.00", "0.00", "25.00", "25.00"},
		{"乙 share rounded half-up", b, "1", "1.25", "0.00", "0.00", "0.19", "1.06", "1.25"},
		{"丙 all self-paid", c, "3", "100", "300.00", "0.00", "0.00", "0.00", "300.00"},
		{"甲 above the ceiling", aCeil, "2", "30", "0.00", "10.00", "0.00", "50.00", "60.00"},
		{"甲 at the ceiling", aCeil, "1", "25", "0.00", "0.00", "0.00", "25.00", "25.00"},
		{"乙 above the ceiling pays its share of the part within", bCeil, "2", "30", "0.00", "10.00", "5.00", "45.00", "60.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, p := mustQty(t, tt.cnt), mustPrice(t, tt.pric)
			amount := settle.LineAmount(q, p)
			got := splitFee(tt.it, amount, q, p)
			want := feeSplit{Amount: money(tt.total), Fulamt: money(tt.fulamt), Overlmt: money(tt.overlmt), Preself: money(tt.preself), Inscp: money(tt.inscp)}
			if got != want {
				t.Errorf("got %+v; want %+v", got, want)
			}
			if got.Fulamt+got.Overlmt+got.Preself+got.Inscp != got.Amount {
				t.Errorf("parts %+v do not add up to %s", got, got.Amount)
			}
		})
	}
}

func TestComputeSplit(t *testing.T) {
	r := decimal.RequireFromString
	tests := []struct {
		name string
		in   splitInput
		// want: dedc, hifp, psn_part, acct, cash, balc
		dedc, hifp, part, acct, cash, balc string
	}{
		{"deductible swallows a small bill",
			splitInput{Medfee: money("100.00"), DedcLeft: money("200.00"), CapLeft: money("1000"), Ratio: r("0.8"), Balance: money("50"), HasAccount: true, UseAccount: true},
			"100.00", "0.00", "100.00", "50.00", "50.00", "0.00"},
		{"deductible partly left, 甲乙丙 mix",
			splitInput{Medfee: money("607.00"), Fulamt: money("300.00"), Preself: money("28.20"), DedcLeft: money("200.00"), CapLeft: money("400000"), Ratio: r("0.80"), Balance: money("2000"), HasAccount: true, UseAccount: true},
			"200.00", "63.04", "543.96", "543.96", "0.00", "1456.04"},
		{"deductible used up",
			splitInput{Medfee: money("25.00"), CapLeft: money("400000"), Ratio: r("0.80"), Balance: money("1456.04"), HasAccount: true, UseAccount: true},
			"0.00", "20.00", "5.00", "5.00", "0.00", "1451.04"},
		{"ratio rounds half-up",
			splitInput{Medfee: money("10.01"), CapLeft: money("1000"), Ratio: r("0.85"), HasAccount: true},
			"0.00", "8.51", "1.50", "0.00", "1.50", "0.00"},
		{"annual cap left limits the fund",
			splitInput{Medfee: money("1000.00"), CapLeft: money("100.00"), Ratio: r("0.9"), Balance: money("10"), HasAccount: true, UseAccount: true},
			"0.00", "100.00", "900.00", "10.00", "890.00", "0.00"},
		{"annual cap used up",
			splitInput{Medfee: money("50.00"), CapLeft: 0, Ratio: r("0.9"), HasAccount: true},
			"0.00", "0.00", "50.00", "0.00", "50.00", "0.00"},
		{"account not used",
			splitInput{Medfee: money("100.00"), CapLeft: money("1000"), Ratio: r("0.5"), Balance: money("500"), HasAccount: true, UseAccount: false},
			"0.00", "50.00", "50.00", "0.00", "50.00", "500.00"},
		{"resident has no account even when asked",
			splitInput{Medfee: money("100.00"), DedcLeft: money("10.00"), CapLeft: money("1000"), Ratio: r("0.6"), Balance: money("500"), HasAccount: false, UseAccount: true},
			"10.00", "54.00", "46.00", "0.00", "46.00", "500.00"},
		{"zero balance",
			splitInput{Medfee: money("100.00"), CapLeft: money("1000"), Ratio: r("0.8"), HasAccount: true, UseAccount: true},
			"0.00", "80.00", "20.00", "0.00", "20.00", "0.00"},
		{"all 丙: nothing in scope",
			splitInput{Medfee: money("650.00"), Fulamt: money("650.00"), DedcLeft: money("200"), CapLeft: money("1000"), Ratio: r("0.8"), Balance: money("1000"), HasAccount: true, UseAccount: true},
			"0.00", "0.00", "650.00", "650.00", "0.00", "350.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := computeSplit(tt.in)
			got := []settle.Money{s.ActPayDedc, s.HifpPay, s.PsnPartAmt, s.AcctPay, s.PsnCashPay, s.Balc}
			want := []settle.Money{money(tt.dedc), money(tt.hifp), money(tt.part), money(tt.acct), money(tt.cash), money(tt.balc)}
			for i, name := range []string{"act_pay_dedc", "hifp_pay", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc"} {
				if got[i] != want[i] {
					t.Errorf("%s = %s; want %s", name, got[i], want[i])
				}
			}
			if s.FundPaySumamt+s.PsnPartAmt != s.MedfeeSumamt || s.AcctPay+s.PsnCashPay != s.PsnPartAmt {
				t.Errorf("identities broken: %+v", s)
			}
			if s.InscpScpAmt != tt.in.Medfee-tt.in.Fulamt-tt.in.Overlmt-tt.in.Preself {
				t.Errorf("inscp_scp_amt = %s", s.InscpScpAmt)
			}
		})
	}
}

func TestSameCity(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{{"330100", "330102", true}, {"330100", "310000", false}, {"330100", "330200", false}, {"", "330100", false}} {
		if got := sameCity(tt.a, tt.b); got != tt.want {
			t.Errorf("sameCity(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
