package offline

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
)

// tableCatalogue is a catalogue of fixed splits per code.
type tableCatalogue map[string][3]settle.Money

func (c tableCatalogue) SplitItem(it settle.Item, _ string, _ time.Time) (own, over, pre settle.Money, ok bool) {
	s, ok := c[it.MedListCodg]
	return s[0], s[1], s[2], ok
}

// TestEstimateSplit_Catalogue: an item never seen settled takes the catalogue's split
// (over the cap and self-pay first both leave the policy scope); an item seen settled
// keeps what the platform said; an item neither seen nor in the catalogue is own pay.
func TestEstimateSplit_Catalogue(t *testing.T) {
	l := NewLearned()
	l.SetItem("SEEN", ItemClass{SelfpayProp: "0.10"})
	l.SetRatio(RatioKey("330100", "310", "11"), decimal.RequireFromString("0.80"))
	b := &settle.Bill{MedType: "11", Total: settle.MustMoney("700.00"), Items: []settle.Item{
		{MedListCodg: "SEEN", Amount: settle.MustMoney("100.00")},
		{MedListCodg: "CAPPED", Amount: settle.MustMoney("300.00")},
		{MedListCodg: "NOWHERE", Amount: settle.MustMoney("50.00")},
		{MedListCodg: "CLASSC", Amount: settle.MustMoney("250.00")},
	}}
	cat := tableCatalogue{
		"CAPPED": {0, settle.MustMoney("40.00"), settle.MustMoney("26.00")},
		"CLASSC": {settle.MustMoney("250.00"), 0, 0},
		"SEEN":   {settle.MustMoney("100.00"), 0, 0}, // not asked: the platform's word wins
	}
	in := Input{Bill: b, Insutype: "310", Insuplc: "330100", Known: true, Catalogue: cat}
	s := EstimateSplit(in, l, Policy{DefaultRatio: decimal.RequireFromString("0.70")})
	if s.FulamtOwnpayAmt != settle.MustMoney("300.00") || s.OverlmtSelfpay != settle.MustMoney("40.00") || s.PreselfpayAmt != settle.MustMoney("36.00") {
		t.Fatalf("split %+v; want own 300.00 (丙 + unknown), over 40.00, preself 36.00", s)
	}
	if s.InscpScpAmt != settle.MustMoney("324.00") || s.HifpPay != settle.MustMoney("259.20") || s.PsnPartAmt != settle.MustMoney("440.80") {
		t.Fatalf("split %+v; want inscp 324.00, fund 259.20, patient 440.80", s)
	}
	in.Catalogue = nil
	if s := EstimateSplit(in, l, Policy{}); s.FulamtOwnpayAmt != settle.MustMoney("600.00") {
		t.Fatalf("without a catalogue: own %s; want 600.00 (every unseen item)", s.FulamtOwnpayAmt)
	}
}

func TestLearned_Clone(t *testing.T) {
	l := NewLearned()
	l.SetItem("A", ItemClass{OwnPay: true})
	c := l.Clone()
	l.SetItem("B", ItemClass{})
	if _, ok := c.Item("B"); ok {
		t.Fatal("the clone sees an item learned after it")
	}
	if it, ok := c.Item("A"); !ok || !it.OwnPay {
		t.Fatal("the clone lost an item learned before it")
	}
}
