package hisadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// StaySink is where the inpatient inputs deliver: admissions, fee batches, discharges
// and their cancellations, each naming its stay by the HIS inpatient number (ipt_no).
// The agent's Sink implements it as well; an input whose Sink does not refuses
// inpatient messages (AR, or the drop folder's error/).
//
// The error contract is Sink's: nil once the message is durably stored and its
// workflow started; a *settle.ValidationError naming fields by JSON path; errors.Is
// settle.ErrConflict when the same admission or batch_no came before with another
// body; settle.ErrNotFound when the stay named is unknown (a cancellation or fees for
// a stay never admitted); anything else is temporary (send again later).
type StaySink interface {
	SubmitAdmission(ctx context.Context, a settle.Admission, source string) error
	SubmitStayFees(ctx context.Context, b settle.FeeBatch, source string) error
	SubmitDischarge(ctx context.Context, d settle.Discharge, source string) error
	CancelAdmission(ctx context.Context, iptNo, source string) error
	CancelDischarge(ctx context.Context, iptNo, source string) error
	ChangeAdmission(ctx context.Context, c settle.AdmissionChange, source string) error
}

// StayKind says what an inpatient message asks for.
type StayKind string

// Kinds of inpatient message.
const (
	StayAdmit           StayKind = "admit"            // ADT^A01 admit
	StayDischarge       StayKind = "discharge"        // ADT^A03 discharge
	StayCancelAdmit     StayKind = "cancel_admit"     // ADT^A11 cancel admit
	StayCancelDischarge StayKind = "cancel_discharge" // ADT^A13 cancel discharge
	StayFees            StayKind = "fees"             // DFT^P03 with PV1-2 "I": inpatient charges
	StayChange          StayKind = "change"           // ADT^A08 update: bed, department, doctor (2403)
)

// StayMessage is one inpatient HL7 message turned into what the StaySink takes: one
// of Admission, Discharge or Fees is set according to Kind (none for the cancels).
type StayMessage struct {
	Kind      StayKind
	IptNo     string
	Admission *settle.Admission
	Discharge *settle.Discharge
	Fees      *settle.FeeBatch
	Change    *settle.AdmissionChange
}

// PatientClassInpatient is PV1-2 of an inpatient visit.
const PatientClassInpatient = "I"

// DefaultStayWindow is the window stays are booked under when neither
// DFTDefaults.InpatientWindow nor DFTDefaults.Window is set: the inpatient cashier (住院处).
const DefaultStayWindow = "ZYC"

// IsStayMessage reports whether m goes the inpatient way: ADT (any trigger; those
// not supported are refused by StayMessageOf), or DFT^P03 with PV1-2 "I".
func IsStayMessage(m *Message) bool {
	switch m.Get("MSH-9.1") {
	case "ADT":
		return true
	case "DFT":
		return strings.EqualFold(strings.TrimSpace(m.Get("PV1-2")), PatientClassInpatient)
	}
	return false
}

