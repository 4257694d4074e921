package settle

import (
	"testing"
	"time"
)

// A moment is said to people in Beijing time, with the zone named in their language.
func TestBeijingTime(t *testing.T) {
	at := time.Date(2026, 12, 7, 14, 10, 5, 0, time.UTC)
	for lang, want := range map[string]string{"zh": "2026-12-07 22:10:05 北京时间", "en": "2026-12-07 22:10:05 (Beijing time)"} {
		if got := BeijingTime(at, lang); got != want {
			t.Errorf("BeijingTime(%s): got %q; want %q", lang, got, want)
		}
	}
	if got := BeijingTime(time.Time{}, "zh"); got != "" {
		t.Errorf("BeijingTime(zero): got %q; want \"\"", got)
	}
}

// StrayTimes passes the one way BeijingTime says a time and catches every other.
func TestStrayTimes_CatchesEveryOtherWayOfSayingATime(t *testing.T) {
	at := time.Date(2026, 12, 7, 14, 10, 5, 0, time.UTC)
	good := "settled " + BeijingTime(at, "zh") + ", " + BeijingTime(at, "en") + " on 2026-12-07, took 1m30s"
	if got := StrayTimes(good); len(got) != 0 {
		t.Errorf("StrayTimes(%q) = %q; want none", good, got)
	}
	for _, bad := range []string{
		at.Format(time.RFC3339), at.In(Beijing).Format(time.RFC3339), "2026-12-07 22:10:05",
		"12-07 22:10:05", "22:10", "2026-12-07 14:10:05 UTC", "2026-12-07 22:10:05 (UTC+8)",
	} {
		if got := StrayTimes("at " + bad + " done"); len(got) == 0 {
			t.Errorf("StrayTimes(%q) = none; want it caught", bad)
		}
	}
}
