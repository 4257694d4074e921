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
	"unicode/utf8"

	settle "github.com/settle-agent/settle-agent"
)

// MappingEntry is one row of the item code mapping (目录对照): the HIS code, the
// national code (med_list_codg, from the treatment area's catalogue) and the
// hospital's own code (medins_list_codg), valid from one day to another (inclusive).
type MappingEntry struct {
	HISCode        string
	MedListCodg    string
	MedinsListCodg string
	Name           string
	ValidFrom      Date // zero: since always
	ValidTo        Date // zero: open-ended
	Line           int  // line of the mapping file it came from
}

// Date is a calendar day as YYYYMMDD (20261123); zero means "not set".
type Date int

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return 0, fmt.Errorf("%q is not a date YYYY-MM-DD", truncate(s, 20))
	}
	return DateOf(t), nil
}

// DateOf is the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(y*10000 + int(m)*100 + d)
}

func (d Date) String() string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", int(d)/10000, int(d)/100%100, int(d)%100)
}

func (e MappingEntry) covers(day Date) bool {
	return (e.ValidFrom == 0 || day >= e.ValidFrom) && (e.ValidTo == 0 || day <= e.ValidTo)
}

func (e MappingEntry) overlaps(o MappingEntry) bool {
	const far = Date(99991231)
	eTo, oTo := e.ValidTo, o.ValidTo
	if eTo == 0 {
		eTo = far
	}
	if oTo == 0 {
		oTo = far
	}
	return e.ValidFrom <= oTo && o.ValidFrom <= eTo
}

func (e MappingEntry) validity() string {
	from, to := e.ValidFrom.String(), e.ValidTo.String()
	if from == "" {
		from = "always"
	}
	if to == "" {
		to = "open-ended"
	}
	return from + " to " + to
}

// Mapping is a parsed, consistent item code mapping. It is immutable and safe for
// concurrent use.
type Mapping struct {
	byCode  map[string][]MappingEntry // sorted by ValidFrom, never overlapping
	entries int
}

// mappingColumns is the header the mapping file must carry (any order; extra
// columns are ignored).
var mappingColumns = []string{"his_code", "med_list_codg", "medins_list_codg", "name", "valid_from", "valid_to"}

// maxMappingBytes bounds a mapping file; real catalogues are a few MB at most.
const maxMappingBytes = 64 << 20

// ParseMapping reads a mapping CSV (UTF-8, a byte order mark tolerated) with the
// header his_code,med_list_codg,medins_list_codg,name,valid_from,valid_to. It checks
// every row and returns every problem with its line number in a *LinesError
// (errors.Is ErrMapping): missing or malformed codes, bad dates, valid_from after
// valid_to, and the same his_code twice with overlapping validity.
func ParseMapping(r io.Reader) (*Mapping, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxMappingBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	bad := &LinesError{What: "mapping file", Kind: ErrMapping}
	if len(raw) > maxMappingBytes {
		bad.Problems = append(bad.Problems, LineError{Reason: fmt.Sprintf("is larger than %d MiB", maxMappingBytes>>20)})
		return nil, bad
	}
	raw = bytes.TrimPrefix(raw, utf8BOM)
	if !utf8.Valid(raw) {
		bad.Problems = append(bad.Problems, LineError{Line: firstInvalidUTF8Line(raw), Reason: "is not valid UTF-8; save the file as UTF-8"})
		return nil, bad
	}
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("is empty; the first line must be the header " + strings.Join(mappingColumns, ","))
		}
		bad.Problems = append(bad.Problems, LineError{Line: 1, Reason: err.Error()})
		return nil, bad
	}
	col, missing := columnIndex(header, mappingColumns)
	if len(missing) > 0 {
		bad.Problems = append(bad.Problems, LineError{Line: 1, Reason: fmt.Sprintf(
			"header lacks column(s) %s; it must be %s", strings.Join(missing, ", "), strings.Join(mappingColumns, ","))})
		return nil, bad
	}
	m := &Mapping{byCode: make(map[string][]MappingEntry)}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad.Problems = append(bad.Problems, LineError{Line: pe.Line, Reason: pe.Err.Error()})
			if len(bad.Problems) > 10000 {
				break
			}
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read mapping: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue
		}
		e, problems := mappingRow(rec, col, line)
		bad.Problems = append(bad.Problems, problems...)
		if len(problems) == 0 {
			m.byCode[e.HISCode] = append(m.byCode[e.HISCode], e)
			m.entries++
		}
	}
	for code, es := range m.byCode {
		sort.SliceStable(es, func(i, j int) bool { return es[i].ValidFrom < es[j].ValidFrom })
		for i := range es {
			for j := i + 1; j < len(es); j++ {
				if es[i].overlaps(es[j]) {
					bad.Problems = append(bad.Problems, LineError{Line: es[j].Line, Field: "his_code", Reason: fmt.Sprintf(
						"%q is mapped twice for overlapping dates: line %d (%s) and line %d (%s)",
						code, es[i].Line, es[i].validity(), es[j].Line, es[j].validity())})
				}
			}
		}
	}
	if len(bad.Problems) > 0 {
		sort.SliceStable(bad.Problems, func(i, j int) bool { return bad.Problems[i].Line < bad.Problems[j].Line })
		return nil, bad
	}
	return m, nil
}

