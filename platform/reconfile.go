package platform

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	settle "github.com/settle-agent/settle-agent"
)

// The 3202 file exchange. The hospital uploads (9101) a zip holding one text file, one
// settlement a line, tab-separated:
//
//	setl_id  mdtrt_id  psn_no  medfee_sumamt  fund_pay_sumamt  acct_pay  refd_setl_flag
//
// 3202 names that file by its file_qury_no and answers another file_qury_no; 9102
// fetches the result zip: one line per settlement that differs, by default
//
//	psn_no  mdtrt_id  setl_id  msgid  stmt_rslt  refd_setl_flag  memo  medfee_sumamt  fund_pay_sumamt  acct_pay
//
// (the column order is configuration, Options.ReconResultColumns, and a first line
// that names the columns is used as the header). The text is UTF-8; a GBK file (as
// some provinces write) is read too.

// DetailReconFileInput is the input of 3202 医药机构费用结算对明细账.
type DetailReconFileInput struct {
	Data DetailReconFileData `json:"data"`
}

// DetailReconFileData is the hospital's totals for the period and the uploaded file.
type DetailReconFileData struct {
	SetlOptins       string `json:"setl_optins"`
	FileQuryNo       string `json:"file_qury_no"`
	StmtBegndate     string `json:"stmt_begndate"`
	StmtEnddate      string `json:"stmt_enddate"`
	MedfeeSumamt     Amount `json:"medfee_sumamt"`
	FundPaySumamt    Amount `json:"fund_pay_sumamt"`
	CashPayamt       Amount `json:"cash_payamt"`
	FixmedinsSetlCnt int    `json:"fixmedins_setl_cnt"`
	// ClrType is sent only when set (some provinces' 3202 takes the clearing type).
	ClrType string `json:"clr_type,omitempty"`
}

// DetailReconFileOutput is the output of 3202: the result file to fetch with 9102.
type DetailReconFileOutput struct {
	Fileinfo FileInfo `json:"fileinfo"`
}

// Validate requires fileinfo.file_qury_no.
func (o *DetailReconFileOutput) Validate() error {
	if o.Fileinfo.FileQuryNo == "" {
		return badf("3202 answer has no fileinfo.file_qury_no")
	}
	return nil
}

// ReconFileRow is one settlement of the hospital's 3202 file. RefdSetlFlag is "1" for a
// cancelled (refunded) settlement, "0" otherwise.
type ReconFileRow struct {
	SetlID        string
	MdtrtID       string
	PsnNo         string
	MedfeeSumamt  Amount
	FundPaySumamt Amount
	AcctPay       Amount
	RefdSetlFlag  string
}

// ReconResultRow is one line of the 3202 result file: a settlement that differs, with
// the verdict (StmtPlatformMore, StmtHospitalMore, StmtDataDiffer) and the platform's
// msgid of it (usable as omsgid in a reversal). The amounts are the platform's.
type ReconResultRow struct {
	PsnNo         string `json:"psn_no"`
	MdtrtID       string `json:"mdtrt_id"`
	SetlID        string `json:"setl_id"`
	Msgid         string `json:"msgid"`
	StmtRslt      string `json:"stmt_rslt"`
	RefdSetlFlag  string `json:"refd_setl_flag"`
	Memo          string `json:"memo"`
	MedfeeSumamt  Amount `json:"medfee_sumamt"`
	FundPaySumamt Amount `json:"fund_pay_sumamt"`
	AcctPay       Amount `json:"acct_pay"`
}

// DefaultReconResultColumns is the column order of a 3202 result line.
var DefaultReconResultColumns = []string{"psn_no", "mdtrt_id", "setl_id", "msgid", "stmt_rslt", "refd_setl_flag", "memo", "medfee_sumamt", "fund_pay_sumamt", "acct_pay"}

// ReconFileColumns is the column order of the hospital's 3202 upload.
var ReconFileColumns = []string{"setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag"}

// Limits on files read from the platform.
const (
	maxZipEntryBytes = 64 << 20
	maxZipEntries    = 16
)

// ErrReconFile marks a 3202 file (upload or result) that cannot be read; it wraps
// ErrBadResponse when the file came from the platform.
var ErrReconFile = errors.New("bad reconciliation file")

