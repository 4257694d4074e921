package httpapi

import (
	"strings"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/workflow"
)

// The inpatient office finds each stay on the status page by its ipt_no, the
// patient's name masked, with the amounts once the stay is settled for good; in
// Chinese by default and in English on ?lang=en.
func TestStatusPage_ListsStaysByIptNo(t *testing.T) {
	f := newFakeAgent()
	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	f.stays = []*workflow.StayRecord{
		{Admission: settle.Admission{IptNo: "ZY20261201", Window: "01", Patient: settle.Patient{PsnName: "王小明"}},
			State: workflow.StateAdmitted, Journal: workflow.Journal{UpdatedAt: at}},
		{Admission: settle.Admission{IptNo: "ZY20261202", Window: "02", Patient: settle.Patient{PsnName: "李四"}},
			Person: &settle.Person{PsnName: "李四"}, State: workflow.StateSettled, Journal: workflow.Journal{UpdatedAt: at.Add(time.Hour)},
			Settlements: []workflow.StaySettlement{
				{Mid: true, Split: settle.Split{MedfeeSumamt: settle.MustMoney("100.00")}},
				{Offline: true, Split: settle.Split{MedfeeSumamt: settle.MustMoney("8123.45"), FundPaySumamt: settle.MustMoney("6000.00"),
					AcctPay: settle.MustMoney("1000.00"), PsnCashPay: settle.MustMoney("1123.45")}},
			}},
	}
	srv := fakeAPI(t, f)

	zh := call(t, srv, "GET", "/", "", "")
	if zh.status != 200 {
		t.Fatalf("GET /: got %d; want 200", zh.status)
	}
	for _, want := range []string{"住院号", "ZY20261201", "王**", "已入院", "ZY20261202", "李*", "已结算（离线时结算",
		`<td class="num">8123.45</td><td class="num">6000.00</td><td class="num">1000.00</td><td class="num">1123.45</td>`} {
		if !strings.Contains(zh.body, want) {
			t.Errorf("zh page lacks %q", want)
		}
	}
	for _, leak := range []string{"王小明", "李四"} {
		if strings.Contains(zh.body, leak) {
			t.Errorf("page shows the full name %q; want it masked", leak)
		}
	}
	if strings.Index(zh.body, "ZY20261202") > strings.Index(zh.body, "ZY20261201") {
		t.Errorf("got ZY20261201 listed before ZY20261202; want the latest change first")
	}
	if strings.Contains(zh.body, ">100.00<") {
		t.Errorf("page shows the mid-stay settlement's 100.00; want only the final settlement's amounts")
	}

	en := call(t, srv, "GET", "/?lang=en", "", "")
	for _, want := range []string{"Stays (by ipt_no", "ZY20261201", "admitted", "settled (settled offline against the deposit"} {
		if !strings.Contains(en.body, want) {
			t.Errorf("en page lacks %q", want)
		}
	}
}

// With no stays, the list says so rather than showing an empty table.
func TestStatusPage_NoStaysSaysSo(t *testing.T) {
	srv := fakeAPI(t, newFakeAgent())
	if a := call(t, srv, "GET", "/", "", ""); !strings.Contains(a.body, "暂无住院") {
		t.Errorf("page without stays lacks 暂无住院; got status %d", a.status)
	}
}
