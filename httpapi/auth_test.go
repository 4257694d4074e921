package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/settle-agent/settle-agent/workflow"
)

// A request without a bearer token, or with one no window has, is refused with
// 401 and a WWW-Authenticate challenge before the engine is asked anything.
func TestAuth_MissingOrUnknownToken_401(t *testing.T) {
	f := newFakeAgent()
	srv := fakeAPI(t, f)
	for _, tc := range []struct{ name, token, challenge string }{
		{"Missing", "", `Bearer realm="settle-agent"`},
		{"Unknown", "not-a-token", `error="invalid_token"`},
		{"EmptyAdminNeverMatches", " ", `Bearer realm="settle-agent"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, srv, "POST", "/v1/bills/B1/settle", tc.token, `{}`)
			if a.status != http.StatusUnauthorized || a.err.Code != "unauthorized" {
				t.Errorf("got %d %q; want 401 unauthorized", a.status, a.err.Code)
			}
			if got := a.header.Get("WWW-Authenticate"); !strings.Contains(got, tc.challenge) {
				t.Errorf("WWW-Authenticate: got %q; want it to contain %q", got, tc.challenge)
			}
		})
	}
	if got := f.called(); len(got) != 0 {
		t.Errorf("engine calls: got %v; want none", got)
	}
}

// With no admin token configured, no token reaches the admin endpoints.
func TestAuth_NoAdminToken_AdminEndpointsRefuseEveryone(t *testing.T) {
	srv := fakeAPI(t, newFakeAgent(), func(o *Options) { o.AdminToken = "" })
	if a := call(t, srv, "GET", "/v1/queue", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("no token: got %d; want 401", a.status)
	}
	if a := call(t, srv, "GET", "/v1/queue", w01Token, ""); a.status != http.StatusForbidden || a.err.Code != "forbidden" {
		t.Errorf("window token: got %d %q; want 403 forbidden", a.status, a.err.Code)
	}
}

// A window's token acts for its own window only: another window's bill and the
// admin endpoints answer 403; the admin token reaches both.
func TestAuth_WindowTokenActsForItsWindowOnly(t *testing.T) {
	f := newFakeAgent()
	f.addBill("B01", "01", workflow.StatePresettled)
	f.addBill("B02", "02", workflow.StatePresettled)
	srv := fakeAPI(t, f)
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"OwnBill", "GET", "/v1/bills/B01", w01Token, http.StatusOK},
		{"OtherWindowsBill", "GET", "/v1/bills/B02", w01Token, http.StatusForbidden},
		{"OtherWindowsSettle", "POST", "/v1/bills/B02/settle", w01Token, http.StatusForbidden},
		{"AdminAnyBill", "GET", "/v1/bills/B02", adminToken, http.StatusOK},
		{"WindowOnAdminEndpoint", "GET", "/v1/queue", w02Token, http.StatusForbidden},
		{"AdminOnAdminEndpoint", "GET", "/v1/queue", adminToken, http.StatusOK},
		{"OtherWindowsCard", "GET", "/v1/windows/02/card?wait=0", w01Token, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = `{}`
			}
			if a := call(t, srv, tc.method, tc.path, tc.token, body); a.status != tc.want {
				t.Errorf("%s %s: got %d %s; want %d", tc.method, tc.path, a.status, a.body, tc.want)
			}
		})
	}
	for _, c := range f.called() {
		if c == "SettleBill B02" {
			t.Errorf("window 01 settled window 02's bill")
		}
	}
}

// A bill posted by one window for another is refused before the engine sees it.
func TestAuth_BillForAnotherWindow_403(t *testing.T) {
	f := newFakeAgent()
	srv := fakeAPI(t, f)
	a := call(t, srv, "POST", "/v1/bills", w01Token, `{"bill_no":"B9","window":"02"}`)
	if a.status != http.StatusForbidden || a.err.Code != "forbidden" {
		t.Errorf("got %d %q; want 403 forbidden", a.status, a.err.Code)
	}
	if got := f.called(); len(got) != 0 {
		t.Errorf("engine calls: got %v; want none", got)
	}
}

// Past the per-client rate a request answers 429 with Retry-After, before the
// engine is called.
func TestLimits_RateLimit_429WithRetryAfter(t *testing.T) {
	f := newFakeAgent()
	f.addBill("B01", "01", workflow.StateSettled)
	srv := fakeAPI(t, f, func(o *Options) { o.RateLimit = 1 })
	var last answer
	for range 20 {
		if last = call(t, srv, "GET", "/v1/bills/B01", w01Token, ""); last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != http.StatusTooManyRequests || last.err.Code != "rate_limited" {
		t.Fatalf("after 20 requests at rate 1/s: got %d %q; want 429 rate_limited", last.status, last.err.Code)
	}
	if got := last.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After: got %q; want 1", got)
	}
}

// A body over Options.MaxBodyBytes answers 413 in the error body.
func TestLimits_BodyOverMax_413(t *testing.T) {
	f := newFakeAgent()
	srv := fakeAPI(t, f, func(o *Options) { o.MaxBodyBytes = 64 })
	a := call(t, srv, "POST", "/v1/bills", w01Token, `{"bill_no":"`+strings.Repeat("x", 200)+`"}`)
	if a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("got %d %s; want 413", a.status, a.body)
	}
	if got := f.called(); len(got) != 0 {
		t.Errorf("engine calls: got %v; want none", got)
	}
}

// The status page and /metrics answer only under the agent's own names: another
// Host (DNS rebinding) gets 421; Options.HostNames adds a name.
func TestHostCheck_StatusPageUnderForeignHost_421(t *testing.T) {
	srv := fakeAPI(t, newFakeAgent(), func(o *Options) { o.HostNames = []string{"settle.hospital.example"} })
	for _, tc := range []struct {
		host string
		want int
	}{
		{"evil.example", http.StatusMisdirectedRequest},
		{"settle.hospital.example", http.StatusOK},
		{"localhost", http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		req.Host = tc.host
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Host %s: got %d; want %d", tc.host, resp.StatusCode, tc.want)
		}
	}
}

// New refuses options without what the API serves.
func TestNew_WithoutEngine_ErrNoEngine(t *testing.T) {
	f := newFakeAgent()
	if _, err := New(Options{Bills: f, Queue: f}); err != ErrNoEngine {
		t.Errorf("got %v; want ErrNoEngine", err)
	}
}
