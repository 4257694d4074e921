package hisadapter

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	settle "github.com/settle-agent/settle-agent"
)

// csvColumns is the drop folder header (any order; extra columns are ignored except
// the optional ones below).
var csvColumns = []string{"bill_no", "window", "mdtrt_cert_type", "mdtrt_cert_no", "med_type", "diagnosis_code",
	"line", "his_code", "name", "qty", "unit_price", "amount"}

// csvOptional are columns a HIS may add: diagnosis names (aligned with the codes),
// the patient's name, the department and the doctor.
var csvOptional = []string{"diagnosis_name", "psn_name", "dept_code", "dept_name", "doctor_code", "doctor_name"}

// csvBillColumns repeat on every row of a bill and must agree.
var csvBillColumns = []string{"window", "mdtrt_cert_type", "mdtrt_cert_no", "med_type", "diagnosis_code",
	"diagnosis_name", "psn_name", "dept_code", "dept_name", "doctor_code", "doctor_name"}

// maxCSVProblems stops reading a file that is clearly not a bill export.
const maxCSVProblems = 1000

// csvBill is a bill with the file lines it came from.
type csvBill struct {
	bill  settle.Bill
	first int   // line of its first row
	lines []int // line of each item, index = item index
	bad   bool  // a row had a problem: the bill is not submitted
}

// ParseCSV reads a drop folder file: a header row, then one row per item with the
// bill-level columns repeated, rows grouped into bills by bill_no in the order bills
// first appear. enc is "utf-8" (or "") or "gbk" (GB 18030); a UTF-8 byte order mark is
// tolerated. Every bill built is complete and passes settle.Bill.Validate (its total is
// the sum of its amounts; CreatedAt is left zero for the caller). Problems come back
// per line; a bill with any problem is left out whole, never half. The error is only
// for an unknown encoding or unreadable input.
func ParseCSV(r io.Reader, enc string) ([]settle.Bill, []LineError, error) {
	bills, problems, err := parseCSVBills(r, enc, "")
	if err != nil {
		return nil, nil, err
	}
	var out []settle.Bill
	for _, b := range bills {
		if !b.bad {
			out = append(out, b.bill)
		}
	}
	return out, problems, nil
}

// parseCSVBills is ParseCSV keeping each bill's lines; defaultWindow fills an empty
// window column.
func parseCSVBills(r io.Reader, enc, defaultWindow string) ([]*csvBill, []LineError, error) {
	e, err := textEncoding(enc)
	if err != nil {
		return nil, nil, err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
	var problems []LineError
	text, err := decodeText(raw, e)
	if err != nil {
		line := 0
		if e == nil {
			line = firstInvalidUTF8Line(bytes.TrimPrefix(raw, utf8BOM))
		}
		return nil, []LineError{{Line: line, Reason: err.Error()}}, nil
	}
	cr := csv.NewReader(bytes.NewReader(text))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("file is empty; the first line must be the header " + strings.Join(csvColumns, ","))
		}
		return nil, []LineError{{Line: 1, Reason: err.Error()}}, nil
	}
	col, missing := columnIndex(header, csvColumns)
	if len(missing) > 0 {
		return nil, []LineError{{Line: 1, Reason: fmt.Sprintf("header lacks column(s) %s; it must be %s",
			strings.Join(missing, ", "), strings.Join(csvColumns, ","))}}, nil
	}
	opt, _ := columnIndex(header, csvOptional)
	for k, v := range opt {
		col[k] = v
	}
	var bills []*csvBill
	byNo := make(map[string]*csvBill)
	firstRow := make(map[string][]string) // bill_no → its first row, for the repeated columns
	for len(problems) < maxCSVProblems {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			problems = append(problems, LineError{Line: pe.Line, Reason: "not a CSV row: " + pe.Err.Error()})
			continue
		} else if err != nil {
			return nil, nil, fmt.Errorf("read csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		no := get("bill_no")
		if no == "" {
			problems = append(problems, LineError{Line: line, Field: "bill_no", Reason: "is required"})
			continue
		}
		b := byNo[no]
		if b == nil {
			b = &csvBill{first: line, bill: csvBillHeader(get)}
			b.bill.BillNo = no
			if b.bill.Window == "" {
				b.bill.Window = defaultWindow
			}
			bills = append(bills, b)
			byNo[no] = b
			firstRow[no] = rec
		} else {
			for _, c := range csvBillColumns {
				i, ok := col[c]
				if !ok {
					continue
				}
				was, now := cell(firstRow[no], i), cell(rec, i)
				if was != now {
					problems = append(problems, LineError{Line: line, BillNo: no, Field: c, Reason: fmt.Sprintf(
						"%q differs from %q on line %d (bill-level columns repeat on every row of a bill)", truncate(now, 40), truncate(was, 40), b.first)})
					b.bad = true
				}
			}
		}
		it, rowProblems := csvItem(get, line, no)
		if len(rowProblems) > 0 {
			problems = append(problems, rowProblems...)
			b.bad = true
		}
		b.bill.Items = append(b.bill.Items, it)
		b.bill.Total += it.Amount
		b.lines = append(b.lines, line)
	}
	if len(problems) >= maxCSVProblems {
		problems = append(problems, LineError{Reason: fmt.Sprintf("stopped after %d problems", maxCSVProblems)})
	}
	problems = addValidation(problems, len(bills), func(i int) csvGroup { return bills[i] })
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	return bills, problems, nil
}

