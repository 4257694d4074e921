package sim

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// Fixture is the simulator's truth: who is insured, each insured place's policy and the
// treatment area's catalogue. It is loaded from JSON (docs/simulator.md); a demo fixture
// ships embedded (DemoFixture).
type Fixture struct {
	// TreatmentAdmdvs is the treatment area (就医地) the simulated hospital is in; a
	// person insured in another prefecture is a cross-region (异地) patient.
	TreatmentAdmdvs string          `json:"treatment_admdvs"`
	Persons         []FixturePerson `json:"persons"`
	Policies        []Policy        `json:"policies"`
	Items           []CatalogueItem `json:"catalogue"`
}

// FixturePerson is one insured person, their card and e-voucher, and their insurance.
type FixturePerson struct {
	PsnNo         string       `json:"psn_no"`
	Name          string       `json:"name"`
	Gend          string       `json:"gend"` // 1 male, 2 female
	Naty          string       `json:"naty,omitempty"`
	Brdy          string       `json:"brdy"`   // yyyy-MM-dd
	Certno        string       `json:"certno"` // 18-character resident ID number (GB 11643)
	CardNo        string       `json:"card_no"`
	CardSN        string       `json:"card_sn"`
	CardRegion    string       `json:"card_region"`
	ECToken       string       `json:"ec_token,omitempty"` // e-voucher code (mdtrt_cert_type 01)
	InsuplcAdmdvs string       `json:"insuplc_admdvs"`
	Insutype      string       `json:"insutype"` // 310 employee, 390 resident
	PsnType       string       `json:"psn_type,omitempty"`
	EmpName       string       `json:"emp_name,omitempty"`
	Balance       settle.Money `json:"balance"` // personal account; residents (390) have none
	Filed         bool         `json:"filed"`   // 备案 for cross-region treatment
	Probe         bool         `json:"probe,omitempty"`
	Chronic       []Chronic    `json:"chronic"`
}

// Chronic is one outpatient chronic/special disease qualification (门诊慢特病资格).
type Chronic struct {
	OpspDiseCode string `json:"opsp_dise_code"`
	Name         string `json:"name"`
	Begndate     string `json:"begndate"` // yyyy-MM-dd
	Enddate      string `json:"enddate"`  // yyyy-MM-dd
}

// Policy is one insured place's rules (参保地政策).
type Policy struct {
	Admdvs string `json:"admdvs"`
	Name   string `json:"name,omitempty"`
	// Deductible per insutype per calendar year (起付线).
	Deductible map[string]settle.Money `json:"deductible"`
	// Ratios is the fund ratio by insutype, then med_type ("0.85").
	Ratios map[string]map[string]platform.Ratio `json:"ratios"`
	// InpatientDeductible is the deductible per admission (住院起付线) per insutype;
	// absent: Deductible applies per admission.
	InpatientDeductible map[string]settle.Money `json:"inpatient_deductible,omitempty"`
	// AnnualCap is the most the fund pays a person per calendar year, per insutype.
	AnnualCap map[string]settle.Money `json:"annual_cap"`
	// UnfiledRule says what happens to a cross-region patient without filing:
	// "refuse" (2201 answers "参保人未备案") or "ratio" (UnfiledRatio replaces the
	// ratio when it is lower).
	UnfiledRule  string         `json:"unfiled_rule"`
	UnfiledRatio platform.Ratio `json:"unfiled_ratio"`
}

// Unfiled rules.
const (
	UnfiledRefuse = "refuse"
	UnfiledRatio  = "ratio"
)

// Item classes (甲/乙/丙) and their chrgitm_lv codes.
const (
	ClassA = "甲" // fully covered, chrgitm_lv 01
	ClassB = "乙" // covered after selfpay_prop is paid first, chrgitm_lv 02
	ClassC = "丙" // not covered, chrgitm_lv 03
)

// CatalogueItem is one entry of the treatment area's catalogue (就医地目录), with the
// hospital's own code the demo mapping uses.
type CatalogueItem struct {
	MedListCodg    string         `json:"med_list_codg"`
	MedinsListCodg string         `json:"medins_list_codg"`
	Name           string         `json:"name"`
	Kind           string         `json:"kind,omitempty"` // drug, service, material
	MedChrgitmType string         `json:"med_chrgitm_type,omitempty"`
	Class          string         `json:"class"`
	SelfpayProp    platform.Ratio `json:"selfpay_prop"`
	Price          settle.Price   `json:"price"`                   // the demo HIS's unit price
	PriceCeiling   settle.Price   `json:"price_ceiling,omitempty"` // 0: none
	Unit           string         `json:"unit,omitempty"`
}