// StayMessageOf turns an inpatient message into a StayMessage:
//
//	ADT^A01  PV1-19 ipt_no, PV1-44 admitted_at (else EVN-6, EVN-2, MSH-7),
//	         PV1-10 dept code^name (else PV1-3.1 point of care), PV1-3.3 bed,
//	         PV1-7 doctor, PID-3 medrcdno, PID-5 name, IN1-36 certificate,
//	         DG1-3 diagnoses (admitting ones, DG1-6 "A", first when any)
//	ADT^A03  PV1-19, PV1-45 discharged_at (else EVN-6, EVN-2, MSH-7), PV1-36 dscg_way,
//	         DG1-3 diagnoses (final ones, DG1-6 "F", first when any), PV1-10 dept
//	ADT^A08  PV1-19, PV1-3.3 bed, PV1-10 dept, PV1-7 doctor: what changed (2403)
//	ADT^A11  PV1-19 (cancel the admission), ADT^A13 PV1-19 (cancel the discharge)
//	DFT^P03  PV1-2 "I", PV1-19 ipt_no, FT1-3 batch_no (else MSH-10), one item per FT1
//	         as DFTToBill reads them, FT1-4 each line's occurred_at
//
// Another ADT trigger gives an error wrapping ErrUnsupported; bad fields give a
// *settle.ValidationError (the same Validate every input passes) whose fields
// StayFieldErrorsOf locates in the message.
func StayMessageOf(m *Message, defaults DFTDefaults) (StayMessage, error) {
	loc := defaults.Location
	if loc == nil {
		loc = chinaTime
	}
	window := defaults.InpatientWindow
	if window == "" {
		window = defaults.Window
	}
	if window == "" {
		window = DefaultStayWindow
	}
	typ, trig := m.Get("MSH-9.1"), m.Get("MSH-9.2")
	pv1 := m.Segment("PV1")
	sm := StayMessage{IptNo: strings.TrimSpace(pv1.Value(19))}
	v := &settle.ValidationError{What: "inpatient message"}
	switch {
	case typ == "DFT" && trig == "P03":
		sm.Kind = StayFees
		sm.Fees = stayFees(m, sm.IptNo, loc, v)
		return sm, mergeProblems(v, sm.Fees.Validate())
	case typ != "ADT":
		return sm, fmt.Errorf("message type %s^%s (MSH-9) is not an inpatient message: %w", typ, trig, ErrUnsupported)
	}
	switch trig {
	case "A01":
		sm.Kind = StayAdmit
		a := admissionOf(m, sm.IptNo, window, loc, v)
		sm.Admission = &a
		return sm, mergeProblems(v, a.Validate())
	case "A03":
		sm.Kind = StayDischarge
		d := dischargeOf(m, sm.IptNo, loc, v)
		sm.Discharge = &d
		return sm, mergeProblems(v, d.Validate())
	case "A11":
		sm.Kind = StayCancelAdmit
	case "A13":
		sm.Kind = StayCancelDischarge
	case "A08":
		sm.Kind = StayChange
		pv1 := m.Segment("PV1")
		c := settle.AdmissionChange{IptNo: sm.IptNo, Bed: strings.TrimSpace(pv1.Field(3).Component(3)),
			Doctor: settle.Code{Code: strings.TrimSpace(pv1.Field(7).Component(1)), Name: personName(pv1.Field(7), 2)}}
		if f := pv1.Field(10); strings.TrimSpace(f.Component(1)) != "" {
			c.Dept = settle.Code{Code: strings.TrimSpace(f.Component(1)), Name: strings.TrimSpace(f.Component(2))}
		}
		sm.Change = &c
		return sm, mergeProblems(v, c.Validate())
	default:
		return sm, fmt.Errorf("ADT^%s (MSH-9) is not supported; the agent takes ADT^A01, A03, A08, A11 and A13: %w", trig, ErrUnsupported)
	}
	if !settle.ValidIdentifier(sm.IptNo) {
		if sm.IptNo == "" {
			v.Add("ipt_no", "is required")
		} else {
			v.Add("ipt_no", "must be 1 to 30 letters, digits, '.', '_' or '-', got %q", truncate(sm.IptNo, 40))
		}
	}
	return sm, v.Err()
}

// mergeProblems adds the problems of a Validate error not reported already; a
// non-validation error is returned as it is.
func mergeProblems(v *settle.ValidationError, err error) error {
	var ve *settle.ValidationError
	if errors.As(err, &ve) {
		seen := make(map[string]bool, len(v.Fields))
		for _, f := range v.Fields {
			seen[f.Field] = true
		}
		for _, f := range ve.Fields {
			if !seen[f.Field] {
				v.Fields = append(v.Fields, f)
			}
		}
	} else if err != nil {
		return err
	}
	return v.Err()
}

// eventTime reads the first of the positions that is set, as an HL7 time; field
// names the JSON path a problem is reported under.
func eventTime(m *Message, loc *time.Location, v *settle.ValidationError, field string, positions ...string) time.Time {
	for _, pos := range positions {
		s := strings.TrimSpace(m.Get(pos))
		if s == "" {
			continue
		}
		t, err := parseHL7Time(s, loc)
		if err != nil {
			v.Add(field, "%v", err)
			return time.Time{}
		}
		return t
	}
	return time.Time{}
}

