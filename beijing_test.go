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
