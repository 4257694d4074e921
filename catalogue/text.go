package catalogue

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/settle-agent/settle-agent/hisadapter"
)

// Item is one row of a catalogue downloaded by file, as the agent keeps it.
type Item struct {
	Code     string          `json:"code"`
	Name     string          `json:"name,omitempty"`
	ListType string          `json:"list_type"`
	Infno    string          `json:"infno"`
	Spec     string          `json:"spec,omitempty"`
	Begin    hisadapter.Date `json:"begndate,omitempty"` // 0: since always
	End      hisadapter.Date `json:"enddate,omitempty"`  // 0: open-ended
	Invalid  bool            `json:"invalid,omitempty"`  // vali_flag 0
	UpdtTime string          `json:"updt_time,omitempty"`
	Ver      string          `json:"ver"`
	Class    string          `json:"class,omitempty"` // 甲, 乙 or 丙 (1301 only)
}

// Covers reports whether the item is valid on day (vali_flag and dates).
func (it Item) Covers(day hisadapter.Date) bool {
	return !it.Invalid && (it.Begin == 0 || day >= it.Begin) && (it.End == 0 || day <= it.End)
}

// TextStats is what reading one catalogue text found.
type TextStats struct {
	Rows    int // rows handed on
	Skipped int // lines without a code
	MaxVer  string
}

// maxLineBytes bounds one line of a catalogue text (a 92-column drug row is ~2 KB).
const maxLineBytes = 1 << 20

// ParseText reads a catalogue's TAB-separated text: UTF-8 (GB 18030 tolerated line by
// line), one record a line, no header, null for an empty value, read by position so
// that columns added at the end are ignored. It calls fn for every row with a code and
// stops at fn's first error.
func ParseText(k Kind, r io.Reader, fn func(Item) error) (TextStats, error) {
	var st TextStats
	br := bufio.NewReaderSize(r, 64<<10)
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if len(line) > 0 {
			it, ok := parseLine(k, line)
			if ok {
				st.Rows++
				if compareVer(it.Ver, st.MaxVer) > 0 {
					st.MaxVer = it.Ver
				}
				if ferr := fn(it); ferr != nil {
					return st, ferr
				}
			} else if strings.TrimSpace(string(line)) != "" {
				st.Skipped++
			}
		}
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("read %s line %d: %w", k.Infno, lineNo, err)
		}
	}
}

// readLine returns one line without its end (\n or \r\n); a line longer than
// maxLineBytes is an ErrFile.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		part, err := br.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > maxLineBytes {
			return nil, fmt.Errorf("a line is longer than %d bytes: %w", maxLineBytes, ErrFile)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		buf = bytes.TrimRight(buf, "\r\n")
		return buf, err
	}
}

// parseLine reads one record; ok is false when it has no code.
func parseLine(k Kind, line []byte) (Item, bool) {
	line = bytes.TrimPrefix(line, []byte("\ufeff"))
	s := string(line)
	if !utf8.ValidString(s) {
		if d, err := simplifiedchinese.GB18030.NewDecoder().String(s); err == nil {
			s = d
		}
	}
	cols := strings.Split(s, "\t")
	col := func(i int) string {
		if i <= 0 || i > len(cols) {
			return ""
		}
		v := strings.TrimSpace(cols[i-1])
		if strings.EqualFold(v, "null") {
			return ""
		}
		return v
	}
	it := Item{Code: col(k.Code), ListType: k.ListType, Infno: k.Infno, Ver: col(k.Ver)}
	if it.Code == "" || len(it.Code) > 64 {
		return Item{}, false
	}
	if it.Name = col(k.Name); it.Name == "" {
		it.Name = col(k.AltName)
	}
	it.Spec = col(k.Spec)
	it.Begin, _ = ParseDay(col(k.Begin))
	it.End, _ = ParseDay(col(k.End))
	it.Invalid = col(k.ValiFlag) == "0"
	it.UpdtTime = col(k.UpdtTime)
	it.Class = classOf(col(k.Class))
	return it, true
}

// classOf reads a class flag (甲/乙/丙, 甲类, 01/02/03, 1/2/3).
func classOf(s string) string {
	switch {
	case s == "":
		return ""
	case strings.HasPrefix(s, "甲"), s == "01", s == "1", s == "A":
		return "甲"
	case strings.HasPrefix(s, "乙"), s == "02", s == "2", s == "B":
		return "乙"
	case strings.HasPrefix(s, "丙"), s == "03", s == "3", s == "C":
		return "丙"
	}
	return ""
}

