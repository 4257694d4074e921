package hisadapter

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// stayCSVColumns is the header of a drop folder file of inpatient fees (any order;
// extra columns are ignored). A file whose header holds ipt_no is such a file.
var stayCSVColumns = []string{"ipt_no", "batch_no", "line", "his_code", "name", "qty", "unit_price", "amount", "occurred_at"}

// csvBatch is a fee batch with the file lines it came from.
type csvBatch struct {
	batch settle.FeeBatch
	first int
	lines []int
	bad   bool
}

// key names the batch in problems and reports: "ipt_no/batch_no".
func (b *csvBatch) key() string { return b.batch.IptNo + "/" + b.batch.BatchNo }

// isStayCSV reports whether a drop folder file is a file of inpatient fee batches: its
// header row (decoded with enc) has an ipt_no column.
func isStayCSV(raw []byte, enc string) bool {
	e, err := textEncoding(enc)
	if err != nil {
		return false
	}
	line := raw
	if i := bytes.IndexAny(raw, "\r\n"); i >= 0 {
		line = raw[:i]
	}
	text, err := decodeText(line, e)
	if err != nil {
		return false
	}
	header, err := csv.NewReader(bytes.NewReader(text)).Read()
	if err != nil {
		return false
	}
	_, missing := columnIndex(header, []string{"ipt_no"})
	return len(missing) == 0
}

// stayTimeLayouts are the forms occurred_at may take; without an offset it is Beijing time.
var stayTimeLayouts = []string{"2006-01-02 15:04:05", time.RFC3339, "2006-01-02T15:04:05", "20060102150405", "2006-01-02 15:04"}

func parseStayTime(s string) (time.Time, bool) {
	for _, l := range stayTimeLayouts {
		if t, err := time.ParseInLocation(l, s, chinaTime); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ParseStayCSV reads a drop folder file of inpatient fees: a header row, then one row
// per fee line, rows grouped into batches by (ipt_no, batch_no) in the order batches
// first appear. enc is "utf-8" (or "") or "gbk". occurred_at is "yyyy-MM-dd HH:mm:ss"
// (Beijing time) or RFC 3339. Every batch returned passes settle.FeeBatch.Validate;
// problems come back per line, and a batch with any problem is left out whole. The
// error is only for an unknown encoding or unreadable input.
func ParseStayCSV(r io.Reader, enc string) ([]settle.FeeBatch, []LineError, error) {
	batches, problems, err := parseStayCSVBatches(r, enc)
	if err != nil {
		return nil, nil, err
	}
	var out []settle.FeeBatch
	for _, b := range batches {
		if !b.bad {
			out = append(out, b.batch)
		}
	}
	return out, problems, nil
}

func parseStayCSVBatches(r io.Reader, enc string) ([]*csvBatch, []LineError, error) {
	e, err := textEncoding(enc)
	if err != nil {
		return nil, nil, err
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
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
			err = errors.New("file is empty; the first line must be the header " + strings.Join(stayCSVColumns, ","))
		}
		return nil, []LineError{{Line: 1, Reason: err.Error()}}, nil
	}
	col, missing := columnIndex(header, stayCSVColumns)
	if len(missing) > 0 {
		return nil, []LineError{{Line: 1, Reason: fmt.Sprintf("header lacks column(s) %s; an inpatient fee file must have %s",
			strings.Join(missing, ", "), strings.Join(stayCSVColumns, ","))}}, nil
	}
	var problems []LineError
	var batches []*csvBatch
	byKey := make(map[string]*csvBatch)
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
		ipt, no := get("ipt_no"), get("batch_no")
		if ipt == "" || no == "" {
			for _, c := range []string{"ipt_no", "batch_no"} {
				if get(c) == "" {
					problems = append(problems, LineError{Line: line, Field: c, Reason: "is required"})
				}
			}
			continue
		}
		k := ipt + "\x00" + no
		b := byKey[k]
		if b == nil {
			b = &csvBatch{first: line, batch: settle.FeeBatch{IptNo: ipt, BatchNo: no}}
			batches = append(batches, b)
			byKey[k] = b
		}
		it, rowProblems := csvItem(get, line, b.key())
		fi := settle.FeeItem{Item: it}
		if s := get("occurred_at"); s == "" {
			rowProblems = append(rowProblems, LineError{Line: line, BillNo: b.key(), Field: "occurred_at", Reason: "is required (yyyy-MM-dd HH:mm:ss)"})
		} else if t, ok := parseStayTime(s); !ok {
			rowProblems = append(rowProblems, LineError{Line: line, BillNo: b.key(), Field: "occurred_at",
				Reason: fmt.Sprintf("%q is not a time yyyy-MM-dd HH:mm:ss (Beijing) or RFC 3339", truncate(s, 30))})
		} else {
			fi.OccurredAt = t
		}
		if len(rowProblems) > 0 {
			problems = append(problems, rowProblems...)
			b.bad = true
		}
		b.batch.Items = append(b.batch.Items, fi)
		b.lines = append(b.lines, line)
	}
	if len(problems) >= maxCSVProblems {
		problems = append(problems, LineError{Reason: fmt.Sprintf("stopped after %d problems", maxCSVProblems)})
	}
	problems = addValidation(problems, len(batches), func(i int) csvGroup { return batches[i] })
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	return batches, problems, nil
}

// lineError places a batch field problem on the line it came from.
func (b *csvBatch) validate() error { return b.batch.Validate() }
func (b *csvBatch) markBad()        { b.bad = true }

func (b *csvBatch) lineError(path, reason string) LineError {
	e := LineError{Line: b.first, BillNo: b.key(), Field: path, Reason: reason}
	if m := csvItemPath.FindStringSubmatch(path); m != nil {
		var i int
		if _, err := fmt.Sscan(m[1], &i); err == nil && i < len(b.lines) {
			e.Line = b.lines[i]
			if m[2] != "" {
				e.Field = m[2]
			}
		}
	}
	return e
}
