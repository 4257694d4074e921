package agent_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/platform/sim"
)

// getPage fetches the status page with an optional Accept-Language.
func getPage(t *testing.T, url, acceptLanguage string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "</html>") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// section is the page from the heading containing title to the next heading.
func section(page, title string) string {
	i := strings.Index(page, title)
	if i < 0 {
		return ""
	}
	rest := page[i+len(title):]
	if j := strings.Index(rest, "<h2>"); j >= 0 {
		return rest[:j]
	}
	return rest
}

// The status page as the cashier office and IT read it: in Chinese unless asked,
// bills waiting for the cashier listed, an ordinary refusal not raised as an alarm,
// today's offline cash and what the platform still has to settle, "signed in"
// not claimed while offline, recent bills by time.
func TestStatusPage_CashierOfficeView(t *testing.T) {
	s := MustSystem(t, nil)
	waiting := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, waiting); st != 201 {
		t.Fatalf("pre-settle: %d %v", st, body)
	}
	refused := newBill(cardUnfiled)
	if st, body := s.Do("POST", "/v1/bills", tokW01, refused); st != 422 {
		t.Fatalf("unfiled patient: %d %v; want 422", st, body)
	}
	s.Sim.SetFaults(sim.Faults{Down: true})
	offline := newBill(cardLocalResident)
	if st, body := s.Do("POST", "/v1/bills", tokW01, offline); st != 201 {
		t.Fatalf("offline pre-settle: %d %v", st, body)
	}
	if st, body := s.Do("POST", "/v1/bills/"+offline.BillNo+"/settle", tokW01, map[string]string{}); st != 202 {
		t.Fatalf("offline settle: %d %v; want 202 (queued)", st, body)
	}
	s.waitFor("the agent offline", func() bool {
		_, body := s.Do("GET", "/v1/status", tokAdmin, nil)
		return body["online"] == false
	})

	page := getPage(t, s.URL+"/", "")
	for _, want := range []string{`<html lang="zh-CN">`, "医保平台离线", "需要人工处理", "待窗口结算（已预结算）", "平台拒绝（收费窗口处理）", "今日离线收款", "离线中"} {
		if !strings.Contains(page, want) {
			t.Errorf("the default page lacks %q", want)
		}
	}
	if w := section(page, "待窗口结算（已预结算）"); !strings.Contains(w, waiting.BillNo) {
		t.Errorf("bill %s waiting for the cashier is not listed there:\n%s", waiting.BillNo, w)
	}
	if r := section(page, "平台拒绝（收费窗口处理）"); !strings.Contains(r, refused.BillNo) || !strings.Contains(r, "备案") {
		t.Errorf("refused bill %s is not listed as the cashier's business:\n%s", refused.BillNo, r)
	}
	if strings.Contains(page, `class="attn"`) || !strings.Contains(page, `需要人工处理<b>0</b>`) {
		t.Errorf("an ordinary refusal raised the red alarm")
	}
	if o := section(page, "今日离线收款"); !strings.Contains(o, "¥"+offline.Total.String()) {
		t.Errorf("today's offline cash does not show ¥%s:\n%s", offline.Total, o)
	}
	if strings.Contains(page, "via queue") || strings.Contains(page, "平台签到<b>是</b>") {
		t.Errorf("the page claims a queue route or a sign-in it does not have")
	}
	recent := section(page, "最近账单")
	if i := strings.Index(recent, refused.BillNo); i < 0 || !strings.Contains(recent[i:i+strings.Index(recent[i:], "</tr>")], "平台拒绝") {
		t.Errorf("the refused bill's row in recent bills does not say 平台拒绝:\n%s", recent)
	}
	if i, j := strings.Index(recent, offline.BillNo), strings.Index(recent, waiting.BillNo); i < 0 || j < 0 || i > j {
		t.Errorf("recent bills not newest first: %s at %d, %s at %d", offline.BillNo, i, waiting.BillNo, j)
	}

	if p := getPage(t, s.URL+"/", "en-US,en;q=0.9"); !strings.Contains(p, `<html lang="zh-CN">`) {
		t.Errorf("an English browser got the page in English; want Chinese unless ?lang=en or [api] language")
	}
	for _, en := range []string{getPage(t, s.URL+"/?lang=en", "zh-CN")} {
		for _, want := range []string{`<html lang="en">`, "Platform OFFLINE", "needs a person", "Waiting for the cashier", "Refused by the platform", "Collected offline today"} {
			if !strings.Contains(en, want) {
				t.Errorf("the English page lacks %q", want)
			}
		}
	}
}