var months = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

// ParseDay reads the calendar day of a catalogue date: Java's Date.toString form
// "Mon Dec 28 14:04:04 CST 2020" (the day as written, in the writer's zone, which is
// Beijing), yyyy-MM-dd with an optional time, yyyyMMdd, yyyy/MM/dd, or a Java
// timestamp in milliseconds. "" and null are 0 with ok true.
func ParseDay(s string) (hisadapter.Date, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "null") {
		return 0, true
	}
	if f := strings.Fields(s); len(f) == 6 {
		m, okM := months[f[1]]
		d, errD := strconv.Atoi(f[2])
		y, errY := strconv.Atoi(f[5])
		if okM && errD == nil && errY == nil {
			return dayOf(y, m, d)
		}
		return 0, false
	}
	if len(s) >= 10 && (s[4] == '-' || s[4] == '/') && s[7] == s[4] {
		y, e1 := strconv.Atoi(s[:4])
		m, e2 := strconv.Atoi(s[5:7])
		d, e3 := strconv.Atoi(s[8:10])
		if e1 == nil && e2 == nil && e3 == nil {
			return dayOf(y, time.Month(m), d)
		}
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch len(s) {
		case 8:
			return dayOf(int(n/10000), time.Month(n/100%100), int(n%100))
		case 12, 13:
			return hisadapter.DateOf(time.UnixMilli(n).In(beijing)), true
		}
	}
	return 0, false
}

func dayOf(y int, m time.Month, d int) (hisadapter.Date, bool) {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if y < 1900 || y > 9999 || t.Month() != m || t.Day() != d {
		return 0, false
	}
	return hisadapter.DateOf(t), true
}

// beijing is China Standard Time.
var beijing = time.FixedZone("CST", 8*3600)

// maxTextBytes bounds the text inside a downloaded zip.
const maxTextBytes = 2 << 30

// OpenFile returns the catalogue text inside a downloaded file: the zip's one .txt
// entry (its first entry when none ends in .txt), or data itself when it is not a zip
// (some platforms send the text bare).
func OpenFile(data []byte) (io.Reader, error) {
	if !bytes.HasPrefix(data, []byte("PK")) {
		if len(data) > 0 && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			return nil, fmt.Errorf("the download is a JSON answer, not a file (%.80s): %w", data, ErrFile)
		}
		return bytes.NewReader(data), nil
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("open catalogue zip: %v: %w", err, ErrFile)
	}
	var pick *zip.File
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		if strings.EqualFold(path.Ext(f.Name), ".txt") {
			pick = f
			break
		}
		if pick == nil {
			pick = f
		}
	}
	if pick == nil {
		return nil, fmt.Errorf("catalogue zip holds no file: %w", ErrFile)
	}
	rc, err := pick.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s in catalogue zip: %v: %w", pick.Name, err, ErrFile)
	}
	// The whole zip is in memory already; the entry is read through once.
	return &zipText{rc: rc, r: io.LimitReader(rc, maxTextBytes)}, nil
}

type zipText struct {
	rc io.ReadCloser
	r  io.Reader
}

func (z *zipText) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if err != nil {
		z.rc.Close()
		if !errors.Is(err, io.EOF) {
			err = fmt.Errorf("read catalogue zip: %v: %w", err, ErrFile)
		}
	}
	return n, err
}

// compareVer orders catalogue versions: digit runs by their value, other text as
// text, so "20201228002" > "20201228001" and "V10" > "V9". "" and "0" are lowest.
func compareVer(a, b string) int {
	if a == b {
		return 0
	}
	if a == "" || a == "0" {
		if b == "" || b == "0" {
			return 0
		}
		return -1
	}
	if b == "" || b == "0" {
		return 1
	}
	for a != "" && b != "" {
		ra, rb := chunk(a), chunk(b)
		a, b = a[len(ra):], b[len(rb):]
		if isDigits(ra) && isDigits(rb) {
			ta, tb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(ta) != len(tb) {
				return cmpInt(len(ta), len(tb))
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			continue
		}
		if c := strings.Compare(ra, rb); c != 0 {
			return c
		}
	}
	return cmpInt(len(a), len(b))
}

func chunk(s string) string {
	digit := s[0] >= '0' && s[0] <= '9'
	i := 1
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') == digit {
		i++
	}
	return s[:i]
}

func isDigits(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