// BuildReconFile returns a zip holding one text file named entry ("<name>.txt") with
// rows, tab-separated, "\n" after each line.
func BuildReconFile(entry string, rows []ReconFileRow) ([]byte, error) {
	var txt strings.Builder
	for _, r := range rows {
		for _, f := range []string{r.SetlID, r.MdtrtID, r.PsnNo, r.RefdSetlFlag} {
			if strings.ContainsAny(f, "\t\r\n") {
				return nil, fmt.Errorf("recon file row %s: a field holds a tab or line break: %w", r.SetlID, ErrReconFile)
			}
		}
		flag := r.RefdSetlFlag
		if flag == "" {
			flag = "0"
		}
		txt.WriteString(strings.Join([]string{r.SetlID, r.MdtrtID, r.PsnNo, r.MedfeeSumamt.String(), r.FundPaySumamt.String(), r.AcctPay.String(), flag}, "\t"))
		txt.WriteByte('\n')
	}
	return zipOne(entry, []byte(txt.String()))
}

// BuildReconResult returns a zip holding one text file named entry with rows in the
// given column order (DefaultReconResultColumns when nil). The simulator writes it.
func BuildReconResult(entry string, rows []ReconResultRow, columns []string) ([]byte, error) {
	if columns == nil {
		columns = DefaultReconResultColumns
	}
	var txt strings.Builder
	for _, r := range rows {
		vals := make([]string, len(columns))
		for i, c := range columns {
			vals[i] = r.field(c)
		}
		txt.WriteString(strings.Join(vals, "\t"))
		txt.WriteByte('\n')
	}
	return zipOne(entry, []byte(txt.String()))
}

func (r ReconResultRow) field(name string) string {
	switch name {
	case "psn_no":
		return r.PsnNo
	case "mdtrt_id":
		return r.MdtrtID
	case "setl_id":
		return r.SetlID
	case "msgid":
		return r.Msgid
	case "stmt_rslt":
		return r.StmtRslt
	case "refd_setl_flag":
		return r.RefdSetlFlag
	case "memo":
		return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(r.Memo)
	case "medfee_sumamt":
		return r.MedfeeSumamt.String()
	case "fund_pay_sumamt":
		return r.FundPaySumamt.String()
	case "acct_pay":
		return r.AcctPay.String()
	}
	return ""
}

