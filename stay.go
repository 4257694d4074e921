package settle

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// A stay (住院) is one inpatient admission. The HIS inpatient number (IptNo) is its
// identity everywhere: the idempotency key of the admission, the queue ordering key of
// every message of the stay, the ipt_no sent with 2401 and the one 5201 finds it by.
// Its fee batches are identified by BatchNo within the stay.

// StayState is where a stay stands (cashier-api.md "Inpatient stays").
type StayState string

// States of a stay: admitted → discharged → settled, and cancelled, queued (waiting
// for the platform), failed (a business error needing a person) and dead (gave up
// after the retry horizon), as for bills.
const (
	StayQueued     StayState = "queued"
	StayAdmitted   StayState = "admitted"
	StayDischarged StayState = "discharged"
	StaySettled    StayState = "settled"
	StayCancelled  StayState = "cancelled"
	StayFailed     StayState = "failed"
	StayDead       StayState = "dead"
)

// Discharge ways (dscg_way) the agent accepts; DscgWayAdvice is the default.
const (
	DscgWayAdvice   = "1" // 医嘱离院 by medical advice
	DscgWayTransfer = "2" // 医嘱转院 transferred to another hospital
	DscgWayCommune  = "3" // 医嘱转社区/乡镇卫生院
	DscgWayAgainst  = "4" // 非医嘱离院 against medical advice
	DscgWayDeath    = "5" // 死亡
	DscgWayOther    = "9" // 其他
)

// Limits of a stay's inputs.
const (
	MaxBatchItems   = MaxBillItems // lines in one fee batch (one 2301)
	MaxDiagnoses    = 20
	maxBedLen       = 30
	maxMedrcdnoLen  = 30
	maxStayMoney    = Money(100_000_000_00) // 100 million yuan
	maxDiagCodeLen  = 30
	maxDiagNameLen  = 100
	maxIdentityNote = 40
)

// Admission is the body of POST /v1/stays: one inpatient admission (2401 入院办理).
type Admission struct {
	IptNo      string    `json:"ipt_no"`
	Window     string    `json:"window"`
	Patient    Patient   `json:"patient"`
	Dept       Code      `json:"dept"`
	Doctor     Code      `json:"doctor"`
	Bed        string    `json:"bed,omitempty"`
	Medrcdno   string    `json:"medrcdno,omitempty"` // case record number (病案号); default: ipt_no
	Diagnoses  []Code    `json:"diagnoses"`          // admission diagnoses, the first is the main one
	AdmittedAt time.Time `json:"admitted_at"`
}

// FeeItem is one inpatient fee line: a bill item plus the time it was incurred
// (fee_ocur_time; fees are typically uploaded day by day).
type FeeItem struct {
	Item
	OccurredAt time.Time `json:"occurred_at"`
}

// FeeBatch is the body of POST /v1/stays/{ipt_no}/fees: the fees of one upload (2301),
// idempotent by BatchNo within the stay. IptNo is filled from the path.
type FeeBatch struct {
	IptNo   string    `json:"ipt_no,omitempty"`
	BatchNo string    `json:"batch_no"`
	Items   []FeeItem `json:"items"`
}

// Total is the sum of the batch's amounts.
func (b *FeeBatch) Total() Money {
	var sum Money
	for _, it := range b.Items {
		sum += it.Amount
	}
	return sum
}

// Discharge is the body of POST /v1/stays/{ipt_no}/discharge (2402 出院办理). IptNo is
// filled from the path; DscgWay defaults to DscgWayAdvice.
type Discharge struct {
	IptNo        string    `json:"ipt_no,omitempty"`
	DischargedAt time.Time `json:"discharged_at"`
	Diagnoses    []Code    `json:"diagnoses"` // discharge diagnoses, the first is the main one
	DscgWay      string    `json:"dscg_way,omitempty"`
	Dept         Code      `json:"dept,omitempty"` // discharging department; default: the admitting one
}

