package platform

import (
	"fmt"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// Times on the wire. inf_time, setl_time and most dates are "yyyy-MM-dd HH:mm:ss"
// (InfTimeLayout); refmsg_time and respond_time are 17 digits yyyyMMddHHmmssSSS. All
// are Beijing time without a zone.

// MillisLayout is the 17-digit layout of refmsg_time and respond_time without its
// milliseconds (Go layouts cannot write milliseconds without a separator): use
// FormatMillis and ParseTime.
const MillisLayout = "20060102150405"

// FormatMillis writes t in Beijing time as yyyyMMddHHmmssSSS (17 digits).
func FormatMillis(t time.Time) string {
	t = t.In(cst)
	return t.Format(MillisLayout) + fmt.Sprintf("%03d", t.Nanosecond()/int(time.Millisecond))
}

// ParseTime reads a platform time in any of the forms provinces send: 17 digits
// (yyyyMMddHHmmssSSS), 14 digits (yyyyMMddHHmmss), "yyyy-MM-dd HH:mm:ss" with optional
// fraction, the same with a "T", or a date alone. A time without a zone is Beijing time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if allDigits(s) {
		switch len(s) {
		case 17:
			t, err := time.ParseInLocation(MillisLayout, s[:14], cst)
			if err != nil {
				return time.Time{}, fmt.Errorf("time %q: %w", clip(s), settle.ErrInvalid)
			}
			var ms int
			_, _ = fmt.Sscanf(s[14:], "%03d", &ms)
			return t.Add(time.Duration(ms) * time.Millisecond), nil
		case 14:
			t, err := time.ParseInLocation(MillisLayout, s, cst)
			if err == nil {
				return t, nil
			}
		case 8:
			t, err := time.ParseInLocation("20060102", s, cst)
			if err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("time %q: %w", clip(s), settle.ErrInvalid)
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, cst); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: %w", clip(s), settle.ErrInvalid)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