// ChrgitmLv is the platform's code for the item's class: 01 甲, 02 乙, 03 丙.
func (c CatalogueItem) ChrgitmLv() string {
	switch c.Class {
	case ClassA:
		return "01"
	case ClassB:
		return "02"
	}
	return "03"
}

//go:embed fixture/demo.json
var demoJSON []byte

// DemoFixture returns a fresh copy of the embedded demo fixture: treatment area 330100
// (Hangzhou), local and cross-region persons, four insured places and a catalogue of
// 25 items (three of them inpatient day charges). It panics if the embedded file is broken (a test guards that).
func DemoFixture() *Fixture {
	f, err := ParseFixture(bytes.NewReader(demoJSON))
	if err != nil {
		panic("sim: embedded demo fixture: " + err.Error())
	}
	return f
}

// LoadFixture reads and checks a fixture file.
func LoadFixture(path string) (*Fixture, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load fixture: %w", err)
	}
	defer file.Close()
	f, err := ParseFixture(file)
	if err != nil {
		return nil, fmt.Errorf("load fixture %s: %w", path, err)
	}
	return f, nil
}

// maxFixtureBytes bounds a fixture file.
const maxFixtureBytes = 16 << 20

// ParseFixture decodes a fixture (unknown fields are errors) and checks it. The error
// is ErrFixture; for broken rules it is also a *settle.ValidationError naming each field.
func ParseFixture(r io.Reader) (*Fixture, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFixtureBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read fixture: %w", err)
	}
	if len(data) > maxFixtureBytes {
		return nil, fmt.Errorf("fixture is larger than %d bytes: %w", maxFixtureBytes, ErrFixture)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrFixture, jsonErrorText(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the fixture object", ErrFixture)
	}
	if err := f.Validate(); err != nil {
		return nil, fixtureError{err}
	}
	return &f, nil
}

// fixtureError is both ErrFixture and the ValidationError it carries.
type fixtureError struct{ err error }

func (e fixtureError) Error() string        { return "bad fixture: " + e.err.Error() }
func (e fixtureError) Unwrap() []error      { return []error{ErrFixture, e.err} }
func (e fixtureError) Is(target error) bool { return target == ErrFixture }

// jsonErrorText adds the line of a syntax or type error.
func jsonErrorText(data []byte, err error) string {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return fmt.Sprintf("line %d: %v", line, err)
}

// Validate reports every broken rule at once: required fields, unique psn_no, certno,
// card_no and ec_token, valid ID check digits, a policy for every insured place, ratios
// within 0..1, catalogue classes and self-pay shares.
func (f *Fixture) Validate() error {
	v := &settle.ValidationError{What: "fixture"}
	if !isAdmdvs(f.TreatmentAdmdvs) {
		v.Add("treatment_admdvs", "must be a 6-digit region code such as 330100, got %q", f.TreatmentAdmdvs)
	}
	policies := make(map[string]bool, len(f.Policies))
	for i, p := range f.Policies {
		validatePolicy(v, fmt.Sprintf("policies[%d]", i), p)
		if policies[p.Admdvs] {
			v.Add(fmt.Sprintf("policies[%d].admdvs", i), "%s has more than one policy", p.Admdvs)
		}
		policies[p.Admdvs] = true
	}
	if len(f.Persons) == 0 {
		v.Add("persons", "a fixture needs at least one person")
	}
	seen := map[string]string{}
	unique := func(field, kind, value string) {
		if value == "" {
			return
		}
		if prev, dup := seen[kind+"\x00"+value]; dup {
			v.Add(field, "%s %q is already used by %s", kind, value, prev)
			return
		}
		seen[kind+"\x00"+value] = field
	}
	for i, p := range f.Persons {
		at := fmt.Sprintf("persons[%d]", i)
		validatePerson(v, at, p)
		unique(at+".psn_no", "psn_no", p.PsnNo)
		unique(at+".certno", "certno", p.Certno)
		unique(at+".card_no", "card_no", p.CardNo)
		unique(at+".ec_token", "ec_token", p.ECToken)
		if p.InsuplcAdmdvs != "" && !policies[p.InsuplcAdmdvs] {
			v.Add(at+".insuplc_admdvs", "%s has no policy in policies[]", p.InsuplcAdmdvs)
		}
	}
	if len(f.Items) == 0 {
		v.Add("catalogue", "a fixture needs at least one catalogue item")
	}
	for i, it := range f.Items {
		at := fmt.Sprintf("catalogue[%d]", i)
		validateItem(v, at, it)
		unique(at+".med_list_codg", "med_list_codg", it.MedListCodg)
		unique(at+".medins_list_codg", "medins_list_codg", it.MedinsListCodg)
	}
	return v.Err()
}