func zipOne(entry string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(entry)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseReconResult reads a 3202 result file: a zip (its text entries, in order) or, if
// it is not a zip, the text itself. columns is the column order (nil:
// DefaultReconResultColumns); a first line naming setl_id among its fields is taken as
// the header instead. Blank lines are skipped. An error wraps ErrReconFile and
// ErrBadResponse.
func ParseReconResult(file []byte, columns []string) ([]ReconResultRow, error) {
	if columns == nil {
		columns = DefaultReconResultColumns
	}
	lines, err := fileLines(file)
	if err != nil {
		return nil, err
	}
	var out []ReconResultRow
	for n, line := range lines {
		fields := strings.Split(line, "\t")
		if n == 0 && isHeader(fields) {
			columns = trimAll(fields)
			continue
		}
		if len(fields) < len(columns) {
			// A trailing memo or amount may be left off; the identifying columns may not.
			fields = append(fields, make([]string, len(columns)-len(fields))...)
		}
		var r ReconResultRow
		for i, c := range columns {
			v := strings.TrimSpace(fields[i])
			switch c {
			case "psn_no":
				r.PsnNo = v
			case "mdtrt_id":
				r.MdtrtID = v
			case "setl_id":
				r.SetlID = v
			case "msgid":
				r.Msgid = v
			case "stmt_rslt":
				r.StmtRslt = v
			case "refd_setl_flag":
				r.RefdSetlFlag = v
			case "memo":
				r.Memo = v
			case "medfee_sumamt", "fund_pay_sumamt", "acct_pay":
				a, err := parseFileAmount(v)
				if err != nil {
					return nil, reconBad("line %d %s %q: %v", n+1, c, v, err)
				}
				switch c {
				case "medfee_sumamt":
					r.MedfeeSumamt = a
				case "fund_pay_sumamt":
					r.FundPaySumamt = a
				default:
					r.AcctPay = a
				}
			}
		}
		if r.SetlID == "" && r.Msgid == "" {
			return nil, reconBad("line %d names neither setl_id nor msgid", n+1)
		}
		if StmtRsltName(r.StmtRslt) == "" {
			return nil, reconBad("line %d has stmt_rslt %q, want 0, 1, 2 or 3", n+1, r.StmtRslt)
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseReconFile reads the hospital's 3202 upload (the simulator reads it).
func ParseReconFile(file []byte) ([]ReconFileRow, error) {
	lines, err := fileLines(file)
	if err != nil {
		return nil, err
	}
	out := make([]ReconFileRow, 0, len(lines))
	for n, line := range lines {
		f := trimAll(strings.Split(line, "\t"))
		if n == 0 && isHeader(f) {
			continue
		}
		if len(f) < len(ReconFileColumns) {
			return nil, fmt.Errorf("recon file line %d has %d fields, want %d: %w", n+1, len(f), len(ReconFileColumns), ErrReconFile)
		}
		r := ReconFileRow{SetlID: f[0], MdtrtID: f[1], PsnNo: f[2], RefdSetlFlag: f[6]}
		for i, dst := range []*Amount{&r.MedfeeSumamt, &r.FundPaySumamt, &r.AcctPay} {
			a, err := parseFileAmount(f[3+i])
			if err != nil {
				return nil, fmt.Errorf("recon file line %d %s %q: %v: %w", n+1, ReconFileColumns[3+i], f[3+i], err, ErrReconFile)
			}
			*dst = a
		}
		out = append(out, r)
	}
	return out, nil
}

func reconBad(format string, args ...any) error {
	return fmt.Errorf("3202 result file: %w: %w", badf(format, args...), ErrReconFile)
}

func isHeader(fields []string) bool {
	for _, f := range fields {
		if strings.EqualFold(strings.TrimSpace(f), "setl_id") {
			return true
		}
	}
	return false
}

func trimAll(fields []string) []string {
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return fields
}

// parseFileAmount reads an amount of a text file: empty is 0; trailing zeros beyond two
// places are allowed ("12.3400").
func parseFileAmount(s string) (Amount, error) {
	if s == "" {
		return 0, nil
	}
	m, err := settle.ParseMoney(trimZeros(s, 2))
	return Amount(m), err
}

// fileLines returns the non-blank lines of a zip's entries (or of plain text), decoded
// from UTF-8 or, failing that, GBK, without line ends and a UTF-8 BOM.
func fileLines(file []byte) ([]string, error) {
	var texts [][]byte
	if zr, err := zip.NewReader(bytes.NewReader(file), int64(len(file))); err == nil {
		if len(zr.File) > maxZipEntries {
			return nil, fmt.Errorf("zip holds %d files, at most %d expected: %w", len(zr.File), maxZipEntries, ErrReconFile)
		}
		for _, zf := range zr.File {
			if zf.FileInfo().IsDir() {
				continue
			}
			rc, err := zf.Open()
			if err != nil {
				return nil, fmt.Errorf("zip entry %s: %v: %w", zf.Name, err, ErrReconFile)
			}
			b, err := io.ReadAll(io.LimitReader(rc, maxZipEntryBytes+1))
			_ = rc.Close()
			if err != nil {
				return nil, fmt.Errorf("zip entry %s: %v: %w", zf.Name, err, ErrReconFile)
			}
			if len(b) > maxZipEntryBytes {
				return nil, fmt.Errorf("zip entry %s larger than %d bytes: %w", zf.Name, maxZipEntryBytes, ErrReconFile)
			}
			texts = append(texts, b)
		}
	} else if bytes.HasPrefix(file, []byte("PK")) {
		return nil, fmt.Errorf("not a readable zip: %v: %w", err, ErrReconFile)
	} else {
		texts = [][]byte{file}
	}
	var lines []string
	for _, b := range texts {
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(b) {
			d, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
			if err != nil {
				return nil, fmt.Errorf("text is neither UTF-8 nor GBK: %w", ErrReconFile)
			}
			b = d
		}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimRight(l, "\r")
			if strings.TrimSpace(l) != "" {
				lines = append(lines, l)
			}
		}
	}
	return lines, nil
}
