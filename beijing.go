package settle

import "time"

// Beijing is China Standard Time (UTC+8, no daylight saving), the one time zone of
// the program: settlement days, msgids, inf_time, reports and what people read.
// Every package uses this value rather than building its own.
var Beijing = time.FixedZone("CST", 8*3600)

// Day returns the calendar day (yyyy-MM-dd) of t in Beijing time.
func Day(t time.Time) string { return t.In(Beijing).Format("2006-01-02") }
