package settle

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Certificate types (mdtrt_cert_type) a patient identifies with.
const (
	CertEVoucher = "01" // 医保电子凭证 ecToken
	CertIDNumber = "02" // 居民身份证号
	CertSSCard   = "03" // 社会保障卡
)

// Medical types (med_type) the agent settles.
const (
	MedTypeOutpatient = "11" // 普通门诊
	MedTypeChronic    = "14" // 门诊慢特病
	MedTypeInpatient  = "21" // 住院
)

// Insurance types (insutype).
const (
	InsutypeEmployee = "310" // 职工基本医疗保险
	InsutypeResident = "390" // 城乡居民基本医疗保险
)

// Bill is one outpatient charge at one window, as the HIS sends it. Its BillNo is its
// identity everywhere: the idempotency key, the queue ordering key, the chrg_bchno.
type Bill struct {
	BillNo    string    `json:"bill_no"`
	Window    string    `json:"window"`
	Patient   Patient   `json:"patient"`
	MedType   string    `json:"med_type"`
	Dept      Code      `json:"dept"`
	Doctor    Code      `json:"doctor"`
	Diagnoses []Code    `json:"diagnoses"`
	Items     []Item    `json:"items"`
	Total     Money     `json:"total"`
	CreatedAt time.Time `json:"created_at"`
}

// Patient names who is being charged: the certificate shown at the window.
type Patient struct {
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	CardSN        string `json:"card_sn,omitempty"`
	PsnNo         string `json:"psn_no,omitempty"`
	PsnName       string `json:"psn_name,omitempty"`
	PsnCertType   string `json:"psn_cert_type,omitempty"` // e-voucher: from the decode service
	Certno        string `json:"certno,omitempty"`        // e-voucher: from the decode service
}

// Code is a code with its display name (department, doctor, diagnosis).
type Code struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Item is one bill line with the HIS's own item code. MedListCodg and
// MedinsListCodg are filled by the item code mapping (目录对照), never by the HIS.
type Item struct {
	Line           int    `json:"line"`
	HISCode        string `json:"his_code"`
	Name           string `json:"name"`
	Qty            Qty    `json:"qty"`
	UnitPrice      Price  `json:"unit_price"`
	Amount         Money  `json:"amount"`
	MedListCodg    string `json:"med_list_codg,omitempty"`
	MedinsListCodg string `json:"medins_list_codg,omitempty"`
}

// FieldError is one problem with one field, named by its JSON path ("items[2].amount").
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// ValidationError lists every problem found in a value at once.
type ValidationError struct {
	What   string
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return fmt.Sprintf("invalid %s: %s", e.What, strings.Join(parts, "; "))
}

// Is makes errors.Is(err, ErrInvalid) true for every ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Add records a problem.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds a problem, nil otherwise.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Limits that keep a bill sane; the platform's own fields are smaller still.
const (
	MaxBillItems  = 500
	maxNameLen    = 100
	maxMoneyValue = Money(100_000_000_00) // 100 million yuan: no outpatient bill is larger
)