func mappingRow(rec []string, col map[string]int, line int) (MappingEntry, []LineError) {
	var problems []LineError
	add := func(field, format string, args ...any) {
		problems = append(problems, LineError{Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	get := func(name string) string {
		if i := col[name]; i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	e := MappingEntry{
		HISCode: get("his_code"), MedListCodg: get("med_list_codg"), MedinsListCodg: get("medins_list_codg"),
		Name: get("name"), Line: line,
	}
	if msg := checkHISCode(e.HISCode); msg != "" {
		add("his_code", "%s", msg)
	}
	if msg := checkCatalogueCode(e.MedListCodg); msg != "" {
		add("med_list_codg", "%s", msg)
	}
	if msg := checkCatalogueCode(e.MedinsListCodg); msg != "" {
		add("medins_list_codg", "%s", msg)
	}
	if utf8.RuneCountInString(e.Name) > 200 {
		add("name", "is longer than 200 characters")
	}
	var err error
	if s := get("valid_from"); s != "" {
		if e.ValidFrom, err = ParseDate(s); err != nil {
			add("valid_from", "%v", err)
		}
	}
	if s := get("valid_to"); s != "" {
		if e.ValidTo, err = ParseDate(s); err != nil {
			add("valid_to", "%v", err)
		}
	}
	if e.ValidFrom != 0 && e.ValidTo != 0 && e.ValidFrom > e.ValidTo {
		add("valid_to", "%s is before valid_from %s", e.ValidTo, e.ValidFrom)
	}
	return e, problems
}

// checkHISCode says what is wrong with a HIS item code, or "" when it is fine: the
// same rule the bill's his_code keeps (settle.Bill.Validate).
func checkHISCode(s string) string {
	switch {
	case s == "":
		return "is required"
	case len(s) > 50:
		return "is longer than 50 characters"
	case strings.ContainsAny(s, "/\\?#%,\"") || !printableText(s):
		return fmt.Sprintf("%q may hold letters, digits and - _ . only", truncate(s, 40))
	}
	return ""
}

// checkCatalogueCode checks a national or hospital catalogue code: letters, digits,
// '-', '.', '_' and at most 50 characters (national codes are 20–27 characters).
func checkCatalogueCode(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > 50 {
		return "is longer than 50 characters"
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '-' || r == '.' || r == '_') {
			return fmt.Sprintf("%q may hold letters, digits and - _ . only", truncate(s, 40))
		}
	}
	return ""
}

// Len is the number of mapping rows in force (all validity ranges counted).
func (m *Mapping) Len() int {
	if m == nil {
		return 0
	}
	return m.entries
}

// Codes is the number of distinct HIS codes.
func (m *Mapping) Codes() int {
	if m == nil {
		return 0
	}
	return len(m.byCode)
}

// Lookup finds the entry for a HIS code valid on the day of at (in at's location).
// The reason says why there is none: "unmapped code X", "code X expired on …".
func (m *Mapping) Lookup(hisCode string, at time.Time) (MappingEntry, string) {
	day := DateOf(at)
	var es []MappingEntry
	if m != nil {
		es = m.byCode[hisCode]
	}
	for _, e := range es {
		if e.covers(day) {
			return e, ""
		}
	}
	switch {
	case len(es) == 0:
		return MappingEntry{}, "unmapped code " + hisCode
	case es[0].ValidFrom != 0 && day < es[0].ValidFrom:
		return MappingEntry{}, fmt.Sprintf("code %s is not valid before %s", hisCode, es[0].ValidFrom)
	}
	last := es[0]
	for _, e := range es {
		if e.ValidTo != 0 && e.ValidTo < day && e.ValidTo >= last.ValidTo {
			last = e
		}
	}
	return MappingEntry{}, fmt.Sprintf("code %s expired on %s", hisCode, last.ValidTo)
}

// Map fills MedListCodg and MedinsListCodg of every item of b with the entries valid
// on the day of at. When any item's code is unmapped or expired it returns a
// *settle.ValidationError listing every such item ("items[i].his_code": "unmapped
// code YP0099") and leaves b untouched: a bill is never half-mapped.
func (m *Mapping) Map(b *settle.Bill, at time.Time) error {
	v := &settle.ValidationError{What: "bill"}
	items := make([]settle.Item, len(b.Items))
	copy(items, b.Items)
	for i := range items {
		e, why := m.Lookup(items[i].HISCode, at)
		if why != "" {
			v.Add(fmt.Sprintf("items[%d].his_code", i), "%s", why)
			continue
		}
		items[i].MedListCodg, items[i].MedinsListCodg = e.MedListCodg, e.MedinsListCodg
	}
	if err := v.Err(); err != nil {
		return err
	}
	b.Items = items
	return nil
}

// CheckMapping validates a mapping file for `settle-agent mapping check FILE`: it
// writes one line per problem (with its line number) and one total line in lang
// (settle.Say), and reports whether the file is good.
func CheckMapping(r io.Reader, w io.Writer, lang string) (ok bool) {
	m, err := ParseMapping(r)
	var le *LinesError
	switch {
	case errors.As(err, &le):
		for _, p := range le.Problems {
			fmt.Fprintln(w, p.Say(lang))
		}
		fmt.Fprintln(w, MappingTotal(lang, 0, 0, len(le.Problems)))
		return false
	case err != nil:
		fmt.Fprintf(w, settle.Say(lang, "mapping file cannot be read: %v\n", "目录对照文件无法读取：%v\n"), err)
		return false
	}
	fmt.Fprintln(w, MappingTotal(lang, m.Len(), m.Codes(), 0))
	return true
}

// MappingTotal is the one total line of a mapping check: its rows and distinct HIS
// codes when it has no problem, else how many problems to fix.
func MappingTotal(lang string, rows, codes, problems int) string {
	if problems > 0 {
		return fmt.Sprintf(settle.Say(lang, "mapping file is NOT usable: %d problem(s); fix them and check again",
			"目录对照文件不可用：%d 处问题，逐行改正后再检查"), problems)
	}
	return fmt.Sprintf(settle.Say(lang, "mapping file OK: %d row(s), %d HIS code(s)", "目录对照文件可用：%d 行，%d 个 HIS 编码"), rows, codes)
}

// columnIndex finds the named columns in a header row (trimmed, case-insensitive).
func columnIndex(header, want []string) (map[string]int, []string) {
	idx := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := idx[h]; !dup {
			idx[h] = i
		}
	}
	col := make(map[string]int, len(want))
	var missing []string
	for _, w := range want {
		i, ok := idx[w]
		if !ok {
			missing = append(missing, w)
			continue
		}
		col[w] = i
	}
	return col, missing
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func firstInvalidUTF8Line(b []byte) int {
	line := 1
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		b = b[size:]
	}
	return line
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
