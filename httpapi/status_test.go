package httpapi

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/workflow"
)

// Both languages have every string, and the template uses only strings they have.
func TestPageText_SameKeys(t *testing.T) {
	keys := func(m map[string]string) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	zh, en := keys(pageText[langZh]), keys(pageText[langEn])
	if strings.Join(zh, ",") != strings.Join(en, ",") {
		t.Errorf("zh and en strings differ:\nzh %v\nen %v", zh, en)
	}
	for _, m := range regexp.MustCompile(`\$?\.T\.(\w+)`).FindAllStringSubmatch(statusHTML, -1) {
		if _, ok := pageText[langZh][m[1]]; !ok {
			t.Errorf("the template uses .T.%s, which pageText lacks", m[1])
		}
	}
	for _, st := range append(workflow.BillStates, workflow.StateAdmitted, workflow.StateDischarged) {
		if _, ok := pageText[langZh]["state_"+string(st)]; !ok {
			t.Errorf("no text for state %s", st)
		}
	}
	for _, k := range []string{whyDead, whyFailedSync, whyUnknown, "state_refused", "src_api", "src_hl7", "src_dropfolder", "src_other", "never", "ago"} {
		if _, ok := pageText[langZh][k]; !ok {
			t.Errorf("no text %s", k)
		}
	}
}

func money(s string) *settle.Money { m := settle.MustMoney(s); return &m }

// A refusal at the window is the cashier's business; only what needs IT or a
// person raises the alarm.
func TestNeedsPerson(t *testing.T) {
	for _, tt := range []struct {
		name string
		rec  workflow.Record
		want string
	}{
		{"RefusedAtWindow", workflow.Record{State: workflow.StateFailed, Journal: workflow.Journal{ErrMsg: "参保人未备案"}}, ""},
		{"RefusedOnSyncAfterCash", workflow.Record{State: workflow.StateFailed, Offline: true, Collected: money("33.40"), Journal: workflow.Journal{QueueID: 7}}, whyFailedSync},
		{"Dead", workflow.Record{State: workflow.StateDead}, whyDead},
		// A lost answer the agent resolves itself: not a person's job.
		{"OutcomeUnknown", workflow.Record{State: workflow.StateSettling, Journal: workflow.Journal{Pending: []workflow.Pending{{Infno: "2207", Unknown: true}}}}, ""},
		{"QueuedLost2201", workflow.Record{State: workflow.StateQueued, Offline: true, Collected: money("25.00"), Journal: workflow.Journal{QueueID: 3, Pending: []workflow.Pending{{Infno: "2201", Unknown: true}}}}, ""},
		{"Queued", workflow.Record{State: workflow.StateQueued, Collected: money("10.00")}, ""},
		{"Settled", workflow.Record{State: workflow.StateSettled}, ""},
	} {
		if got := needsPerson(&tt.rec); got != tt.want {
			t.Errorf("%s: got %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestTotalsOf(t *testing.T) {
	split := func(cash string) *settle.Split { return &settle.Split{PsnCashPay: settle.MustMoney(cash)} }
	recs := []*workflow.Record{
		{State: workflow.StateSettled, Offline: true, Collected: money("33.40"), Settlement: split("0.00")},  // refund 33.40
		{State: workflow.StateSettled, Offline: true, Collected: money("10.00"), Settlement: split("12.50")}, // due 2.50
		{State: workflow.StateQueued, Offline: true, Collected: money("45.00")},                              // not settled yet
		{State: workflow.StateCancelled, Offline: true, Collected: money("99.00")},                           // cancelled while queued: refund 99.00
		{State: workflow.StateSettled, Settlement: split("5.00")},                                            // online: not counted
	}
	got := totalsOf(recs)
	want := offlineTotals{Bills: 4, Collected: settle.MustMoney("187.40"), Refunds: settle.MustMoney("132.40"), Due: settle.MustMoney("2.50"), Unsettled: settle.MustMoney("45.00")}
	if got != want {
		t.Errorf("got %+v; want %+v", got, want)
	}
}

// A refused sign-in is IT's business: red, with the platform's words.
func TestStatusPage_SignInRefused(t *testing.T) {
	var b strings.Builder
	p := statusPage{Status: Status{Online: true, SignInError: "定点医药机构编码不存在"}, T: pageText[langZh], OtherLang: langEn}
	if err := statusTmpl.Execute(&b, p); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`class="attn"`, "平台拒绝签到", "定点医药机构编码不存在", "平台签到<b>被拒绝</b>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// Every string of the tables is used by the page (or by the code that fills it):
// no dead strings left behind by a merge.
func TestPageText_NoUnusedStrings(t *testing.T) {
	var code []byte
	for _, file := range []string{"status.go", "daychart.go"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		code = append(code, b...)
	}
	for k := range pageText[langZh] {
		switch {
		case strings.HasPrefix(k, "state_"), strings.HasPrefix(k, "src_"), strings.HasPrefix(k, "why_"):
			continue // chosen by the code from a state, a source or a reason
		case strings.Contains(statusHTML, ".T."+k), strings.Contains(string(code), `"`+k+`"`):
			continue
		}
		t.Errorf("string %q is used nowhere", k)
	}
}
