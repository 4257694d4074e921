package agent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform/sim"
)

func TestAgent_SettleOnline(t *testing.T) {
	s := MustSystem(t, nil)
	for _, tc := range []struct {
		name, card string
	}{
		{"LocalEmployee", cardLocalEmployee},
		{"LocalResident", cardLocalResident},
		{"CrossRegionFiled", cardShanghaiFiled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBill(tc.card)
			st, body := s.Do("POST", "/v1/bills", tokW01, b)
			if st != 201 {
				t.Fatalf("POST /v1/bills: got %d %v; want 201", st, body)
			}
			if got := str(body, "state"); got != "presettled" {
				t.Fatalf("state: got %q; want presettled", got)
			}
			if body["estimate"] != false {
				t.Errorf("estimate: got %v; want false (online)", body["estimate"])
			}
			if got := str(body, "split", "medfee_sumamt"); got != b.Total.String() {
				t.Errorf("split.medfee_sumamt: got %q; want %q", got, b.Total)
			}
			st, body = s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, map[string]string{"acct_used_flag": "1", "psn_setlway": "01"})
			if st != 200 || str(body, "state") != "settled" {
				t.Fatalf("settle: got %d %v; want 200 settled", st, body)
			}
			if str(body, "settlement", "setl_id") == "" {
				t.Errorf("settlement has no setl_id: %v", body)
			}
			fund, _ := settle.ParseMoney(str(body, "settlement", "fund_pay_sumamt"))
			own, _ := settle.ParseMoney(str(body, "settlement", "psn_part_amt"))
			if fund+own != b.Total {
				t.Errorf("fund %s + own %s != total %s", fund, own, b.Total)
			}
			if got := settledByBill(s.Sim)[b.BillNo]; got != 1 {
				t.Errorf("ledger bookings of %s: got %d; want 1", b.BillNo, got)
			}
		})
	}
}

func TestAgent_CreateBill_Idempotent(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee)
	st1, body1 := s.Do("POST", "/v1/bills", tokW01, b)
	if st1 != 201 {
		t.Fatalf("first POST: got %d %v", st1, body1)
	}
	before := len(s.Sim.Ledger())
	st2, body2 := s.Do("POST", "/v1/bills", tokW01, b)
	if st2 != st1 || str(body2, "split", "fund_pay_sumamt") != str(body1, "split", "fund_pay_sumamt") {
		t.Errorf("repeat POST: got %d %v; want %d %v", st2, body2, st1, body1)
	}
	if after := len(s.Sim.Ledger()); after != before {
		t.Errorf("repeat POST booked %d new ledger entries; want 0", after-before)
	}
	t.Run("OtherBody", func(t *testing.T) {
		b2 := b
		b2.Items = b.Items[:1]
		b2.Total = b.Items[0].Amount
		st, body := s.Do("POST", "/v1/bills", tokW01, b2)
		if st != 409 {
			t.Errorf("same key, other body: got %d %v; want 409", st, body)
		}
	})
	t.Run("HeaderKey", func(t *testing.T) {
		b3 := newBill(cardLocalResident)
		st, _ := s.Do("POST", "/v1/bills", tokW01, b3, "Idempotency-Key", "k-1")
		if st != 201 {
			t.Fatalf("got %d; want 201", st)
		}
		b4 := newBill(cardLocalResident)
		st, body := s.Do("POST", "/v1/bills", tokW01, b4, "Idempotency-Key", "k-1")
		if msg := str(body, "error", "message"); st != 409 || !strings.Contains(msg, `Idempotency-Key "k-1"`) {
			t.Errorf("key reused for another bill: got %d %v; want 409 naming the key the client sent (k-1)", st, body)
		}
	})
	t.Run("SurvivesRestart", func(t *testing.T) {
		before := len(s.Sim.Ledger())
		s.Stop()
		s.Start()
		st, body := s.Do("POST", "/v1/bills", tokW01, b)
		if st != st1 || str(body, "bill_no") != b.BillNo {
			t.Errorf("after restart: got %d %v; want %d", st, body, st1)
		}
		if after := len(s.Sim.Ledger()); after != before {
			t.Errorf("after restart: %d new ledger entries; want 0", after-before)
		}
	})
}

func TestAgent_Auth(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee)
	for _, tc := range []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"NoToken", "POST", "/v1/bills", "", b, 401},
		{"BadToken", "POST", "/v1/bills", "nope", b, 401},
		{"OtherWindow", "POST", "/v1/bills", tokW02, b, 403},
		{"OtherWindowCard", "GET", "/v1/windows/W01/card?wait=0s", tokW02, nil, 403},
		{"AdminOnly", "GET", "/v1/queue", tokW01, nil, 403},
		{"AdminOK", "GET", "/v1/queue", tokAdmin, nil, 200},
		{"StatusOK", "GET", "/v1/status", tokW01, nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := s.Do(tc.method, tc.path, tc.token, tc.body)
			if st != tc.want {
				t.Errorf("got %d %v; want %d", st, body, tc.want)
			}
			if st >= 400 && str(body, "error", "code") == "" {
				t.Errorf("error answer without error.code: %v", body)
			}
		})
	}
	t.Run("TooLarge", func(t *testing.T) {
		big := make([]byte, 2<<20)
		for i := range big {
			big[i] = ' '
		}
		st, _ := s.Do("POST", "/v1/bills", tokW01, big)
		if st != 413 {
			t.Errorf("2 MiB body: got %d; want 413", st)
		}
	})
}