func cell(rec []string, i int) string {
	if i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// csvBillHeader reads the bill-level columns of a row.
func csvBillHeader(get func(string) string) settle.Bill {
	b := settle.Bill{
		Window:  get("window"),
		MedType: get("med_type"),
		Patient: settle.Patient{MdtrtCertType: get("mdtrt_cert_type"), MdtrtCertNo: get("mdtrt_cert_no"), PsnName: get("psn_name")},
		Dept:    settle.Code{Code: get("dept_code"), Name: get("dept_name")},
		Doctor:  settle.Code{Code: get("doctor_code"), Name: get("doctor_name")},
	}
	codes, names := splitList(get("diagnosis_code")), splitList(get("diagnosis_name"))
	for i, c := range codes {
		d := settle.Code{Code: c}
		if i < len(names) {
			d.Name = names[i]
		}
		b.Diagnoses = append(b.Diagnoses, d)
	}
	return b
}

// splitList splits "I10.x00;E11.900" (';' or '|' between several diagnoses).
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' || r == '；' })
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func csvItem(get func(string) string, line int, billNo string) (settle.Item, []LineError) {
	var problems []LineError
	add := func(field, format string, args ...any) {
		problems = append(problems, LineError{Line: line, BillNo: billNo, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	it := settle.Item{HISCode: get("his_code"), Name: get("name")}
	var err error
	if s := get("line"); s == "" {
		add("line", "is required")
	} else if it.Line, err = strconv.Atoi(s); err != nil || it.Line <= 0 {
		add("line", "%q is not a positive whole number", truncate(s, 20))
	}
	if s := get("qty"); s == "" {
		add("qty", "is required")
	} else if it.Qty, err = settle.ParseQty(s); err != nil {
		add("qty", "%q is not a quantity (a decimal with at most 4 places)", truncate(s, 20))
	}
	if s := get("unit_price"); s == "" {
		add("unit_price", "is required")
	} else if it.UnitPrice, err = settle.ParsePrice(s); err != nil {
		add("unit_price", "%q is not a price (a decimal with at most 6 places)", truncate(s, 20))
	}
	if s := get("amount"); s == "" {
		add("amount", "is required")
	} else if it.Amount, err = settle.ParseInputMoney(s); err != nil {
		add("amount", "%q is not an amount (a decimal with at most 2 places)", truncate(s, 20))
	}
	return it, problems
}

var csvItemPath = regexp.MustCompile(`^items\[(\d+)\]\.?(.*)$`)

// lineError places a bill field problem on the line it came from: an item's on its
// row, a bill-level one on the bill's first row.
func (b *csvBill) validate() error { return b.bill.Validate() }
func (b *csvBill) markBad()        { b.bad = true }

// csvGroup is what one CSV file's bill or fee batch offers addValidation.
type csvGroup interface {
	validate() error
	lineError(path, reason string) LineError
	markBad()
}

// addValidation validates every group of a file, also those with a bad row, so one
// pass lists every problem; a problem already reported for that line and column is
// not repeated. It returns problems with the new ones appended.
func addValidation(problems []LineError, n int, group func(int) csvGroup) []LineError {
	type spot struct {
		line  int
		field string
	}
	reported := make(map[spot]bool, len(problems))
	for _, p := range problems {
		reported[spot{p.Line, p.Field}] = true
	}
	for i := 0; i < n; i++ {
		g := group(i)
		var ve *settle.ValidationError
		if err := g.validate(); errors.As(err, &ve) {
			g.markBad()
			for _, f := range ve.Fields {
				if e := g.lineError(f.Field, f.Reason); !reported[spot{e.Line, e.Field}] {
					problems = append(problems, e)
				}
			}
		}
	}
	return problems
}

func (b *csvBill) lineError(path, reason string) LineError {
	e := LineError{Line: b.first, BillNo: b.bill.BillNo, Field: path, Reason: reason}
	if m := csvItemPath.FindStringSubmatch(path); m != nil {
		if i, err := strconv.Atoi(m[1]); err == nil && i < len(b.lines) {
			e.Line = b.lines[i]
			if m[2] != "" {
				e.Field = m[2]
			}
		}
	}
	switch e.Field {
	case "patient.mdtrt_cert_type", "patient.mdtrt_cert_no":
		e.Field = strings.TrimPrefix(e.Field, "patient.")
	case "diagnoses":
		e.Field = "diagnosis_code"
	}
	if strings.HasPrefix(e.Field, "diagnoses[") {
		e.Field = "diagnosis_code"
	}
	return e
}