func validatePerson(v *settle.ValidationError, at string, p FixturePerson) {
	required := func(field, value string, max int) {
		switch {
		case value == "":
			v.Add(at+"."+field, "is required")
		case len(value) > max:
			v.Add(at+"."+field, "is longer than %d bytes", max)
		}
	}
	required("psn_no", p.PsnNo, 30)
	required("name", p.Name, 50)
	required("card_no", p.CardNo, 20)
	required("card_sn", p.CardSN, 40)
	if len(p.ECToken) > 64 {
		v.Add(at+".ec_token", "is longer than 64 bytes")
	}
	if p.Gend != "1" && p.Gend != "2" {
		v.Add(at+".gend", "must be 1 (male) or 2 (female), got %q", p.Gend)
	}
	if _, err := time.Parse(time.DateOnly, p.Brdy); err != nil {
		v.Add(at+".brdy", "must be a date yyyy-MM-dd, got %q", p.Brdy)
	}
	if err := CheckCertno(p.Certno); err != nil {
		v.Add(at+".certno", "%v", err)
	} else if p.Brdy != "" && p.Certno[6:14] != stripDashes(p.Brdy) {
		v.Add(at+".certno", "birth date %s in the ID number does not match brdy %s", p.Certno[6:14], p.Brdy)
	}
	if !isAdmdvs(p.CardRegion) {
		v.Add(at+".card_region", "must be a 6-digit region code, got %q", p.CardRegion)
	}
	if !isAdmdvs(p.InsuplcAdmdvs) {
		v.Add(at+".insuplc_admdvs", "must be a 6-digit region code, got %q", p.InsuplcAdmdvs)
	}
	switch p.Insutype {
	case settle.InsutypeEmployee:
	case settle.InsutypeResident:
		if p.Balance != 0 {
			v.Add(at+".balance", "must be 0.00: residents (390) have no personal account")
		}
	default:
		v.Add(at+".insutype", "must be 310 (employee) or 390 (resident), got %q", p.Insutype)
	}
	if p.Balance < 0 {
		v.Add(at+".balance", "must not be negative, got %s", p.Balance)
	}
	for j, c := range p.Chronic {
		cat := fmt.Sprintf("%s.chronic[%d]", at, j)
		if c.OpspDiseCode == "" {
			v.Add(cat+".opsp_dise_code", "is required")
		}
		b, err1 := time.Parse(time.DateOnly, c.Begndate)
		e, err2 := time.Parse(time.DateOnly, c.Enddate)
		switch {
		case err1 != nil:
			v.Add(cat+".begndate", "must be a date yyyy-MM-dd, got %q", c.Begndate)
		case err2 != nil:
			v.Add(cat+".enddate", "must be a date yyyy-MM-dd, got %q", c.Enddate)
		case e.Before(b):
			v.Add(cat+".enddate", "%s is before begndate %s", c.Enddate, c.Begndate)
		}
	}
}

var one = decimal.NewFromInt(1)

func validRatio(r platform.Ratio) bool { return !r.IsNegative() && r.LessThanOrEqual(one) }