func admissionOf(m *Message, iptNo, window string, loc *time.Location, v *settle.ValidationError) settle.Admission {
	pv1, pid := m.Segment("PV1"), m.Segment("PID")
	a := settle.Admission{
		IptNo:  iptNo,
		Window: window,
		Doctor: settle.Code{Code: strings.TrimSpace(pv1.Field(7).Component(1)), Name: personName(pv1.Field(7), 2)},
		Dept:   deptOf(pv1),
		Bed:    strings.TrimSpace(pv1.Field(3).Component(3)),
	}
	if pid != nil {
		a.Patient.PsnName = personName(pid.Field(5), 1)
		if id := strings.TrimSpace(pid.Field(3).Component(1)); settle.ValidIdentifier(id) {
			a.Medrcdno = id
		}
	}
	a.Patient.MdtrtCertType, a.Patient.MdtrtCertNo = certOf(m)
	a.Diagnoses = diagnosesOf(m, "A")
	a.AdmittedAt = eventTime(m, loc, v, "admitted_at", "PV1-44", "EVN-6", "EVN-2", "MSH-7")
	return a
}

func dischargeOf(m *Message, iptNo string, loc *time.Location, v *settle.ValidationError) settle.Discharge {
	pv1 := m.Segment("PV1")
	d := settle.Discharge{IptNo: iptNo, Diagnoses: diagnosesOf(m, "F"), Dept: deptOf(pv1)}
	d.DscgWay = dischargeWay(strings.TrimSpace(pv1.Value(36)))
	d.DischargedAt = eventTime(m, loc, v, "discharged_at", "PV1-45", "EVN-6", "EVN-2", "MSH-7")
	return d
}

// dischargeWay reads PV1-36: empty means by medical advice (1); "01" is read as "1".
func dischargeWay(s string) string {
	switch {
	case s == "":
		return settle.DscgWayAdvice
	case len(s) == 2 && s[0] == '0':
		return s[1:]
	}
	return s
}

// deptOf reads PV1-10 code^name, else the point of care PV1-3.1 as the code.
func deptOf(pv1 *Segment) settle.Code {
	f := pv1.Field(10)
	c := settle.Code{Code: strings.TrimSpace(f.Component(1)), Name: strings.TrimSpace(f.Component(2))}
	if c.Code == "" {
		c.Code = strings.TrimSpace(pv1.Field(3).Component(1))
	}
	return c
}

// diagnosesOf reads DG1-3 of every DG1; those whose DG1-6 is typ come first (the
// first diagnosis is the main one).
func diagnosesOf(m *Message, typ string) []settle.Code {
	var first, rest []settle.Code
	for _, dg := range m.All("DG1") {
		f := dg.Field(3)
		c := settle.Code{Code: strings.TrimSpace(f.Component(1)), Name: f.Component(2)}
		if strings.EqualFold(strings.TrimSpace(dg.Value(6)), typ) {
			first = append(first, c)
		} else {
			rest = append(rest, c)
		}
	}
	return append(first, rest...)
}

// stayFees reads the FT1 lines of an inpatient DFT^P03 as one fee batch.
func stayFees(m *Message, iptNo string, loc *time.Location, v *settle.ValidationError) *settle.FeeBatch {
	b := &settle.FeeBatch{IptNo: iptNo}
	fts := m.All("FT1")
	for i, ft := range fts {
		if no := strings.TrimSpace(ft.Value(3)); i == 0 {
			b.BatchNo = no
		} else if no != b.BatchNo {
			v.Add(fmt.Sprintf("items[%d].batch_no", i), "%q differs from the first FT1's %q: one message carries one batch", truncate(no, 30), truncate(b.BatchNo, 30))
		}
		b.Items = append(b.Items, stayItem(ft, i, loc, v))
	}
	if b.BatchNo == "" {
		b.BatchNo = strings.TrimSpace(m.Get("MSH-10"))
	}
	return b
}