// Validate checks every rule of cashier-api.md and reports every broken one at once:
// amount = qty × unit_price rounded half-up to 0.01, total = sum of amounts, unique
// lines, at least one item, a diagnosis for med_type 14. Whether a chronic-disease
// diagnosis is one the patient qualifies for is the platform's knowledge (5301),
// checked by the agent.
func (b *Bill) Validate() error {
	v := &ValidationError{What: "bill"}
	checkIdentifier(v, "bill_no", b.BillNo)
	checkIdentifier(v, "window", b.Window)
	switch b.Patient.MdtrtCertType {
	case CertEVoucher, CertIDNumber, CertSSCard:
	case "":
		v.Add("patient.mdtrt_cert_type", "is required (01 e-voucher, 02 ID number, 03 social security card)")
	default:
		v.Add("patient.mdtrt_cert_type", "%q is not 01, 02 or 03", b.Patient.MdtrtCertType)
	}
	if strings.TrimSpace(b.Patient.MdtrtCertNo) == "" {
		v.Add("patient.mdtrt_cert_no", "is required")
	} else if len(b.Patient.MdtrtCertNo) > 512 || !PlainText(b.Patient.MdtrtCertNo) {
		v.Add("patient.mdtrt_cert_no", "must be plain text (no control or direction characters) and at most 512 characters")
	}
	checkText(v, "patient.card_sn", b.Patient.CardSN, 64)
	checkText(v, "patient.psn_no", b.Patient.PsnNo, 64)
	checkText(v, "patient.psn_name", b.Patient.PsnName, maxNameLen)
	checkText(v, "dept.code", b.Dept.Code, 50)
	checkText(v, "dept.name", b.Dept.Name, maxNameLen)
	checkText(v, "doctor.code", b.Doctor.Code, 50)
	checkText(v, "doctor.name", b.Doctor.Name, maxNameLen)
	switch b.MedType {
	case MedTypeOutpatient, MedTypeChronic, MedTypeInpatient:
	case "":
		v.Add("med_type", "is required (11 outpatient, 14 chronic/special disease, 21 inpatient)")
	default:
		v.Add("med_type", "%q is not a supported medical type (11, 14, 21)", b.MedType)
	}
	if b.MedType == MedTypeChronic && len(b.Diagnoses) == 0 {
		v.Add("diagnoses", "med_type 14 (chronic/special disease) needs the diagnosis it is treated for")
	}
	for i, d := range b.Diagnoses {
		if strings.TrimSpace(d.Code) == "" {
			v.Add(fmt.Sprintf("diagnoses[%d].code", i), "is required")
		} else {
			checkText(v, fmt.Sprintf("diagnoses[%d].code", i), d.Code, 50)
		}
		checkText(v, fmt.Sprintf("diagnoses[%d].name", i), d.Name, maxNameLen)
	}
	if len(b.Items) == 0 {
		v.Add("items", "a bill needs at least one item")
	}
	if len(b.Items) > MaxBillItems {
		v.Add("items", "%d items is more than the %d one bill may hold; split the bill", len(b.Items), MaxBillItems)
	}
	lines := make(map[int]int, len(b.Items))
	var sum Money
	overflow := false
	for i, it := range b.Items {
		checkItem(v, fmt.Sprintf("items[%d]", i), it, lines, i, maxMoneyValue)
		if s, err := sum.AddChecked(it.Amount); err == nil {
			sum = s
		} else {
			overflow = true
		}
	}
	switch {
	case len(b.Items) == 0:
	case overflow:
		v.Add("total", "the items' amounts add up to more than any bill may hold")
	case b.Total != sum:
		v.Add("total", "is %s but the items add up to %s", b.Total, sum)
	case sum <= 0:
		v.Add("total", "is %s: a bill of nothing is not sent to the platform; correct its items or do not send it", sum)
	}
	return v.Err()
}

// checkIdentifier applies the identifier rule (ValidIdentifier) to a field.
func checkIdentifier(v *ValidationError, field, s string) {
	if !ValidIdentifier(s) {
		v.Add(field, "%s", identifierReason(s))
	}
}

// checkCode checks a required code of the HIS's own (an item code): plain text, at
// most max bytes, none of the characters that would change a URL path.
func checkCode(v *ValidationError, field, s string, max int) {
	switch {
	case strings.TrimSpace(s) == "":
		v.Add(field, "is required")
	case len(s) > max:
		v.Add(field, "is longer than %d characters", max)
	case !PlainText(s) || strings.ContainsAny(s, "/\\?#%"):
		v.Add(field, "%q may hold letters, digits and - _ . only", truncate(s, 40))
	}
}

// checkText checks an optional free-text field: plain text (PlainText) of at most max
// characters.
func checkText(v *ValidationError, field, s string, max int) {
	switch {
	case !PlainText(s):
		v.Add(field, "holds a control, direction or separator character (%q)", truncate(s, 40))
	case utf8.RuneCountInString(s) > max:
		v.Add(field, "is longer than %d characters", max)
	}
}
