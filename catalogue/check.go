package catalogue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform"
)

// Finding is one line of the mapping that the catalogue says is wrong, with what to
// do about it.
type Finding struct {
	Line    int    `json:"line"`
	HISCode string `json:"his_code"`
	Field   string `json:"field"`
	Reason  string `json:"reason"`
	Fix     string `json:"fix"`
}

func (f Finding) String() string { return f.Say(settle.LangEn) }

// Say is the finding as staff read it in lang ("第 3 行：…" or "line 3: …").
func (f Finding) Say(lang string) string {
	return fmt.Sprintf(settle.Say(lang, "line %d: %s: %s；%s", "第 %d 行：%s：%s；%s"), f.Line, f.Field, f.Reason, f.Fix)
}

// CheckOptions say where and when the mapping is used.
type CheckOptions struct {
	Admdvs string          // the treatment area (就医地), whose catalogue decides
	Today  hisadapter.Date // the day an open-ended row is checked on
}

// CheckReport is the result of checking a mapping file: its own problems (the
// checks of hisadapter.ParseMapping) and what the synced catalogue says.
type CheckReport struct {
	Rows         int                    `json:"rows"`
	Codes        int                    `json:"his_codes"` // distinct HIS codes
	FileProblems []hisadapter.LineError `json:"file_problems"`
	Findings     []Finding              `json:"findings"`
	// Synced is false when no catalogue was ever synced: only the file's own checks ran.
	Synced bool `json:"synced"`
}

// OK reports whether the mapping may be used: no problem and no finding.
func (r *CheckReport) OK() bool { return len(r.FileProblems) == 0 && len(r.Findings) == 0 }

// Err is nil when the mapping may be used, else an error (hisadapter.ErrMapping)
// that lists the first problems.
func (r *CheckReport) Err() error {
	if r.OK() {
		return nil
	}
	le := &hisadapter.LinesError{What: "mapping file", Kind: hisadapter.ErrMapping, Problems: append([]hisadapter.LineError(nil), r.FileProblems...)}
	for _, f := range r.Findings {
		le.Problems = append(le.Problems, hisadapter.LineError{Line: f.Line, Field: f.Field, Reason: f.Reason + "；" + f.Fix})
	}
	return le
}

// Write prints one line per problem, in lang (settle.Say), and one total line.
func (r *CheckReport) Write(w io.Writer, lang string) {
	type line struct {
		n    int
		text string
	}
	var lines []line
	for _, p := range r.FileProblems {
		lines = append(lines, line{p.Line, p.Say(lang)})
	}
	for _, f := range r.Findings {
		lines = append(lines, line{f.Line, f.Say(lang)})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].n < lines[j].n })
	for _, l := range lines {
		fmt.Fprintln(w, l.text)
	}
	if !r.Synced {
		fmt.Fprintln(w, settle.Say(lang, "the catalogue was never synced: only the file itself was checked; run settle-agent catalogue sync, then check again",
			"目录尚未同步，只做了文件本身的检查：先运行 settle-agent catalogue sync，再检查一次"))
	}
	total := hisadapter.MappingTotal(lang, r.Rows, r.Codes, len(r.FileProblems)+len(r.Findings))
	if r.OK() && r.Synced {
		total += settle.Say(lang, "; all in the synced catalogue, valid, list type and price cap match", "；都在已同步的医保目录中，有效，类别与限价相符")
	}
	fmt.Fprintln(w, total)
}

// CheckMapping checks a mapping file (its bytes) by itself and against the synced
// catalogue: a national code the catalogue lacks, one invalid or expired on the
// row's dates (an open-ended row: today), a list_type that is not the code's, and a
// price over the code's cap (1318). With a nil store only the file is checked.
func CheckMapping(raw []byte, s *Store, o CheckOptions) (*CheckReport, error) {
	rep := &CheckReport{}
	if _, err := hisadapter.ParseMapping(bytes.NewReader(raw)); err != nil {
		var le *hisadapter.LinesError
		if !errors.As(err, &le) {
			return nil, err
		}
		rep.FileProblems = le.Problems
	}
	rows := readMappingRows(raw)
	rep.Rows = len(rows)
	codes := map[string]bool{}
	for _, r := range rows {
		codes[r.HISCode] = true
	}
	rep.Codes = len(codes)
	if s == nil {
		return rep, nil
	}
	synced, err := s.Synced()
	if err != nil {
		return nil, err
	}
	rep.Synced = synced
	if !synced {
		return rep, nil
	}
	for _, r := range rows {
		fs, err := s.checkRow(r, o)
		if err != nil {
			return nil, err
		}
		rep.Findings = append(rep.Findings, fs...)
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool { return rep.Findings[i].Line < rep.Findings[j].Line })
	return rep, nil
}