// stayItem reads one FT1 as DFTToBill does, plus FT1-4 as the time the fee was incurred.
func stayItem(ft *Segment, i int, loc *time.Location, v *settle.ValidationError) settle.FeeItem {
	p := fmt.Sprintf("items[%d]", i)
	it := settle.Item{Line: i + 1, HISCode: strings.TrimSpace(ft.Field(7).Component(1)), Name: ft.Field(7).Component(2)}
	if it.Name == "" {
		it.Name = ft.Value(8)
	}
	if s := strings.TrimSpace(ft.Value(1)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			v.Add(p+".line", "set ID %q is not a positive number", truncate(s, 20))
		}
		it.Line = n
	}
	var err error
	it.Qty = settle.Qty(10000)
	if s := strings.TrimSpace(ft.Value(10)); s != "" {
		if it.Qty, err = settle.ParseQty(s); err != nil {
			v.Add(p+".qty", "%q is not a quantity (a decimal with at most 4 places)", truncate(s, 20))
		}
	}
	unit, amount := strings.TrimSpace(ft.Value(12)), strings.TrimSpace(ft.Value(11))
	if unit == "" && amount != "" && it.Qty == 10000 {
		unit = amount
	}
	if unit == "" {
		v.Add(p+".unit_price", "is required")
	} else if it.UnitPrice, err = settle.ParsePrice(unit); err != nil {
		v.Add(p+".unit_price", "%q is not a price (a decimal with at most 6 places)", truncate(unit, 20))
	}
	if amount == "" {
		it.Amount = settle.LineAmount(it.Qty, it.UnitPrice)
	} else if it.Amount, err = settle.ParseInputMoney(amount); err != nil {
		v.Add(p+".amount", "%q is not an amount (a decimal with at most 2 places)", truncate(amount, 20))
	}
	fi := settle.FeeItem{Item: it}
	if s := strings.TrimSpace(ft.Value(4)); s != "" {
		if t, err := parseHL7Time(s, loc); err != nil {
			v.Add(p+".occurred_at", "%v", err)
		} else {
			fi.OccurredAt = t
		}
	}
	return fi
}

// stayFields maps a stay input's JSON path (indices dropped) to its place in the
// inpatient messages (ADT^A01/A03, DFT^P03).
var stayFields = map[string]fieldSpot{
	"ipt_no":              {"PV1", 19, 1},
	"window":              {"PV1", 3, 1},
	"bed":                 {"PV1", 3, 3},
	"dept":                {"PV1", 10, 1},
	"dept.code":           {"PV1", 10, 1},
	"dept.name":           {"PV1", 10, 2},
	"medrcdno":            {"PID", 3, 1},
	"admitted_at":         {"PV1", 44, 1},
	"discharged_at":       {"PV1", 45, 1},
	"dscg_way":            {"PV1", 36, 1},
	"batch_no":            {"FT1", 3, 1},
	"items[].batch_no":    {"FT1", 3, 1},
	"items[].occurred_at": {"FT1", 4, 1},
}

// LocateStayField says where a stay field path ("items[1].occurred_at", "ipt_no")
// sits in an inpatient message; paths shared with bills are placed as LocateField
// places them.
func LocateStayField(path, reason string) FieldError {
	e := LocateField(path, reason)
	key := path
	if m := pathIndex.FindStringSubmatch(path); m != nil {
		key = m[1] + "[]" + path[len(m[0]):]
	}
	if s, ok := stayFields[key]; ok {
		e.Segment, e.Field, e.Component, e.Reason = s.seg, s.field, s.comp, reason
		if e.Seq == 0 {
			e.Seq = 1
		}
	}
	return e
}

// StayFieldErrorsOf locates every field problem of a *settle.ValidationError (from
// StayMessageOf or from the StaySink) in the inpatient message; nil when err holds none.
func StayFieldErrorsOf(err error) []FieldError {
	var ve *settle.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	out := make([]FieldError, 0, len(ve.Fields))
	for _, f := range ve.Fields {
		out = append(out, LocateStayField(f.Field, f.Reason))
	}
	return out
}