// StaySettle is the body of POST /v1/stays/{ipt_no}/presettle and /settle (2303, 2304).
// MidSetl asks for a mid-stay settlement (中途结算, mid_setl_flag "1") of the fees so
// far; the stay stays open. AcctUsedFlag defaults to "1", PsnSetlway to "01".
type StaySettle struct {
	MidSetl      bool   `json:"mid_setl"`
	AcctUsedFlag string `json:"acct_used_flag,omitempty"`
	PsnSetlway   string `json:"psn_setlway,omitempty"`
}

// AdmissionChange is a change of an admission while the patient is in hospital (2403
// 入院信息变更): the fields set replace the admission's.
type AdmissionChange struct {
	IptNo  string `json:"ipt_no,omitempty"`
	Dept   Code   `json:"dept,omitempty"`
	Doctor Code   `json:"doctor,omitempty"`
	Bed    string `json:"bed,omitempty"`
}

// Validate requires something to change, each field within its limits.
func (c *AdmissionChange) Validate() error {
	v := &ValidationError{What: "admission change"}
	if c.IptNo != "" {
		checkIdentifier(v, "ipt_no", c.IptNo)
	}
	if c.Dept.Code == "" && c.Doctor.Code == "" && c.Doctor.Name == "" && c.Bed == "" {
		v.Add("bed", "an admission change needs a bed, a department or a doctor")
	}
	checkCodeName(v, "dept", c.Dept, false)
	checkCodeName(v, "doctor", c.Doctor, false)
	if len(c.Bed) > maxBedLen || !PlainText(c.Bed) {
		v.Add("bed", "must be plain text and at most %d characters", maxBedLen)
	}
	return v.Err()
}

// StayCancelSettlement is the body of POST /v1/stays/{ipt_no}/cancel-settlement (2305).
type StayCancelSettlement struct {
	SetlID string `json:"setl_id"`
}

// Stay is what the agent knows of one admission, as GET /v1/stays/{ipt_no} shows it.
type Stay struct {
	IptNo       string            `json:"ipt_no"`
	State       StayState         `json:"state"`
	MdtrtID     string            `json:"mdtrt_id,omitempty"`
	PsnNo       string            `json:"psn_no,omitempty"`
	Admission   Admission         `json:"admission"`
	Batches     []StayBatch       `json:"fee_batches"`
	Discharge   *Discharge        `json:"discharge,omitempty"`
	Settlements []StaySettlement  `json:"settlements"`
	Total       Money             `json:"total"` // the live fee batches' sum
	Unsettled   Money             `json:"unsettled"`
	Error       *StayErrorSummary `json:"error,omitempty"`
}

// StayBatch is one fee batch of a stay and where it stands.
type StayBatch struct {
	BatchNo   string `json:"batch_no"`
	Items     int    `json:"items"`
	Total     Money  `json:"total"`
	State     string `json:"state"` // queued, uploaded, settled, cancelled, failed
	SettledBy string `json:"settled_by,omitempty"`
}

// StaySettlement is one settlement (final or mid-stay) of a stay.
type StaySettlement struct {
	Split
	Mid       bool      `json:"mid_setl"`
	Cancelled bool      `json:"cancelled"`
	SettledAt time.Time `json:"settled_at"`
}

// StayErrorSummary says why a stay needs a person.
type StayErrorSummary struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Validate checks an admission and reports every broken rule at once: ipt_no and window
// identifiers, the patient's certificate, at least one diagnosis (the admission
// diagnosis 2401 carries), codes and names within their lengths, and admitted_at set.
func (a *Admission) Validate() error {
	v := &ValidationError{What: "admission"}
	checkIdentifier(v, "ipt_no", a.IptNo)
	checkIdentifier(v, "window", a.Window)
	checkPatient(v, a.Patient)
	checkCodeName(v, "dept", a.Dept, true)
	checkCodeName(v, "doctor", a.Doctor, false)
	if len(a.Bed) > maxBedLen || !PlainText(a.Bed) {
		v.Add("bed", "must be printable and at most %d characters", maxBedLen)
	}
	if a.Medrcdno != "" && !ValidIdentifier(a.Medrcdno) {
		v.Add("medrcdno", "must be 1 to %d letters, digits, '.', '_' or '-'", maxMedrcdnoLen)
	}
	checkDiagnoses(v, "diagnoses", a.Diagnoses, "an admission needs its admission diagnosis (入院诊断)")
	if a.AdmittedAt.IsZero() {
		v.Add("admitted_at", "is required (RFC 3339, such as 2026-11-23T09:12:00+08:00)")
	}
	return v.Err()
}

