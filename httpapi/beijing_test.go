package httpapi

import (
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/workflow"
)

// Every time on the status page — its own, the bills', the stays' — is said the one
// way people read times (settle.BeijingTime), in both languages: never RFC 3339,
// UTC or a clock without its zone.
func TestStatusPage_SaysEveryTimeInBeijingTime(t *testing.T) {
	f := newFakeAgent()
	at := time.Date(2026, 12, 7, 14, 10, 5, 0, time.UTC)
	for i, st := range []workflow.State{workflow.StateSettled, workflow.StateQueued, workflow.StateFailed, workflow.StateDead, workflow.StatePresettled} {
		rec := f.addBill("MZ00"+string(rune('1'+i)), "01", st)
		rec.UpdatedAt = at.Add(time.Duration(i) * time.Minute)
		rec.ErrMsg = "refused"
	}
	f.stays = []*workflow.StayRecord{{Admission: settle.Admission{IptNo: "ZY1", Window: "01"}, State: workflow.StateAdmitted, UpdatedAt: at}}
	srv := fakeAPI(t, f, func(o *Options) {
		o.Now = func() time.Time { return at }
		o.Mapping = func() *MappingStatus { return &MappingStatus{Entries: 3, LoadedAt: at} }
	})
	for _, lang := range []string{"zh", "en"} {
		page := call(t, srv, "GET", "/?lang="+lang, "", "").body
		if got := settle.StrayTimes(page); len(got) != 0 {
			t.Errorf("%s page says times %q; want each as settle.BeijingTime says it", lang, got)
		}
		if want := settle.BeijingTime(at, lang); !strings.Contains(page, want) {
			t.Errorf("%s page lacks %q", lang, want)
		}
	}
}
