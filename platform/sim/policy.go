package sim

import (
	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
)

// feeSplit is how one fee line divides by the catalogue (2204's result row).
type feeSplit struct {
	Amount  settle.Money // det_item_fee_sumamt
	Fulamt  settle.Money // fulamt_ownpay_amt: the whole of a 丙 item
	Overlmt settle.Money // overlmt_amt: above the price ceiling × cnt
	Preself settle.Money // preselfpay_amt: 乙 × selfpay_prop (of the part within the ceiling)
	Inscp   settle.Money // inscp_scp_amt: what the fund's ratio applies to
}

// splitFee classifies one fee line: 丙 is paid in full by the patient; the part of a
// price above the ceiling is over-limit self-pay; of the rest, a 乙 item's selfpay_prop
// is paid first (rounded half-up to 0.01); what remains is within the policy scope.
func splitFee(it CatalogueItem, amount settle.Money, cnt settle.Qty, pric settle.Price) feeSplit {
	s := feeSplit{Amount: amount}
	if it.Class == ClassC {
		s.Fulamt = amount
		return s
	}
	base := amount
	if it.PriceCeiling > 0 && pric > it.PriceCeiling {
		if within := settle.LineAmount(cnt, it.PriceCeiling); within < amount {
			s.Overlmt = amount - within
			base = within
		}
	}
	if it.Class == ClassB {
		s.Preself = base.MulRatio(it.SelfpayProp.Decimal)
	}
	s.Inscp = base - s.Preself
	return s
}

// splitInput is what a settlement's arithmetic depends on.
type splitInput struct {
	Medfee, Fulamt, Overlmt, Preself settle.Money
	DedcLeft                         settle.Money // deductible not yet used this year
	CapLeft                          settle.Money // annual cap not yet used this year
	Ratio                            decimal.Decimal
	Balance                          settle.Money // personal account before
	HasAccount                       bool         // employees (310) only
	UseAccount                       bool         // acct_used_flag "1"
}

// computeSplit is the settlement arithmetic of docs/simulator.md, exact in fen:
//
//	inscp_scp_amt   = medfee - fulamt_ownpay - overlmt_selfpay - preselfpay
//	act_pay_dedc    = min(deductible left this year, inscp)
//	hifp_pay        = min((inscp - dedc) × ratio rounded half-up, annual cap left)
//	fund_pay_sumamt = hifp_pay
//	psn_part_amt    = medfee - fund_pay_sumamt
//	acct_pay        = min(balance, psn_part) when the account is used, else 0
//	psn_cash_pay    = psn_part - acct_pay;  balc = balance - acct_pay
func computeSplit(in splitInput) settle.Split {
	s := settle.Split{
		MedfeeSumamt:    in.Medfee,
		FulamtOwnpayAmt: in.Fulamt,
		OverlmtSelfpay:  in.Overlmt,
		PreselfpayAmt:   in.Preself,
	}
	s.InscpScpAmt = in.Medfee - in.Fulamt - in.Overlmt - in.Preself
	if s.InscpScpAmt < 0 {
		s.InscpScpAmt = 0
	}
	s.ActPayDedc = min(max(in.DedcLeft, 0), s.InscpScpAmt)
	s.HifpPay = (s.InscpScpAmt - s.ActPayDedc).MulRatio(in.Ratio)
	s.HifpPay = min(s.HifpPay, max(in.CapLeft, 0))
	s.PoolPropSelfpay = in.Ratio.String()
	s.FundPaySumamt = s.HifpPay
	s.PsnPartAmt = in.Medfee - s.FundPaySumamt
	if in.HasAccount && in.UseAccount {
		s.AcctPay = min(max(in.Balance, 0), s.PsnPartAmt)
	}
	s.PsnCashPay = s.PsnPartAmt - s.AcctPay
	s.Balc = in.Balance - s.AcctPay
	return s
}

// sameCity reports whether two region codes are in the same prefecture (their first
// four digits agree); a person insured elsewhere is a cross-region (异地) patient.
func sameCity(a, b string) bool {
	return len(a) >= 4 && len(b) >= 4 && a[:4] == b[:4]
}