// Validate checks a fee batch and reports every broken rule at once: batch_no an
// identifier, 1 to MaxBatchItems lines with unique line numbers, each with a HIS code,
// a positive quantity, amount = qty × unit_price rounded half-up to 0.01 and an
// occurred_at time.
func (b *FeeBatch) Validate() error {
	v := &ValidationError{What: "fee batch"}
	if b.IptNo != "" {
		checkIdentifier(v, "ipt_no", b.IptNo)
	}
	checkIdentifier(v, "batch_no", b.BatchNo)
	if len(b.Items) == 0 {
		v.Add("items", "a fee batch needs at least one item")
	}
	if len(b.Items) > MaxBatchItems {
		v.Add("items", "%d items is more than the %d one batch may hold; split the batch", len(b.Items), MaxBatchItems)
	}
	lines := make(map[int]int, len(b.Items))
	for i, it := range b.Items {
		p := fmt.Sprintf("items[%d]", i)
		checkItem(v, p, it.Item, lines, i, maxStayMoney)
		if it.OccurredAt.IsZero() {
			v.Add(p+".occurred_at", "is required (the time the fee was incurred)")
		}
	}
	return v.Err()
}

// Validate checks a discharge: discharged_at set, at least one discharge diagnosis,
// dscg_way one of 1, 2, 3, 4, 5, 9 when given.
func (d *Discharge) Validate() error {
	v := &ValidationError{What: "discharge"}
	if d.IptNo != "" {
		checkIdentifier(v, "ipt_no", d.IptNo)
	}
	if d.DischargedAt.IsZero() {
		v.Add("discharged_at", "is required (RFC 3339, such as 2026-11-25T10:00:00+08:00)")
	}
	checkDiagnoses(v, "diagnoses", d.Diagnoses, "a discharge needs its main discharge diagnosis (出院主诊断)")
	switch d.DscgWay {
	case "", DscgWayAdvice, DscgWayTransfer, DscgWayCommune, DscgWayAgainst, DscgWayDeath, DscgWayOther:
	default:
		v.Add("dscg_way", "%q is not a discharge way (1 advice, 2 transfer, 3 community, 4 against advice, 5 death, 9 other)", truncate(d.DscgWay, 10))
	}
	checkCodeName(v, "dept", d.Dept, false)
	return v.Err()
}

// Validate checks acct_used_flag ("0" or "1") and psn_setlway ("01" or "02") when given.
func (s *StaySettle) Validate() error {
	v := &ValidationError{What: "settlement request"}
	switch s.AcctUsedFlag {
	case "", "0", "1":
	default:
		v.Add("acct_used_flag", "%q is not 0 or 1", truncate(s.AcctUsedFlag, 10))
	}
	switch s.PsnSetlway {
	case "", "01", "02":
	default:
		v.Add("psn_setlway", "%q is not 01 (by item) or 02 (by quota)", truncate(s.PsnSetlway, 10))
	}
	return v.Err()
}

// Validate requires setl_id.
func (c *StayCancelSettlement) Validate() error {
	v := &ValidationError{What: "settlement cancellation"}
	switch {
	case strings.TrimSpace(c.SetlID) == "":
		v.Add("setl_id", "is required (the setl_id of the settlement to cancel)")
	case len(c.SetlID) > 64 || !PlainText(c.SetlID):
		v.Add("setl_id", "must be printable and at most 64 characters")
	}
	return v.Err()
}

