package settle

import (
	"encoding/json"
	"errors"
	"testing"
)

// Issue 29 finding 8: a bill of total 0.00 (qty 0.0001 × unit_price 0.000001) was
// accepted and sent to the platform. A bill must add up to more than 0.00.
func TestBill_Validate_ZeroTotalRefused(t *testing.T) {
	b := Bill{BillNo: "MZ1", Window: "W01", MedType: MedTypeOutpatient,
		Patient: Patient{MdtrtCertType: CertIDNumber, MdtrtCertNo: "110105194912310025"},
		Items:   []Item{{Line: 1, HISCode: "YP1", Name: "x", Qty: mustQty(t, "0.0001"), UnitPrice: mustPrice(t, "0.000001")}}}
	err := b.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "total" {
		t.Errorf("a bill of total 0.00: got %v; want one problem, in total", err)
	}
}

// Issue 29 finding 8: "-0.00" was taken as an amount from the hospital. No cashier
// system writes zero so: refused in JSON (the API) and by ParseInputMoney (HL7, CSV).
func TestInputMoney_NegativeZeroRefused(t *testing.T) {
	for _, s := range []string{"-0", "-0.00", "-0.000", "-00.0"} {
		if _, err := ParseInputMoney(s); !errors.Is(err, ErrDecimal) {
			t.Errorf("ParseInputMoney(%q): got %v; want ErrDecimal", s, err)
		}
		var m Money
		if err := json.Unmarshal([]byte(`"`+s+`"`), &m); !errors.Is(err, ErrDecimal) {
			t.Errorf("Money from JSON %q: got %v; want ErrDecimal", s, err)
		}
	}
	for _, s := range []string{"0", "0.00", "-0.01"} {
		if _, err := ParseInputMoney(s); err != nil {
			t.Errorf("ParseInputMoney(%q): got %v; want it taken", s, err)
		}
	}
}

func mustQty(t *testing.T, s string) Qty {
	t.Helper()
	q, err := ParseQty(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func mustPrice(t *testing.T, s string) Price {
	t.Helper()
	p, err := ParsePrice(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