func TestAgent_CreateBill_Invalid(t *testing.T) {
	s := MustSystem(t, nil)
	for _, tc := range []struct {
		name string
		body any
		want int
		code string
	}{
		{"MalformedJSON", `{"bill_no": `, 400, "bad_json"},
		{"WrongType", `{"bill_no": 12}`, 400, "bad_json"},
		{"FloatMoney", `{"bill_no":"X1","window":"W01","total":25.00}`, 422, "invalid_bill"},
		{"UnknownField", `{"bill_no":"X1","window":"W01","totl":"1.00"}`, 400, "bad_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := s.Do("POST", "/v1/bills", tokW01, tc.body)
			if st != tc.want || str(body, "error", "code") != tc.code {
				t.Errorf("got %d %v; want %d %s", st, body, tc.want, tc.code)
			}
		})
	}
	t.Run("EveryFieldNamed", func(t *testing.T) {
		b := newBill(cardLocalEmployee)
		b.Items[0].Amount = settle.MustMoney("24.00")
		b.Items[1].Qty = -1
		b.MedType = "99"
		st, body := s.Do("POST", "/v1/bills", tokW01, b)
		if st != 422 {
			t.Fatalf("got %d %v; want 422", st, body)
		}
		details, _ := body["error"].(map[string]any)["details"].([]any)
		fields := map[string]bool{}
		for _, d := range details {
			fields[d.(map[string]any)["field"].(string)] = true
		}
		for _, f := range []string{"items[0].amount", "items[1].qty", "med_type", "total"} {
			if !fields[f] {
				t.Errorf("details lack %s: %v", f, details)
			}
		}
	})
	t.Run("Unmapped", func(t *testing.T) {
		b := newBill(cardLocalEmployee,
			settle.Item{Line: 1, HISCode: "YP0099", Name: "x", Qty: mustQty("1"), UnitPrice: mustPrice("1"), Amount: settle.MustMoney("1.00")},
			settle.Item{Line: 2, HISCode: "YP0098", Name: "y", Qty: mustQty("1"), UnitPrice: mustPrice("1"), Amount: settle.MustMoney("1.00")})
		st, body := s.Do("POST", "/v1/bills", tokW01, b)
		if st != 422 || str(body, "error", "code") != "unmapped_items" {
			t.Fatalf("got %d %v; want 422 unmapped_items", st, body)
		}
		if d, _ := body["error"].(map[string]any)["details"].([]any); len(d) != 2 {
			t.Errorf("details: got %v; want both codes", d)
		}
		if n := len(s.Sim.Ledger()); n != 0 {
			t.Errorf("an unmapped bill reached the platform: %d ledger entries", n)
		}
	})
	t.Run("UnknownWindow", func(t *testing.T) {
		b := newBill(cardLocalEmployee)
		b.Window = "W99"
		st, body := s.Do("POST", "/v1/bills", tokAdmin, b)
		if st != 422 {
			t.Errorf("got %d %v; want 422", st, body)
		}
	})
}

func TestAgent_BusinessErrors(t *testing.T) {
	s := MustSystem(t, nil)
	t.Run("Unfiled", func(t *testing.T) {
		b := newBill(cardUnfiled)
		st, body := s.Do("POST", "/v1/bills", tokW01, b)
		if st != 422 || str(body, "error", "code") != "platform_refused" || str(body, "error", "message") == "" {
			t.Fatalf("got %d %v; want 422 platform_refused with err_msg", st, body)
		}
		_, got := s.Do("GET", "/v1/bills/"+b.BillNo, tokW01, nil)
		if str(got, "state") != "failed" {
			t.Errorf("state: got %v; want failed", got["state"])
		}
	})
	t.Run("ChronicNotQualified", func(t *testing.T) {
		b := newBill(cardLocalEmployee)
		b.MedType = settle.MedTypeChronic
		st, body := s.Do("POST", "/v1/bills", tokW01, b)
		if st != 422 {
			t.Fatalf("got %d %v; want 422", st, body)
		}
	})
	t.Run("ChronicQualified", func(t *testing.T) {
		b := newBill(cardChronic)
		b.MedType = settle.MedTypeChronic
		st, body := s.Do("POST", "/v1/bills", tokW01, b)
		if st != 201 {
			t.Fatalf("got %d %v; want 201", st, body)
		}
		st, body = s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil)
		if st != 200 {
			t.Fatalf("settle: got %d %v; want 200", st, body)
		}
	})
}

func TestAgent_Cancel(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
		t.Fatalf("create: %d %v", st, body)
	}
	if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, nil); st != 200 {
		t.Fatalf("settle: %d %v", st, body)
	}
	st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/cancel", tokW01, nil)
	if st != 200 || str(body, "state") != "cancelled" {
		t.Fatalf("cancel: got %d %v; want 200 cancelled", st, body)
	}
	if got := settledByBill(s.Sim)[b.BillNo]; got != 0 {
		t.Errorf("live settlements after cancel: got %d; want 0", got)
	}
	var cancels int
	for _, e := range s.Sim.Ledger() {
		if e.Infno == "2208" && e.ChrgBchno == b.BillNo {
			cancels++
		}
	}
	_ = sim.Entry{}
	if cancels != 1 {
		t.Errorf("2208 entries: got %d; want 1", cancels)
	}
}

func TestAgent_ServerTiming(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee)
	data, _ := json.Marshal(b)
	req, _ := http.NewRequest("POST", s.URL+"/v1/bills", bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+tokW01)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var dur float64
	if _, err := fmt.Sscanf(resp.Header.Get("Server-Timing"), "platform;dur=%f", &dur); err != nil || dur <= 0 {
		t.Errorf("Server-Timing: got %q; want platform;dur=<ms> > 0", resp.Header.Get("Server-Timing"))
	}
}