func checkPatient(v *ValidationError, p Patient) {
	switch p.MdtrtCertType {
	case CertEVoucher, CertIDNumber, CertSSCard:
	case "":
		v.Add("patient.mdtrt_cert_type", "is required (01 e-voucher, 02 ID number, 03 social security card)")
	default:
		v.Add("patient.mdtrt_cert_type", "%q is not 01, 02 or 03", truncate(p.MdtrtCertType, 10))
	}
	if strings.TrimSpace(p.MdtrtCertNo) == "" {
		v.Add("patient.mdtrt_cert_no", "is required")
	} else if len(p.MdtrtCertNo) > 512 || !PlainText(p.MdtrtCertNo) {
		v.Add("patient.mdtrt_cert_no", "must be printable and at most 512 characters")
	}
	if len(p.CardSN) > 64 || !PlainText(p.CardSN) {
		v.Add("patient.card_sn", "must be printable and at most 64 characters")
	}
	if utf8.RuneCountInString(p.PsnName) > maxNameLen || !PlainText(p.PsnName) {
		v.Add("patient.psn_name", "must be printable and at most %d characters", maxNameLen)
	}
}

func checkCodeName(v *ValidationError, field string, c Code, required bool) {
	if required && strings.TrimSpace(c.Code) == "" {
		v.Add(field+".code", "is required")
	} else if len(c.Code) > maxDiagCodeLen || !PlainText(c.Code) {
		v.Add(field+".code", "must be printable and at most %d characters", maxDiagCodeLen)
	}
	if utf8.RuneCountInString(c.Name) > maxNameLen || !PlainText(c.Name) {
		v.Add(field+".name", "must be printable and at most %d characters", maxNameLen)
	}
}

func checkDiagnoses(v *ValidationError, field string, ds []Code, missing string) {
	if len(ds) == 0 {
		v.Add(field, "%s", missing)
	}
	if len(ds) > MaxDiagnoses {
		v.Add(field, "%d diagnoses is more than %d", len(ds), MaxDiagnoses)
	}
	for i, d := range ds {
		p := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case strings.TrimSpace(d.Code) == "":
			v.Add(p+".code", "is required")
		case len(d.Code) > maxDiagCodeLen || !PlainText(d.Code):
			v.Add(p+".code", "must be printable and at most %d characters", maxDiagCodeLen)
		}
		if utf8.RuneCountInString(d.Name) > maxDiagNameLen || !PlainText(d.Name) {
			v.Add(p+".name", "must be printable and at most %d characters", maxDiagNameLen)
		}
	}
}

// checkItem checks one bill or fee line (Bill.Validate, FeeBatch.Validate); lines
// maps line numbers to indexes; most is the largest amount one line may hold.
func checkItem(v *ValidationError, p string, it Item, lines map[int]int, i int, most Money) {
	if it.Line <= 0 {
		v.Add(p+".line", "must be a positive number, got %d", it.Line)
	} else if j, dup := lines[it.Line]; dup {
		v.Add(p+".line", "line %d already used by items[%d]", it.Line, j)
	} else {
		lines[it.Line] = i
	}
	checkCode(v, p+".his_code", it.HISCode, 50)
	checkText(v, p+".name", it.Name, maxNameLen)
	if it.Qty <= 0 {
		v.Add(p+".qty", "must be more than zero, got %s", it.Qty)
	}
	if it.UnitPrice < 0 {
		v.Add(p+".unit_price", "must not be negative, got %s", it.UnitPrice)
	}
	if it.Amount < 0 || it.Amount > most {
		v.Add(p+".amount", "%s is out of range", it.Amount)
	} else if it.Qty > 0 && it.UnitPrice >= 0 {
		// The product is exact and checked: a qty × unit_price beyond Money (or beyond
		// any line) is refused, never compared as a wrapped value.
		switch want, err := LineAmountChecked(it.Qty, it.UnitPrice); {
		case err != nil || want > most:
			v.Add(p+".amount", "line %d: qty %s × unit_price %s is more than %s, the most one line may hold", it.Line, it.Qty, it.UnitPrice, most)
		case want != it.Amount:
			v.Add(p+".amount", "is %s but qty %s × unit_price %s = %s", it.Amount, it.Qty, it.UnitPrice, want)
		}
	}
}
