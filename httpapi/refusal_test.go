package httpapi

import (
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/workflow"
)

// The agent's own refusal and give-up reasons read in Chinese on the Chinese status
// page and as written on the English one; a platform's err_msg is shown as it came.
func TestStatusPage_RefusalReasonsInThePagesLanguage(t *testing.T) {
	f := newFakeAgent()
	offline := f.addBill("MZ1", "01", workflow.StateFailed)
	offline.ErrCode, offline.ErrMsg = "offline_refused", `insured settlement is refused while the platform is offline (offline policy "refuse")`
	chronic := f.addBill("MZ2", "01", workflow.StateFailed)
	chronic.ErrCode, chronic.ErrMsg = "not_qualified", "not qualified: the patient is not filed (5301) for chronic/special disease [M03900]; settle as general outpatient (med_type 11) or have the insured place file the disease"
	platform := f.addBill("MZ3", "01", workflow.StateFailed)
	platform.ErrCode, platform.ErrMsg = "platform_refused", "参保人未备案"
	dead := f.addBill("MZ4", "01", workflow.StateDead)
	dead.ErrCode, dead.ErrMsg = "dead", "not settled within the retry horizon: connection refused"
	srv := fakeAPI(t, f)

	zh := call(t, srv, "GET", "/", "", "").body
	for _, want := range []string{"平台离线时按离线策略", "患者未在参保地备案该门诊慢特病（M03900）", "参保人未备案", "重试期满仍未结算：connection refused"} {
		if !strings.Contains(zh, want) {
			t.Errorf("zh page lacks %q", want)
		}
	}
	for _, english := range []string{"insured settlement is refused", "not qualified", "retry horizon"} {
		if strings.Contains(zh, english) {
			t.Errorf("zh page shows the English reason %q; want it in Chinese", english)
		}
	}
	en := call(t, srv, "GET", "/?lang=en", "", "").body
	for _, want := range []string{"insured settlement is refused while the platform is offline", "not filed (5301)", "参保人未备案", "not settled within the retry horizon"} {
		if !strings.Contains(en, want) {
			t.Errorf("en page lacks %q", want)
		}
	}
}

// The engine's surprise notes read in Chinese on the Chinese page; one the page does
// not know stays as written.
func TestSurpriseText_InThePagesLanguage(t *testing.T) {
	for _, tc := range []struct{ note, zh string }{
		{`settlement ST1 of visit MD9 was booked by msgid "H1X", not one this bill sent; adopted: check it in the day's 3202`,
			"平台上就诊 MD9 的结算 ST1 由报文 H1X 记账，不是本单据发出的；已按平台记录采用：请在当日 3202 明细中核对"},
		{"visit MD9 holds 2 standing settlements at the platform; ST2 adopted", "就诊 MD9 在平台上有 2 笔有效结算；已采用 ST2"},
		{"something new", "something new"},
	} {
		if got := surpriseText("zh", tc.note); got != tc.zh {
			t.Errorf("surpriseText(zh, %q) = %q; want %q", tc.note, got, tc.zh)
		}
		if got := surpriseText("en", tc.note); got != tc.note {
			t.Errorf("surpriseText(en, %q) = %q; want it as written", tc.note, got)
		}
	}
}
