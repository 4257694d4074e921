package hisadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// describeStay is what the inpatient golden files hold for one message: what it
// becomes, its located problems and the answer the server would give.
func describeStay(raw []byte) []byte {
	var out bytes.Buffer
	m, err := ParseMessage(raw)
	if err != nil {
		out.WriteString("== parse error\n" + err.Error() + "\n")
		return out.Bytes()
	}
	if !IsStayMessage(m) {
		out.WriteString("== not an inpatient message\n")
		return out.Bytes()
	}
	sm, err := StayMessageOf(m, DFTDefaults{Window: "W00", InpatientWindow: "ZYC01"})
	code, errs := AckAccept, StayFieldErrorsOf(err)
	switch {
	case errors.Is(err, ErrUnsupported):
		code = AckReject
		errs = []FieldError{{Segment: "MSH", Seq: 1, Field: 9, Code: hl7UnsupportedType, Reason: err.Error()}}
	case err != nil:
		code = AckError
	}
	if !errors.Is(err, ErrUnsupported) {
		j, _ := json.MarshalIndent(sm, "", "  ")
		out.WriteString("== " + string(sm.Kind) + "\n" + string(j) + "\n")
	}
	if len(errs) > 0 {
		out.WriteString("== problems\n")
		for _, e := range errs {
			out.WriteString(e.String() + "\n")
		}
	}
	out.WriteString("== ack\n" + readableACK(buildACKNote(m, code, ackTime, errs, "stored")))
	return out.Bytes()
}

func TestStayMessageOf_Golden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "hl7", "inpatient", "*.hl7"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hl7")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			goldenFile(t, filepath.Join("hl7", "inpatient", name+".golden"), describeStay(raw))
		})
	}
}

func stayOf(t *testing.T, name string) (StayMessage, error) {
	t.Helper()
	return StayMessageOf(mustParse(t, string(sample(t, filepath.Join("inpatient", name)))), DFTDefaults{})
}

func TestStayMessageOf_Admit(t *testing.T) {
	sm, err := stayOf(t, "admit.hl7")
	if err != nil {
		t.Fatal(err)
	}
	a := sm.Admission
	if sm.Kind != StayAdmit || a == nil || a.IptNo != "ZY20261120001" || a.Window != DefaultStayWindow {
		t.Fatalf("got %+v; want an admission of ZY20261120001 at the default window", sm)
	}
	if a.Bed != "12-03" || a.Dept.Code != "0301" || a.Doctor.Name != "王医生" || a.Medrcdno != "BA0001" || a.Patient.MdtrtCertNo != "A33010001" {
		t.Errorf("got bed %q dept %+v doctor %+v medrcdno %q cert %q; want PV1-3.3, PV1-10, PV1-7, PID-3, IN1-36",
			a.Bed, a.Dept, a.Doctor, a.Medrcdno, a.Patient.MdtrtCertNo)
	}
	if len(a.Diagnoses) != 2 || a.Diagnoses[0].Code != "J18.900" {
		t.Errorf("diagnoses %+v; want the admitting one (DG1-6 A) first", a.Diagnoses)
	}
	if got := a.AdmittedAt.Format("2006-01-02 15:04:05 -0700"); got != "2026-11-20 09:00:00 +0800" {
		t.Errorf("admitted_at %s; want PV1-44 in Beijing time", got)
	}
}

func TestStayMessageOf_Discharge(t *testing.T) {
	sm, err := stayOf(t, "discharge.hl7")
	if err != nil {
		t.Fatal(err)
	}
	d := sm.Discharge
	if sm.Kind != StayDischarge || d.IptNo != "ZY20261120001" || d.DscgWay != "1" || d.Diagnoses[0].Code != "J18.900" {
		t.Errorf("got %+v; want a discharge by advice with the final diagnosis (DG1-6 F) first", d)
	}
	if got := d.DischargedAt.Format("2006-01-02 15:04"); got != "2026-11-22 10:00" {
		t.Errorf("discharged_at %s; want PV1-45", got)
	}
}

