package settle

import "time"

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
