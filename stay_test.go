package settle

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func validAdmission() Admission {
	return Admission{
		IptNo: "ZY20261201001", Window: "ZYC01",
		Patient:    Patient{MdtrtCertType: CertSSCard, MdtrtCertNo: "A33010001"},
		Dept:       Code{Code: "0301", Name: "内科"},
		Doctor:     Code{Code: "D0042", Name: "王医生"},
		Bed:        "12-03",
		Diagnoses:  []Code{{Code: "J18.900", Name: "肺炎"}},
		AdmittedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, Beijing),
	}
}

func validBatch() FeeBatch {
	at := time.Date(2026, 12, 1, 18, 0, 0, 0, Beijing)
	return FeeBatch{BatchNo: "D20261201", Items: []FeeItem{
		{Item: Item{Line: 1, HISCode: "ZL0003", Name: "静脉注射", Qty: 20000, UnitPrice: 5000000, Amount: 1000}, OccurredAt: at},
		{Item: Item{Line: 2, HISCode: "YP0009", Name: "氯化钠注射液", Qty: 30000, UnitPrice: 3500000, Amount: 1050}, OccurredAt: at},
	}}
}

// fieldsOf returns the fields a validation error names, or fails the test.
func fieldsOf(t *testing.T, err error) map[string]bool {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v; want a *ValidationError that is ErrInvalid", err)
	}
	got := map[string]bool{}
	for _, f := range ve.Fields {
		got[f.Field] = true
	}
	return got
}

func TestAdmission_Validate(t *testing.T) {
	if a := validAdmission(); a.Validate() != nil {
		t.Fatalf("valid admission: got %v; want nil", a.Validate())
	}
	for _, tc := range []struct {
		name   string
		change func(a *Admission)
		fields []string
	}{
		{"NoIptNo", func(a *Admission) { a.IptNo = "" }, []string{"ipt_no"}},
		{"IptNoFormula", func(a *Admission) { a.IptNo = "=1+1" }, []string{"ipt_no"}},
		{"IptNoTooLong", func(a *Admission) { a.IptNo = strings.Repeat("1", 31) }, []string{"ipt_no"}},
		{"NoDiagnosis", func(a *Admission) { a.Diagnoses = nil }, []string{"diagnoses"}},
		{"EmptyDiagnosisCode", func(a *Admission) { a.Diagnoses[0].Code = " " }, []string{"diagnoses[0].code"}},
		{"NoDept", func(a *Admission) { a.Dept.Code = "" }, []string{"dept.code"}},
		{"NoTime", func(a *Admission) { a.AdmittedAt = time.Time{} }, []string{"admitted_at"}},
		{"BadCert", func(a *Admission) { a.Patient.MdtrtCertType = "9" }, []string{"patient.mdtrt_cert_type"}},
		{"BedControl", func(a *Admission) { a.Bed = "1\x00" }, []string{"bed"}},
		{"Everything", func(a *Admission) {
			a.IptNo, a.Window, a.Patient = "", "", Patient{}
			a.Diagnoses, a.AdmittedAt = nil, time.Time{}
		}, []string{"ipt_no", "window", "patient.mdtrt_cert_type", "patient.mdtrt_cert_no", "diagnoses", "admitted_at"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := validAdmission()
			tc.change(&a)
			got := fieldsOf(t, a.Validate())
			for _, f := range tc.fields {
				if !got[f] {
					t.Errorf("problems %v do not name %s", got, f)
				}
			}
		})
	}
}

