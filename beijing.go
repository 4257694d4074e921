package settle

import (
	"regexp"
	"time"
)

// Beijing is China Standard Time (UTC+8, no daylight saving), the one time zone of
// the program: settlement days, msgids, inf_time, reports and what people read.
// Every package uses this value rather than building its own.
var Beijing = time.FixedZone("CST", 8*3600)

// Day returns the calendar day (yyyy-MM-dd) of t in Beijing time.
func Day(t time.Time) string { return t.In(Beijing).Format("2006-01-02") }

// BeijingLayout is how a moment is written for people (CLI, status page, CSV,
// reports), followed by the zone's name in their language (BeijingTime).
const BeijingLayout = "2006-01-02 15:04:05"

// BeijingTime says t the one way people read a time everywhere: "2026-12-07
// 22:10:05 北京时间", or for lang "en" "2026-12-07 22:10:05 (Beijing time)". The
// zero time is "".
func BeijingTime(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	s := t.In(Beijing).Format(BeijingLayout)
	if lang == "en" {
		return s + " (Beijing time)"
	}
	return s + " 北京时间"
}

// strayTime finds what reads as a time of day in text people read;
// saidBeijing is the one way BeijingTime says it, in either language.
var (
	saidBeijing = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} (北京时间|\(Beijing time\))`)
	strayTime   = regexp.MustCompile(`(\d{4}-\d{2}-\d{2}[T ])?\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?|\bUTC\b|\bGMT\b|（UTC\+8）|\(UTC\+8\)`)
)

// StrayTimes lists the times in text (a page, a CSV, a command's output) that are
// not said the way BeijingTime says them: RFC 3339, UTC, a clock without its zone.
// Tests of every place people read times use it.
func StrayTimes(text string) []string {
	return strayTime.FindAllString(saidBeijing.ReplaceAllString(text, ""), -1)
}
