package settle

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// The issue's attack: qty 1855986.25 × unit_price 99390521205.152 is
// 184467440737095516.16… yuan, which in 64-bit fen wraps around to exactly 2500.
func TestLineAmountChecked_IssueOverflow(t *testing.T) {
	q, err := ParseQty("1855986.25")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePrice("99390521205.152")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := LineAmountChecked(q, p); !errors.Is(err, ErrOverflow) {
		t.Errorf("LineAmountChecked: got %s, %v; want ErrOverflow", m, err)
	}
	if got := LineAmount(q, p); got != MaxMoney {
		t.Errorf("LineAmount: got %s; want it saturated at MaxMoney, never the wrapped 25.00", got)
	}
	b := validBill()
	b.Items[0].Qty, b.Items[0].UnitPrice = q, p // amount and total stay 25.00
	assertProblem(t, b.Validate(), "items[0].amount", "line 1")
}

func TestLineAmountChecked(t *testing.T) {
	for _, tc := range []struct {
		q, p, want string
	}{
		{"2", "12.50", "25.00"},
		{"3", "0.335", "1.01"},      // 1.005 rounds half-up
		{"1.5", "0.003333", "0.00"}, // 0.0049995
		{"0.0001", "0.000001", "0.00"},
		{"10000", "1000000", "10000000000.00"},
	} {
		q, _ := ParseQty(tc.q)
		p, _ := ParsePrice(tc.p)
		got, err := LineAmountChecked(q, p)
		if err != nil || got.String() != tc.want {
			t.Errorf("LineAmountChecked(%s, %s): got %s, %v; want %s", tc.q, tc.p, got, err, tc.want)
		}
	}
}

func TestMoney_AddChecked(t *testing.T) {
	for _, tc := range []struct {
		a, b     Money
		want     Money
		overflow bool
	}{
		{1, 2, 3, false},
		{MaxMoney, 0, MaxMoney, false},
		{MaxMoney, 1, 0, true},
		{MinMoney, -1, 0, true},
		{MinMoney, MaxMoney, -1, false},
		{-5, 3, -2, false},
	} {
		got, err := tc.a.AddChecked(tc.b)
		if tc.overflow != errors.Is(err, ErrOverflow) || !tc.overflow && got != tc.want {
			t.Errorf("%d.AddChecked(%d): got %d, %v; want %d (overflow %v)", tc.a, tc.b, got, err, tc.want, tc.overflow)
		}
	}
}

func TestMoneyFromDecimal_Saturates(t *testing.T) {
	q, _ := ParseQty("10000000000000") // 1e13 units, the most ParseQty takes
	p, _ := ParsePrice("-100000000000")
	if got := LineAmount(q, p); got != MinMoney {
		t.Errorf("LineAmount: got %d; want MinMoney", got)
	}
	if got := Money(math.MaxInt64 / 2).MulRatio(MustMoney("3").Decimal()); got != MaxMoney {
		t.Errorf("MulRatio: got %d; want MaxMoney", got)
	}
}

// A bill whose total is off by one fen either way is refused; the exact one passes.
func TestBill_Validate_TotalOneFen(t *testing.T) {
	for _, delta := range []Money{-1, +1} {
		b := validBill()
		b.Total += delta
		assertProblem(t, b.Validate(), "total", "")
	}
	b := validBill()
	b.Items = append(b.Items, Item{Line: 2, HISCode: "YP0002", Qty: 30000, UnitPrice: 335000, Amount: 101}) // 3 × 0.335 = 1.005 → 1.01
	b.Total += 101
	if err := b.Validate(); err != nil {
		t.Errorf("exact bill: got %v; want nil", err)
	}
	for _, delta := range []Money{-1, +1} {
		b2 := b
		b2.Items = append([]Item(nil), b.Items...)
		b2.Items[1].Amount += delta
		b2.Total += delta
		assertProblem(t, b2.Validate(), "items[1].amount", "")
	}
}

// Identifiers follow one rule; free text must be plain: formulas, bidi overrides, C1
// controls and line separators are refused wherever a bill comes from.
func TestBill_Validate_Identifiers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(b *Bill)
		field  string
	}{
		{"Formula", func(b *Bill) { b.BillNo = "=powershell|'-c calc'!A1" }, "bill_no"},
		{"Plus", func(b *Bill) { b.BillNo = "+1" }, "bill_no"},
		{"At", func(b *Bill) { b.BillNo = "@SUM(A1)" }, "bill_no"},
		{"Space", func(b *Bill) { b.BillNo = "MZ 1" }, "bill_no"},
		{"RLO", func(b *Bill) { b.BillNo = "MZ\u202e1" }, "bill_no"},
		{"C1", func(b *Bill) { b.BillNo = "MZ\u00851" }, "bill_no"},
		{"LineSeparator", func(b *Bill) { b.BillNo = "MZ\u20281" }, "bill_no"},
		{"TooLong", func(b *Bill) { b.BillNo = strings.Repeat("A", 31) }, "bill_no"},
		{"Huge", func(b *Bill) { b.BillNo = strings.Repeat("A", 40<<10) }, "bill_no"},
		{"WindowFormula", func(b *Bill) { b.Window = "-W01" + "\t" }, "window"},
		{"NameRLO", func(b *Bill) { b.Items[0].Name = "药\u202egnp.exe" }, "items[0].name"},
		{"NameC1", func(b *Bill) { b.Items[0].Name = "药\u009b" }, "items[0].name"},
		{"PsnNameSeparator", func(b *Bill) { b.Patient.PsnName = "张\u2029伟" }, "patient.psn_name"},
		{"DeptNameNewline", func(b *Bill) { b.Dept.Name = "内科\r\n=1" }, "dept.name"},
		{"DiagnosisBOM", func(b *Bill) { b.Diagnoses = []Code{{Code: "I10\ufeff"}} }, "diagnoses[0].code"},
		{"CertNoC1", func(b *Bill) { b.Patient.MdtrtCertNo = "A1\u0080" }, "patient.mdtrt_cert_no"},
		{"HISCodeRLO", func(b *Bill) { b.Items[0].HISCode = "YP\u202e1" }, "items[0].his_code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := validBill()
			tc.change(&b)
			assertProblem(t, b.Validate(), tc.field, "")
			if tc.name == "Huge" {
				if err := b.Validate(); len(err.Error()) > 300 {
					t.Errorf("error echoes the whole 40 KB value: %d bytes", len(err.Error()))
				}
			}
		})
	}
	b := validBill()
	b.BillNo, b.Window = "MZ-2026.11_23", "W01"
	b.Items[0].Name, b.Patient.PsnName = "硝苯地平控释片（30mg）", "欧阳·娜娜"
	if err := b.Validate(); err != nil {
		t.Errorf("plain bill: got %v; want nil", err)
	}
}

