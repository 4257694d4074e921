package agent_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/platform/sim"
)

// The cashier API answers as cashier-api.md words it: invalid requests name their
// fields, a missing bill or stay is said once, codes stay the same.

// errorFields lists the fields an error answer's details name.
func errorFields(body map[string]any) map[string]bool {
	fields := map[string]bool{}
	e, _ := body["error"].(map[string]any)
	details, _ := e["details"].([]any)
	for _, d := range details {
		if m, ok := d.(map[string]any); ok {
			f, _ := m["field"].(string)
			fields[f] = true
		}
	}
	return fields
}

func TestAgent_CreateBill_NoWindow_Invalid(t *testing.T) {
	s := MustSystem(t, nil)
	// A window's cashier software that forgets the window (and more) gets the
	// 422 naming every bad field, not a 403 about a window named "".
	st, body := s.Do("POST", "/v1/bills", tokW01, `{"bill_no":"QA0008","patient":{},"items":[{"his_code":"ZL0001"}]}`)
	if st != 422 || str(body, "error", "code") != "invalid_bill" {
		t.Fatalf("bill without window: got %d %v; want 422 invalid_bill", st, body)
	}
	fields := errorFields(body)
	for _, f := range []string{"window", "patient.mdtrt_cert_type", "med_type"} {
		if !fields[f] {
			t.Errorf("details lack %s: %v", f, body)
		}
	}
	if n := len(s.Sim.Ledger()); n != 0 {
		t.Errorf("an invalid bill reached the platform: %d ledger entries", n)
	}
}

func TestAgent_CreateBill_EveryBadDecimalNamed(t *testing.T) {
	s := MustSystem(t, nil)
	st, body := s.Do("POST", "/v1/bills", tokW01, `{"bill_no":"QA0009","window":"W01",
		"patient":{"mdtrt_cert_type":"03","mdtrt_cert_no":"A33010001"},"med_type":"11",
		"items":[{"line":1,"his_code":"ZL0001","name":"x","qty":"1.00001","unit_price":"25.0000001","amount":"25.001"},
		         {"line":2,"his_code":"ZL0001","name":"y","qty":"1","unit_price":"25.00","amount":25.00}],
		"total":"50.001"}`)
	if st != 422 || str(body, "error", "code") != "invalid_bill" {
		t.Fatalf("got %d %v; want 422 invalid_bill", st, body)
	}
	fields := errorFields(body)
	for _, f := range []string{"items[0].qty", "items[0].unit_price", "items[0].amount", "items[1].amount", "total"} {
		if !fields[f] {
			t.Errorf("details lack %s: %v", f, body)
		}
		if !strings.Contains(str(body, "error", "message"), f+":") {
			t.Errorf("message does not name %s: %q", f, str(body, "error", "message"))
		}
	}
}

func TestAgent_GetBill_NotFoundSaysItOnce(t *testing.T) {
	s := MustSystem(t, nil)
	for _, path := range []string{"/v1/bills/MZ2026NOPE", "/v1/bills/MZ2026NOPE/settle", "/v1/bills/MZ2026NOPE/cancel"} {
		method := "POST"
		if !strings.HasSuffix(path, "settle") && !strings.HasSuffix(path, "cancel") {
			method = "GET"
		}
		st, body := s.Do(method, path, tokW01, nil)
		if got := str(body, "error", "message"); st != 404 || str(body, "error", "code") != "not_found" || got != "bill MZ2026NOPE: not found" {
			t.Errorf("%s %s: got %d %v; want 404 not_found \"bill MZ2026NOPE: not found\"", method, path, st, body)
		}
	}
}

func TestAgent_GetStay_NotFoundRepeatsNothing(t *testing.T) {
	s := MustSystem(t, nil)
	st, body := s.Do("GET", "/v1/stays/ZY2026NOPE", tokW01, nil)
	if got := str(body, "error", "message"); st != 404 || got != "stay ZY2026NOPE: not found" {
		t.Errorf("unknown stay: got %d %v; want 404 \"stay ZY2026NOPE: not found\"", st, body)
	}
	// A path that cannot be an inpatient number is never repeated back
	// (docs/api.md: an error never repeats the request's path).
	for _, path := range []string{"/v1/stays/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/v1/stays/%E4%BD%8F%E9%99%A2/discharge"} {
		method := "GET"
		if strings.HasSuffix(path, "discharge") {
			method = "POST"
		}
		st, body := s.Do(method, path, tokW01, "{}")
		msg := str(body, "error", "message")
		if st != 404 || strings.Contains(msg, "script") || strings.Contains(msg, "住院") {
			t.Errorf("%s %s: got %d %q; want 404 repeating nothing of the path", method, path, st, msg)
		}
	}
}

