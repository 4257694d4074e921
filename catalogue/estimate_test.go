package catalogue

import (
	"context"
	"testing"

	settle "github.com/settle-agent/settle-agent"
)

// TestEstimator_SplitItem: the catalogue's split of a line is the platform's 2204
// arithmetic (the simulator's splitFee) for 甲, 乙 and 丙 items, above and within a
// price cap.
func TestEstimator_SplitItem(t *testing.T) {
	e := mustSimEnv(t)
	s := mustStore(t)
	if _, err := fileKinds(t, e, s, SyncOptions{Queries: Queries}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	est := Estimator{Store: s, Admdvs: "330100"}
	line := func(code string, qty int64, price string) settle.Item {
		p, err := settle.ParsePrice(price)
		if err != nil {
			t.Fatal(err)
		}
		q := settle.Qty(qty * 10000)
		return settle.Item{MedListCodg: code, Qty: q, UnitPrice: p, Amount: settle.LineAmount(q, p)}
	}
	cases := []struct {
		name           string
		it             settle.Item
		own, over, pre string
		ok             bool
	}{
		{"甲", line("250101001000000", 2, "20.00"), "0.00", "0.00", "0.00", true},
		{"乙 0.10", line("XC09CAE010A001010100003", 10, "1.50"), "0.00", "0.00", "1.50", true},
		{"丙", line("XL03AXT010B002010100011", 1, "650.00"), "650.00", "0.00", "0.00", true},
		{"乙 over the cap 260", line("210102015000000", 1, "300.00"), "0.00", "40.00", "26.00", true},
		{"unknown", line("NOPE", 1, "1.00"), "0.00", "0.00", "0.00", false},
	}
	for _, c := range cases {
		own, over, pre, ok := est.SplitItem(c.it, "310", testNow)
		if ok != c.ok || own.String() != c.own || over.String() != c.over || pre.String() != c.pre {
			t.Errorf("%s: own %s over %s pre %s ok %v; want %s %s %s %v", c.name, own, over, pre, ok, c.own, c.over, c.pre, c.ok)
		}
	}
}
