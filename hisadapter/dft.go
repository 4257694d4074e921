package hisadapter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	settle "github.com/settle-agent/settle-agent"
)

// DFTDefaults fill what a DFT^P03 message may leave out.
type DFTDefaults struct {
	MedType  string         // when PV1-18 is empty; "" leaves med_type empty (refused)
	Window   string         // when PV1-3 is empty
	Location *time.Location // for HL7 timestamps without an offset; nil: China Standard Time (+08:00)

	// InpatientWindow is the window inpatient messages (ADT, DFT with PV1-2 "I") are
	// booked under; "": Window, else DefaultStayWindow.
	InpatientWindow string
}

// chinaTime is China Standard Time; a fixed zone needs no tzdata on the front-end machine.
var chinaTime = time.FixedZone("CST", 8*3600)

// DFTToBill turns a DFT^P03 message into a bill:
//
//	FT1-4 of the first FT1 created_at (else MSH-7), PV1-19 bill_no, PV1-3 window,
//	PV1-18 med_type (else defaults.MedType), PV1-7 doctor, PID-5 patient name,
//	IN1-36 <mdtrt_cert_type>^<mdtrt_cert_no> or a bare number, DG1-3 diagnoses,
//	FT1 one item each: FT1-1 line, FT1-7 his_code^name, FT1-10 qty (empty: 1),
//	FT1-11 amount (empty: qty × FT1-12), FT1-12 unit price, FT1-13 dept (first FT1).
//
// The total is the sum of the amounts. A message that is not DFT^P03 gives an error
// wrapping ErrUnsupported; a bad bill gives a *settle.ValidationError (the same
// settle.Bill.Validate every input passes) whose fields FieldErrorsOf locates in the
// message ("FT1-7").
func DFTToBill(m *Message, defaults DFTDefaults) (settle.Bill, error) {
	if typ := m.Get("MSH-9.1") + "^" + m.Get("MSH-9.2"); typ != "DFT^P03" {
		return settle.Bill{}, fmt.Errorf("message type %s (MSH-9): only DFT^P03 carries bills: %w", typ, ErrUnsupported)
	}
	loc := defaults.Location
	if loc == nil {
		loc = chinaTime
	}
	v := &settle.ValidationError{What: "bill"}
	pv1, pid := m.Segment("PV1"), m.Segment("PID")
	b := settle.Bill{
		BillNo:  strings.TrimSpace(pv1.Value(19)),
		Window:  strings.TrimSpace(pv1.Value(3)),
		MedType: strings.TrimSpace(pv1.Value(18)),
		Doctor:  settle.Code{Code: pv1.Field(7).Component(1), Name: personName(pv1.Field(7), 2)},
	}
	if b.Window == "" {
		b.Window = defaults.Window
	}
	if b.MedType == "" {
		b.MedType = defaults.MedType
	}
	if pid != nil {
		b.Patient.PsnName = personName(pid.Field(5), 1)
	}
	b.Patient.MdtrtCertType, b.Patient.MdtrtCertNo = certOf(m)
	for _, dg := range m.All("DG1") {
		f := dg.Field(3)
		b.Diagnoses = append(b.Diagnoses, settle.Code{Code: strings.TrimSpace(f.Component(1)), Name: f.Component(2)})
	}
	fts := m.All("FT1")
	for i, ft := range fts {
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
			unit = amount // one of a thing: the unit price is the amount
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
		b.Items = append(b.Items, it)
		b.Total += it.Amount
	}
	if len(fts) > 0 {
		f := fts[0].Field(13)
		b.Dept = settle.Code{Code: f.Component(1), Name: f.Component(2)}
	}
	// The charge's own time (FT1-4) comes first: a HIS that resends a bill in a new
	// message restamps MSH-7, and the bill must stay byte-identical for the agent's
	// bill_no idempotency to recognise it.
	var ts, tsPath string
	if len(fts) > 0 {
		ts, tsPath = strings.TrimSpace(fts[0].Value(4)), "items[0].created_at"
	}
	if ts == "" {
		ts, tsPath = m.Get("MSH-7"), "created_at"
	}
	if ts == "" {
		v.Add("created_at", "is required (FT1-4 transaction date or MSH-7 message date/time)")
	} else if t, err := parseHL7Time(ts, loc); err != nil {
		v.Add(tsPath, "%v", err)
	} else {
		b.CreatedAt = t
	}
	reported := make(map[string]bool, len(v.Fields))
	for _, f := range v.Fields {
		reported[f.Field] = true
	}
	var ve *settle.ValidationError
	if err := b.Validate(); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if !reported[f.Field] {
				v.Fields = append(v.Fields, f)
			}
		}
	} else if err != nil {
		return b, err
	}
	return b, v.Err()
}

// certOf reads IN1-36 of the first IN1 that has one: "<type>^<number>", or a bare
// number that is an ID number (02) when it has 18 characters and a valid GB 11643
// check digit, and a social security card number (03) otherwise.
func certOf(m *Message) (typ, no string) {
	for _, in1 := range m.All("IN1") {
		f := in1.Field(36)
		c1, c2 := strings.TrimSpace(f.Component(1)), strings.TrimSpace(f.Component(2))
		switch {
		case c1 == "" && c2 == "":
			continue
		case c2 != "":
			return c1, c2
		case ValidIDNumber(c1):
			return settle.CertIDNumber, strings.ToUpper(c1)
		default:
			return settle.CertSSCard, c1
		}
	}
	return "", ""
}

// personName reads an XPN (family^given) or the name part of an XCN (id^family^given)
// starting at component from: Chinese names are joined without a space.
func personName(f Field, from int) string {
	family, given := strings.TrimSpace(f.Component(from)), strings.TrimSpace(f.Component(from+1))
	switch {
	case given == "":
		return family
	case family == "":
		return given
	case isASCII(family) && isASCII(given):
		return family + " " + given
	}
	return family + given
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseHL7Time parses an HL7 DTM/TS: YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ], in loc
// when it has no offset. Fractions of a second are dropped.
func parseHL7Time(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not an HL7 date/time YYYYMMDDHHMMSS[+ZZZZ]", truncate(s, 30))
	zone := ""
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		s, zone = s[:i], s[i:]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if i != 14 || len(s) > 19 || strings.Trim(s[i+1:], "0123456789") != "" {
			return time.Time{}, bad
		}
		s = s[:i]
	}
	if len(s) < 4 || len(s) > 14 || len(s)%2 != 0 || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, bad
	}
	layout := "20060102150405"[:len(s)]
	if zone != "" {
		if len(zone) != 5 || strings.Trim(zone[1:], "0123456789") != "" {
			return time.Time{}, bad
		}
		t, err := time.Parse(layout+"-0700", s+zone)
		if err != nil {
			return time.Time{}, bad
		}
		return t, nil
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, bad
	}
	return t, nil
}

// ValidIDNumber reports whether s is an 18-character resident ID number (居民身份证号)
// whose last character is the GB 11643-1999 check digit of the first 17.
func ValidIDNumber(s string) bool {
	if len(s) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * w
	}
	check := "10X98765432"[sum%11]
	last := s[17]
	if last == 'x' {
		last = 'X'
	}
	return last == check
}