func TestAgent_CreateBill_NotQualified_SameCodeEveryTime(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee) // 张伟 is filed for no chronic disease
	b.MedType = "14"
	st, body := s.Do("POST", "/v1/bills", tokW01, b)
	if st != 422 || str(body, "error", "code") != "not_qualified" {
		t.Fatalf("med_type 14, not filed: got %d %v; want 422 not_qualified (docs/api.md)", st, body)
	}
	if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil); st != 422 || str(body, "error", "code") != "not_qualified" {
		t.Errorf("settle of that bill: got %d %v; want 422 not_qualified", st, body)
	}
}

func TestAgent_Reconciliation_UnknownFormat(t *testing.T) {
	s := MustSystem(t, nil)
	st, body := s.Do("GET", "/v1/reconciliation?date="+dayNow()+"&format=xml", tokAdmin, nil)
	if st != 400 || str(body, "error", "code") != "bad_request" {
		t.Errorf("format=xml: got %d %v; want 400 bad_request (not a JSON report the client did not ask for)", st, body)
	}
	for _, f := range []string{"", "&format=json", "&format=csv"} {
		if st, _ := s.Do("GET", "/v1/reconciliation?date="+dayNow()+f, tokAdmin, nil); st != 200 {
			t.Errorf("reconciliation%s: got %d; want 200", f, st)
		}
	}
}

func TestAgent_Admit_NoWindow_Invalid(t *testing.T) {
	s := MustSystem(t, nil)
	st, body := s.Do("POST", "/v1/stays", tokW01, `{"ipt_no":"ZYW3","patient":{"mdtrt_cert_type":"03","mdtrt_cert_no":"A33010001"}}`)
	if st != 422 || !errorFields(body)["window"] {
		t.Fatalf("admission without window: got %d %v; want 422 naming window (cashier-api.md: 422 naming every bad field)", st, body)
	}
	if n := len(s.Sim.Ledger()); n != 0 {
		t.Errorf("an invalid admission reached the platform: %d ledger entries", n)
	}
}

// A bill an administrator gave up on is not said to have run out its retry horizon.
func TestStatusPage_DeadByAdmin_NotRetryHorizon(t *testing.T) {
	s := MustSystem(t, nil)
	s.Sim.SetFaults(sim.Faults{Down: true})
	b := newBill(cardUnfiled)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
		t.Fatalf("offline pre-settle: %d %v", st, body)
	}
	if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil); st != 202 {
		t.Fatalf("offline settle: %d %v; want 202", st, body)
	}
	s.Sim.SetFaults(sim.Faults{})
	var id string
	s.waitFor("the queued bill refused on sync (未备案)", func() bool {
		_, body := s.Do("GET", "/v1/queue?state=failed", tokAdmin, nil)
		recs, _ := body["records"].([]any)
		if len(recs) == 1 {
			id = fmt.Sprint(recs[0].(map[string]any)["id"])
			return true
		}
		return false
	})
	if st, body := s.Do("POST", "/v1/queue/"+id+"/dead", tokAdmin, nil); st != 200 {
		t.Fatalf("dead by hand: %d %v", st, body)
	}
	for _, tc := range []struct{ url, wrong, want string }{{"/", "重试期满仍未", "管理员已放弃"}, {"/?lang=en", "within the retry horizon:", "administrator"}} {
		page := getPage(t, s.URL+tc.url, "")
		i := strings.Index(page, b.BillNo)
		if i < 0 {
			t.Fatalf("%s: the dead bill %s is not on the page", tc.url, b.BillNo)
		}
		row := page[i : i+strings.Index(page[i:], "</tr>")]
		if strings.Contains(row, tc.wrong) || !strings.Contains(row, tc.want) {
			t.Errorf("%s: the bill given up by an administrator reads %q; want %q and no claim of %q", tc.url, row, tc.want, tc.wrong)
		}
	}
}