func TestStayMessageOf_Cancels(t *testing.T) {
	for name, kind := range map[string]StayKind{"cancel_admit.hl7": StayCancelAdmit, "cancel_discharge.hl7": StayCancelDischarge} {
		sm, err := stayOf(t, name)
		if err != nil || sm.Kind != kind || sm.IptNo != "ZY20261120001" {
			t.Errorf("%s: got %+v, %v; want %s of ZY20261120001", name, sm, err, kind)
		}
	}
}

func TestStayMessageOf_Fees(t *testing.T) {
	sm, err := stayOf(t, "fees.hl7")
	if err != nil {
		t.Fatal(err)
	}
	b := sm.Fees
	if sm.Kind != StayFees || b.IptNo != "ZY20261120001" || b.BatchNo != "D20261120" || len(b.Items) != 3 || b.Total() != 9400 {
		t.Fatalf("got %+v; want batch D20261120 of three lines, 94.00", b)
	}
	if got := b.Items[2].OccurredAt.Format("15:04"); got != "20:30" {
		t.Errorf("items[2].occurred_at %s; want its own FT1-4", got)
	}
	sm, err = stayOf(t, "fees_no_batch.hl7")
	if err != nil || sm.Fees.BatchNo != "DFT1002" {
		t.Errorf("no FT1-3: got batch %q, %v; want MSH-10 DFT1002", sm.Fees.BatchNo, err)
	}
	_, err = stayOf(t, "fees_bad.hl7")
	got := map[string]bool{}
	for _, e := range StayFieldErrorsOf(err) {
		got[e.Text()] = true
	}
	for _, want := range []string{"PV1-19", "FT1-3", "FT1-4"} {
		found := false
		for text := range got {
			found = found || strings.HasPrefix(text, want+" ")
		}
		if !found {
			t.Errorf("problems %v; want one located at %s", got, want)
		}
	}
}

func TestStayMessageOf_Unsupported(t *testing.T) {
	if _, err := stayOf(t, "transfer_a02.hl7"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ADT^A02: got %v; want ErrUnsupported", err)
	}
	if m := mustParse(t, string(dft("C1", "B1", "YP0001"))); IsStayMessage(m) {
		t.Error("an outpatient DFT^P03 (PV1-2 O) is taken for an inpatient message")
	}
}

// FuzzStayMessageOf checks that reading an inpatient message never panics, that what
// it returns without error validates, and that every problem can be answered in an
// ACK that parses back with one ERR per problem.
func FuzzStayMessageOf(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "hl7", "inpatient", "*.hl7"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b)
		if err != nil || !IsStayMessage(m) {
			return
		}
		sm, err := StayMessageOf(m, DFTDefaults{})
		if errors.Is(err, ErrUnsupported) {
			return
		}
		if err == nil {
			switch sm.Kind {
			case StayAdmit:
				err = sm.Admission.Validate()
			case StayDischarge:
				err = sm.Discharge.Validate()
			case StayFees:
				err = sm.Fees.Validate()
			case StayChange:
				err = sm.Change.Validate()
			}
			if err != nil {
				t.Fatalf("StayMessageOf returned a %s that does not validate: %v", sm.Kind, err)
			}
			return
		}
		errs := StayFieldErrorsOf(err)
		if len(errs) == 0 {
			t.Fatalf("error %v names no field", err)
		}
		d := m.Delims
		if m.encoding != nil || d.Component == 0 || d.Repetition == 0 || d.Escape == 0 || d.Subcomponent == 0 {
			return
		}
		back, perr := ParseMessage(buildACK(m, AckError, ackTime, errs))
		if perr != nil {
			t.Fatalf("ACK does not parse: %v", perr)
		}
		if got := len(back.All("ERR")); got != len(errs) {
			t.Fatalf("ACK has %d ERR; want %d", got, len(errs))
		}
	})
}