// checkOn is the day a row is checked on: today, moved into the row's own range.
func checkOn(r mappingRow, today hisadapter.Date) hisadapter.Date {
	on := today
	if r.From != 0 && on < r.From {
		on = r.From
	}
	if r.To != 0 && on > r.To {
		on = r.To
	}
	return on
}

func (s *Store) checkRow(r mappingRow, o CheckOptions) ([]Finding, error) {
	if r.MedListCodg == "" {
		return nil, nil // the file check says it is required
	}
	var out []Finding
	add := func(field, reason, fix string) {
		out = append(out, Finding{Line: r.Line, HISCode: r.HISCode, Field: field, Reason: reason, Fix: fix})
	}
	on := checkOn(r, o.Today)
	t, err := s.Terms(r.MedListCodg, o.Admdvs, "", on)
	if err != nil {
		return nil, err
	}
	if !t.Found && !downloaded(r.ListType) {
		// 103 医疗机构制剂, 104 民族药: catalogues this agent does not download.
		return nil, nil
	}
	if !t.Found {
		add("med_list_codg", fmt.Sprintf("国家编码 %s 不在已同步的医保目录中（1301/1302/1305/1306）", r.MedListCodg),
			"核对这个编码（常见是抄错或用了旧编码）；若是新近发布的编码，先运行 settle-agent catalogue sync")
		return out, nil
	}
	it := t.Item
	title := it.Infno
	if k, ok := KindOf(it.Infno); ok {
		title = k.Title
	}
	switch {
	case it.Invalid:
		add("med_list_codg", fmt.Sprintf("国家编码 %s 在%s目录中已标为无效（vali_flag 0）", r.MedListCodg, title),
			"改对照到目录中现行有效的编码")
	case it.End != 0 && (r.To == 0 && o.Today > it.End || r.To != 0 && r.To > it.End):
		add("valid_to", fmt.Sprintf("国家编码 %s 于 %s 失效，而这一行用到 %s", r.MedListCodg, it.End, orOpen(r.To)),
			fmt.Sprintf("把 valid_to 设为 %s 或更早，此后对照到现行编码（另起一行）", it.End))
	case it.Begin != 0 && r.From != 0 && r.From < it.Begin:
		add("valid_from", fmt.Sprintf("国家编码 %s 自 %s 起才有效，早于此的 valid_from %s 不可用", r.MedListCodg, it.Begin, r.From),
			fmt.Sprintf("把 valid_from 设为 %s 或更晚", it.Begin))
	case it.Begin != 0 && r.From == 0 && o.Today < it.Begin:
		add("med_list_codg", fmt.Sprintf("国家编码 %s 自 %s 起才有效，今天还不能用", r.MedListCodg, it.Begin),
			fmt.Sprintf("把 valid_from 设为 %s，在此之前用原来的编码", it.Begin))
	}
	if r.ListType != "" && r.ListType != it.ListType {
		add("list_type", fmt.Sprintf("目录类别 %s 与国家编码 %s 所在的%s目录（list_type %s）不符", r.ListType, r.MedListCodg, title, it.ListType),
			fmt.Sprintf("把 list_type 改为 %s，或核对国家编码", it.ListType))
	}
	switch {
	case r.BadPrice != "":
		add("price", fmt.Sprintf("价格 %q 不是金额", r.BadPrice), "写成元为单位的小数，例如 25.00")
	case r.HasPrice && t.HasCap && r.Price > t.Cap:
		add("price", fmt.Sprintf("价格 %s 高于医保限价 %s（1318，%s）", r.Price, t.Cap, on),
			"超出部分由患者自付：把价格调到限价以内，或核对限价后告知收费窗口")
	}
	return out, nil
}

// downloaded reports whether a list_type ("" unknown: yes) is in a catalogue the sync
// downloads.
func downloaded(listType string) bool {
	if listType == "" {
		return true
	}
	for _, k := range Kinds {
		if k.ListType == listType {
			return true
		}
	}
	return false
}

func orOpen(d hisadapter.Date) string {
	if d == 0 {
		return "长期"
	}
	return d.String()
}

// medinsView returns this hospital's mapping as the platform holds it (1317's rows
// kept by the last sync, valid ones).
func (s *Store) medinsView() ([]Rule, error) {
	var out []Rule
	err := s.ForEachRule(platform.InfnoMedinsMatchQuery, func(r Rule) error {
		if !r.Invalid {
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ReloadCheck is a hisadapter.MappingOptions.Check: a changed mapping file the
// catalogue check refuses is kept out, the old mapping stays in force, and the
// error names every wrong line. options is asked at each reload (today changes).
func (s *Store) ReloadCheck(options func() CheckOptions) func(raw []byte) error {
	return func(raw []byte) error {
		rep, err := CheckMapping(raw, s, options())
		if err != nil {
			return fmt.Errorf("check the item code mapping against the catalogue: %w", err)
		}
		return rep.Err()
	}
}