func validatePolicy(v *settle.ValidationError, at string, p Policy) {
	if !isAdmdvs(p.Admdvs) {
		v.Add(at+".admdvs", "must be a 6-digit region code, got %q", p.Admdvs)
	}
	for _, it := range []string{settle.InsutypeEmployee, settle.InsutypeResident} {
		if d, ok := p.Deductible[it]; !ok || d < 0 {
			v.Add(at+".deductible."+it, "is required and must not be negative")
		}
		if c, ok := p.AnnualCap[it]; !ok || c <= 0 {
			v.Add(at+".annual_cap."+it, "is required and must be more than 0.00")
		}
		for _, mt := range []string{settle.MedTypeOutpatient, settle.MedTypeChronic, settle.MedTypeInpatient} {
			r, ok := p.Ratios[it][mt]
			if !ok {
				v.Add(at+".ratios."+it+"."+mt, "is required (fund ratio such as \"0.85\")")
			} else if !validRatio(r) {
				v.Add(at+".ratios."+it+"."+mt, "must be between 0 and 1, got %s", r)
			}
		}
	}
	validateInpatientDeductible(v, at, p)
	switch p.UnfiledRule {
	case UnfiledRefuse:
	case UnfiledRatio:
		if !validRatio(p.UnfiledRatio) {
			v.Add(at+".unfiled_ratio", "must be between 0 and 1, got %s", p.UnfiledRatio)
		}
	default:
		v.Add(at+".unfiled_rule", "must be %q or %q, got %q", UnfiledRefuse, UnfiledRatio, p.UnfiledRule)
	}
}

func validateItem(v *settle.ValidationError, at string, it CatalogueItem) {
	if it.MedListCodg == "" || len(it.MedListCodg) > 50 {
		v.Add(at+".med_list_codg", "is required (at most 50 bytes)")
	}
	if it.MedinsListCodg == "" || len(it.MedinsListCodg) > 50 {
		v.Add(at+".medins_list_codg", "is required (at most 50 bytes)")
	}
	if it.Name == "" {
		v.Add(at+".name", "is required")
	}
	switch it.Class {
	case ClassA, ClassC:
		if !it.SelfpayProp.IsZero() {
			v.Add(at+".selfpay_prop", "only 乙 items have a self-pay share, got %s for %s", it.SelfpayProp, it.Class)
		}
	case ClassB:
		if !it.SelfpayProp.IsPositive() || !validRatio(it.SelfpayProp) {
			v.Add(at+".selfpay_prop", "a 乙 item needs a self-pay share above 0 and at most 1, got %s", it.SelfpayProp)
		}
	default:
		v.Add(at+".class", "must be 甲, 乙 or 丙, got %q", it.Class)
	}
	if it.Price < 0 {
		v.Add(at+".price", "must not be negative")
	}
	if it.PriceCeiling < 0 {
		v.Add(at+".price_ceiling", "must not be negative")
	}
}

func isAdmdvs(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func stripDashes(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// CheckCertno checks an 18-character resident ID number: 17 digits, a valid birth date
// and the GB 11643 check character (0-9 or X).
func CheckCertno(s string) error {
	if len(s) != 18 {
		return fmt.Errorf("ID number must have 18 characters, got %d", len(s))
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("ID number must start with 17 digits")
		}
	}
	if _, err := time.Parse("20060102", s[6:14]); err != nil {
		return fmt.Errorf("ID number holds no valid birth date (%s)", s[6:14])
	}
	if want := certnoCheck(s[:17]); s[17] != want {
		return fmt.Errorf("ID number check character is %c but GB 11643 gives %c", s[17], want)
	}
	return nil
}

// certnoCheck computes the GB 11643 check character of 17 digits.
func certnoCheck(s string) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

// Cards returns the cards the fixture's persons carry, as a card reader yields them:
// for each person a social security card (03) and, when set, an e-voucher (01).
func (f *Fixture) Cards() []settle.Card {
	cards := make([]settle.Card, 0, 2*len(f.Persons))
	for _, p := range f.Persons {
		cards = append(cards, settle.Card{
			CertType:    settle.CertSSCard,
			RegionCode:  p.CardRegion,
			SSN:         p.Certno,
			CardNo:      p.CardNo,
			CardSN:      p.CardSN,
			Name:        p.Name,
			SpecVersion: "3.00",
			IssueDate:   "20200101",
			ExpiryDate:  "20300101",
		})
		if p.ECToken != "" {
			cards = append(cards, settle.Card{CertType: settle.CertEVoucher, CardNo: p.ECToken, Name: p.Name})
		}
	}
	return cards
}

// Catalogue returns a copy of the treatment area's catalogue, in fixture order.
func (f *Fixture) Catalogue() []CatalogueItem {
	return append([]CatalogueItem(nil), f.Items...)
}

// Person returns the fixture person with psn_no, or false.
func (f *Fixture) Person(psnNo string) (FixturePerson, bool) {
	for _, p := range f.Persons {
		if p.PsnNo == psnNo {
			return p, true
		}
	}
	return FixturePerson{}, false
}