func TestFeeBatch_Validate(t *testing.T) {
	if b := validBatch(); b.Validate() != nil {
		t.Fatalf("valid batch: got %v; want nil", b.Validate())
	}
	for _, tc := range []struct {
		name   string
		change func(b *FeeBatch)
		fields []string
	}{
		{"NoBatchNo", func(b *FeeBatch) { b.BatchNo = "" }, []string{"batch_no"}},
		{"BatchNoSpace", func(b *FeeBatch) { b.BatchNo = "a b" }, []string{"batch_no"}},
		{"BadIptNo", func(b *FeeBatch) { b.IptNo = "a/b" }, []string{"ipt_no"}},
		{"NoItems", func(b *FeeBatch) { b.Items = nil }, []string{"items"}},
		{"NoOccurredAt", func(b *FeeBatch) { b.Items[1].OccurredAt = time.Time{} }, []string{"items[1].occurred_at"}},
		{"AmountWrong", func(b *FeeBatch) { b.Items[0].Amount = 999 }, []string{"items[0].amount"}},
		{"DuplicateLine", func(b *FeeBatch) { b.Items[1].Line = 1 }, []string{"items[1].line"}},
		{"NoHISCode", func(b *FeeBatch) { b.Items[0].HISCode = "" }, []string{"items[0].his_code"}},
		{"ZeroQty", func(b *FeeBatch) { b.Items[0].Qty = 0 }, []string{"items[0].qty"}},
		{"Both", func(b *FeeBatch) { b.BatchNo = ""; b.Items[1].OccurredAt = time.Time{} }, []string{"batch_no", "items[1].occurred_at"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := validBatch()
			tc.change(&b)
			got := fieldsOf(t, b.Validate())
			for _, f := range tc.fields {
				if !got[f] {
					t.Errorf("problems %v do not name %s", got, f)
				}
			}
		})
	}
	if b := validBatch(); b.Total() != 2050 {
		t.Errorf("Total: got %s; want 20.50", b.Total())
	}
}

func TestFeeBatch_JSON(t *testing.T) {
	in := `{"batch_no":"D1","items":[{"line":1,"his_code":"ZL0003","name":"静脉注射","qty":"2","unit_price":"5.00","amount":"10.00","occurred_at":"2026-12-01T18:00:00+08:00"}]}`
	var b FeeBatch
	if err := json.Unmarshal([]byte(in), &b); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if err := b.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if b.Items[0].Amount != 1000 || b.Items[0].HISCode != "ZL0003" || b.Items[0].OccurredAt.IsZero() {
		t.Errorf("got %+v; want the item with its amount, code and time", b.Items[0])
	}
	out, _ := json.Marshal(b)
	if !strings.Contains(string(out), `"occurred_at":"2026-12-01T18:00:00+08:00"`) || !strings.Contains(string(out), `"amount":"10.00"`) {
		t.Errorf("marshal: got %s; want flat item fields with occurred_at", out)
	}
	if err := json.Unmarshal([]byte(strings.Replace(in, `"10.00"`, `10.00`, 1)), &b); err == nil {
		t.Error("amount as a JSON number: got nil error; want money refused as a float")
	}
}

func TestDischarge_Validate(t *testing.T) {
	ok := Discharge{DischargedAt: time.Now(), Diagnoses: []Code{{Code: "J18.900", Name: "肺炎"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid discharge: got %v; want nil", err)
	}
	bad := Discharge{DscgWay: "7"}
	got := fieldsOf(t, bad.Validate())
	for _, f := range []string{"discharged_at", "diagnoses", "dscg_way"} {
		if !got[f] {
			t.Errorf("problems %v do not name %s", got, f)
		}
	}
}

func TestStaySettle_Validate(t *testing.T) {
	if err := (&StaySettle{MidSetl: true, AcctUsedFlag: "1", PsnSetlway: "01"}).Validate(); err != nil {
		t.Fatalf("valid: got %v; want nil", err)
	}
	got := fieldsOf(t, (&StaySettle{AcctUsedFlag: "2", PsnSetlway: "9"}).Validate())
	if !got["acct_used_flag"] || !got["psn_setlway"] {
		t.Errorf("problems %v; want acct_used_flag and psn_setlway", got)
	}
	got = fieldsOf(t, (&StayCancelSettlement{}).Validate())
	if !got["setl_id"] {
		t.Errorf("problems %v; want setl_id", got)
	}
}

func TestAdmissionChange_Validate(t *testing.T) {
	if err := (&AdmissionChange{Bed: "12-05"}).Validate(); err != nil {
		t.Fatalf("a bed change: got %v; want nil", err)
	}
	got := fieldsOf(t, (&AdmissionChange{IptNo: "a b"}).Validate())
	if !got["bed"] || !got["ipt_no"] {
		t.Errorf("problems %v; want bed (nothing to change) and ipt_no", got)
	}
}