func assertProblem(t *testing.T, err error, field, reasonHas string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v; want a *ValidationError naming %s", err, field)
	}
	for _, f := range ve.Fields {
		if f.Field == field && strings.Contains(f.Reason, reasonHas) {
			return
		}
	}
	t.Errorf("problems %v do not name %s (with %q)", ve.Fields, field, reasonHas)
}

// FuzzLineAmount checks the exact, checked product against math/big: it is either
// the correctly rounded value or ErrOverflow, never a wrapped number.
func FuzzLineAmount(f *testing.F) {
	f.Add(int64(18559862500), int64(99390521205152000))
	f.Add(int64(20000), int64(12500000))
	f.Add(int64(30000), int64(335000))
	f.Add(int64(-1), int64(math.MaxInt64))
	f.Add(int64(math.MinInt64), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, q, p int64) {
		got, err := LineAmountChecked(Qty(q), Price(p))
		// exact: q·p / 10^8 fen, rounded half away from zero
		prod := new(big.Int).Mul(big.NewInt(q), big.NewInt(p))
		neg := prod.Sign() < 0
		prod.Abs(prod)
		quo, rem := new(big.Int).QuoRem(prod, big.NewInt(100_000_000), new(big.Int))
		if rem.Cmp(big.NewInt(50_000_000)) >= 0 {
			quo.Add(quo, big.NewInt(1))
		}
		if neg {
			quo.Neg(quo)
		}
		if !quo.IsInt64() {
			if !errors.Is(err, ErrOverflow) {
				t.Fatalf("LineAmountChecked(%d, %d) = %d, %v; want ErrOverflow (exact %s)", q, p, got, err, quo)
			}
			return
		}
		if err != nil || int64(got) != quo.Int64() {
			t.Fatalf("LineAmountChecked(%d, %d) = %d, %v; want %s", q, p, got, err, quo)
		}
	})
}

// FuzzBillValidate: whatever Validate accepts has an identifier bill_no, plain-text
// names and amounts that are the exact product of their quantity and price.
func FuzzBillValidate(f *testing.F) {
	f.Add("MZ1", "药", "2", "12.50", "25.00")
	f.Add("=1+1", "x", "1", "1", "1.00")
	f.Add("MZ\u202e1", "\u0085", "1855986.25", "99390521205.152", "25.00")
	f.Add("B", "a\u2028b", "3", "0.335", "1.01")
	f.Fuzz(func(t *testing.T, billNo, name, qty, price, amount string) {
		b := validBill()
		b.BillNo, b.Items[0].Name = billNo, name
		var err error
		if b.Items[0].Qty, err = ParseQty(qty); err != nil {
			return
		}
		if b.Items[0].UnitPrice, err = ParsePrice(price); err != nil {
			return
		}
		if b.Items[0].Amount, err = ParseMoney(amount); err != nil {
			return
		}
		b.Total = b.Items[0].Amount
		if b.Validate() != nil {
			return
		}
		if !ValidIdentifier(billNo) || !PlainText(name) {
			t.Fatalf("accepted bill_no %q name %q", billNo, name)
		}
		exact := b.Items[0].Qty.Decimal().Mul(b.Items[0].UnitPrice.Decimal()).Round(2)
		if !exact.Equal(b.Items[0].Amount.Decimal()) {
			t.Fatalf("accepted amount %s for %s × %s = %s", amount, qty, price, exact)
		}
	})
}

// The same overflow in an inpatient fee line is refused naming the line.
func TestFeeBatch_Validate_Overflow(t *testing.T) {
	q, _ := ParseQty("1855986.25")
	p, _ := ParsePrice("99390521205.152")
	b := FeeBatch{IptNo: "ZY1", BatchNo: "B1", Items: []FeeItem{{Item: Item{Line: 1, HISCode: "YP0001", Name: "x", Qty: q, UnitPrice: p, Amount: 2500}, OccurredAt: time.Now()}}}
	assertProblem(t, b.Validate(), "items[0].amount", "line 1")
}
