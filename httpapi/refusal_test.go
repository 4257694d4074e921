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
