package hisadapter

import (
	"fmt"
	"regexp"
	"strings"

	settle "github.com/settle-agent/settle-agent"
)

// LineError is one problem on one line of a CSV file (mapping or drop folder).
// Line counts from 1 and includes the header row, as a text editor shows it.
type LineError struct {
	Line   int    `json:"line"`
	BillNo string `json:"bill_no,omitempty"` // the drop folder bill the line belongs to
	Field  string `json:"field,omitempty"`   // column or bill field path ("items[0].qty")
	Reason string `json:"reason"`
}

func (e LineError) String() string { return e.Say(settle.LangEn) }

// Say is the problem as staff read it in lang ("第 3 行：…" or "line 3: …").
func (e LineError) Say(lang string) string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, settle.Say(lang, "line %d: ", "第 %d 行："), e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(settle.Say(lang, ": ", "："))
	}
	if lang == settle.LangEn {
		b.WriteString(e.Reason)
	} else {
		b.WriteString(reasonZh(e.Reason))
	}
	return b.String()
}

// reasonsZh are the file checks' reasons as Chinese staff read them (mapping check);
// a reason not listed stays as written.
var reasonsZh = []struct {
	en       *regexp.Regexp
	zh       string
	validity bool // zh holds validities to say in Chinese too
}{
	{regexp.MustCompile(`^is required$`), "必填", false},
	{regexp.MustCompile(`^is longer than (\d+) characters$`), "超过 $1 个字符", false},
	{regexp.MustCompile(`^(".*") may hold letters, digits and - _ \. only$`), "$1 只能包含字母、数字和 - _ .", false},
	{regexp.MustCompile(`^(".*") is not a date YYYY-MM-DD$`), "$1 不是 YYYY-MM-DD 格式的日期", false},
	{regexp.MustCompile(`^(\S+) is before valid_from (\S+)$`), "$1 早于 valid_from $2", false},
	{regexp.MustCompile(`^(".*") is mapped twice for overlapping dates: line (\d+) \((\S+) to (\S+)\) and line (\d+) \((\S+) to (\S+)\)$`),
		"$1 在重叠的有效期内对照了两次：第 $2 行（$3 至 $4）和第 $5 行（$6 至 $7）", true},
	{regexp.MustCompile(`^is not valid UTF-8; save the file as UTF-8$`), "不是有效的 UTF-8：请把文件另存为 UTF-8", false},
	{regexp.MustCompile(`^is larger than (\d+) MiB$`), "超过 $1 MiB", false},
	{regexp.MustCompile(`^header lacks column\(s\) (.*); it must be (.*)$`), "表头缺少列 $1；表头应为 $2", false},
	{regexp.MustCompile(`^is empty; the first line must be the header (.*)$`), "文件为空：第一行应为表头 $1", false},
}

// reasonZh is reason in Chinese when reasonsZh knows it.
func reasonZh(reason string) string {
	for _, r := range reasonsZh {
		if !r.en.MatchString(reason) {
			continue
		}
		out := r.en.ReplaceAllString(reason, r.zh)
		if i := strings.Index(out, "：第 "); r.validity && i >= 0 {
			// The validities' open ends, after the (valid) code in quotes.
			out = out[:i] + validityZh.Replace(out[i:])
		}
		return out
	}
	return reason
}

// validityZh says the open ends of a validity in Chinese.
var validityZh = strings.NewReplacer("open-ended", "长期", "always", "不限")

// LinesError lists every problem found in a file at once.
type LinesError struct {
	What     string // "mapping file", "drop folder file"
	Problems []LineError
	Kind     error // ErrMapping, …: what errors.Is matches
}

func (e *LinesError) Error() string {
	const show = 5
	parts := make([]string, 0, show)
	for i, p := range e.Problems {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Problems)-show))
			break
		}
		parts = append(parts, p.String())
	}
	return fmt.Sprintf("%s has %d problem(s): %s", e.What, len(e.Problems), strings.Join(parts, "; "))
}

// Unwrap lets errors.Is match the kind of file (ErrMapping).
func (e *LinesError) Unwrap() error { return e.Kind }
