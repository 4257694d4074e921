package settle

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func validBill() Bill {
	return Bill{
		BillNo: "MZ20261123000123", Window: "W01",
		Patient: Patient{MdtrtCertType: CertSSCard, MdtrtCertNo: "A12345678"},
		MedType: MedTypeOutpatient,
		Items: []Item{
			{Line: 1, HISCode: "YP0001", Name: "硝苯地平控释片", Qty: 20000, UnitPrice: 12500000, Amount: 2500},
		},
		Total: 2500, CreatedAt: time.Now(),
	}
}

func TestBill_Validate(t *testing.T) {
	if b := validBill(); b.Validate() != nil {
		t.Fatalf("valid bill: got %v; want nil", b.Validate())
	}
	for _, tc := range []struct {
		name   string
		change func(b *Bill)
		fields []string
	}{
		{"NoBillNo", func(b *Bill) { b.BillNo = "" }, []string{"bill_no"}},
		{"BillNoSlash", func(b *Bill) { b.BillNo = "a/b" }, []string{"bill_no"}},
		{"BadCertType", func(b *Bill) { b.Patient.MdtrtCertType = "09" }, []string{"patient.mdtrt_cert_type"}},
		{"NoCertNo", func(b *Bill) { b.Patient.MdtrtCertNo = " " }, []string{"patient.mdtrt_cert_no"}},
		{"MedType", func(b *Bill) { b.MedType = "99" }, []string{"med_type"}},
		{"ChronicNoDiagnosis", func(b *Bill) { b.MedType = MedTypeChronic }, []string{"diagnoses"}},
		{"NoItems", func(b *Bill) { b.Items = nil; b.Total = 0 }, []string{"items"}},
		{"AmountWrong", func(b *Bill) { b.Items[0].Amount = 2400; b.Total = 2400 }, []string{"items[0].amount"}},
		{"TotalWrong", func(b *Bill) { b.Total = 1 }, []string{"total"}},
		{"NegativeQty", func(b *Bill) { b.Items[0].Qty = -1 }, []string{"items[0].qty"}},
		{"DuplicateLine", func(b *Bill) { b.Items = append(b.Items, b.Items[0]); b.Total *= 2 }, []string{"items[1].line"}},
		{"Everything", func(b *Bill) { b.BillNo = ""; b.Window = ""; b.MedType = ""; b.Total = 7 }, []string{"bill_no", "window", "med_type", "total"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := validBill()
			tc.change(&b)
			err := b.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v; want a *ValidationError that is ErrInvalid", err)
			}
			got := map[string]bool{}
			for _, f := range ve.Fields {
				got[f.Field] = true
			}
			for _, f := range tc.fields {
				if !got[f] {
					t.Errorf("problems %v do not name %s", ve.Fields, f)
				}
			}
		})
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"330102198005120011", "330102********0011"},
		{"A33010001", "*******01"},
		{"", ""},
	} {
		if got := MaskID(tc.in); got != tc.want {
			t.Errorf("MaskID(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
	if got := MaskName("陈秀英"); got != "陈**" {
		t.Errorf("MaskName: got %q; want 陈**", got)
	}
	c := Card{SSN: "330102198005120011", Name: "张伟"}.Masked()
	if strings.Contains(c.SSN, "19800512") {
		t.Errorf("masked card keeps the birth date: %q", c.SSN)
	}
}
