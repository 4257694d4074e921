package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/workflow"
)

// Every result kind of the engine becomes its status code (respond.go).
func TestRespond_ResultKindsBecomeStatusCodes(t *testing.T) {
	for _, tc := range []struct {
		kind workflow.ResultKind
		want int
	}{
		{workflow.ResultCreated, http.StatusCreated},
		{workflow.ResultQueued, http.StatusAccepted},
		{workflow.ResultSettled, http.StatusOK},
		{workflow.ResultFound, http.StatusOK},
		{workflow.ResultCancelled, http.StatusOK},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			f := newFakeAgent()
			rec := f.addBill("B1", "01", workflow.StatePresettled)
			f.result = workflow.Result{Kind: tc.kind, Bill: rec}
			srv := fakeAPI(t, f)
			a := call(t, srv, "POST", "/v1/bills/B1/settle", w01Token, `{}`)
			if a.status != tc.want {
				t.Fatalf("got %d %s; want %d", a.status, a.body, tc.want)
			}
			var v struct {
				BillNo string `json:"bill_no"`
			}
			if err := json.Unmarshal([]byte(a.body), &v); err != nil || v.BillNo != "B1" {
				t.Errorf("body: got %s; want the bill B1", a.body)
			}
		})
	}
}

// Every sentinel and typed error of the engine becomes its status code and a code
// in {"error":{"code","message"}}, wrapped or not.
func TestRespond_ErrorsBecomeStatusAndCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
		code string
	}{
		{"Refusal", &workflow.Refusal{Code: "platform_refused", Message: "参保人未备案"}, http.StatusUnprocessableEntity, "platform_refused"},
		{"StateError", &workflow.StateError{Code: "bill_cancelled", Message: "the bill is cancelled"}, http.StatusConflict, "bill_cancelled"},
		{"RefusedOffline", workflow.ErrRefusedOffline, http.StatusServiceUnavailable, "offline_refused"},
		{"Offline", workflow.ErrOffline, http.StatusServiceUnavailable, "platform_offline"},
		{"Conflict", fmt.Errorf("submit bill B1: %w", settle.ErrConflict), http.StatusConflict, "conflict"},
		{"NotFound", fmt.Errorf("bill B1: %w", settle.ErrNotFound), http.StatusNotFound, "not_found"},
		{"Closed", workflow.ErrClosed, http.StatusServiceUnavailable, "shutting_down"},
		{"SealKey", fmt.Errorf("load bill: %w", store.ErrSealKey), http.StatusInternalServerError, "store_key_missing"},
		{"Store", fmt.Errorf("save: %w", workflow.ErrStore), http.StatusInternalServerError, "store_failed"},
		{"Busy", context.DeadlineExceeded, http.StatusServiceUnavailable, "busy"},
		{"Other", errors.New("disk on fire"), http.StatusInternalServerError, "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAgent()
			f.addBill("B1", "01", workflow.StatePresettled)
			f.err = tc.err
			srv := fakeAPI(t, f)
			a := call(t, srv, "POST", "/v1/bills/B1/cancel", w01Token, "")
			if a.status != tc.want || a.err.Code != tc.code {
				t.Errorf("got %d %q; want %d %q", a.status, a.err.Code, tc.want, tc.code)
			}
			if a.err.Message == "" {
				t.Errorf("got an empty message; want a sentence saying what to do")
			}
		})
	}
}

// A bill number no bill can have answers 404 without a lookup; an unknown one 404.
func TestRespond_UnknownBill_404(t *testing.T) {
	srv := fakeAPI(t, newFakeAgent())
	for _, path := range []string{"/v1/bills/B404", "/v1/bills/no%20such%3Cbill%3E"} {
		if a := call(t, srv, "GET", path, w01Token, ""); a.status != http.StatusNotFound || a.err.Code != "not_found" {
			t.Errorf("GET %s: got %d %q; want 404 not_found", path, a.status, a.err.Code)
		}
	}
}

// Unknown JSON fields and malformed JSON are 400 bad_json, before the engine.
func TestRespond_BadJSON_400(t *testing.T) {
	f := newFakeAgent()
	srv := fakeAPI(t, f)
	for _, body := range []string{`{"bill_no":"B1","surprise":1}`, `{"bill_no":`, `{}{}`} {
		if a := call(t, srv, "POST", "/v1/bills", w01Token, body); a.status != http.StatusBadRequest || a.err.Code != "bad_json" {
			t.Errorf("body %s: got %d %q; want 400 bad_json", body, a.status, a.err.Code)
		}
	}
	if got := f.called(); len(got) != 0 {
		t.Errorf("engine calls: got %v; want none", got)
	}
}

// The queue's admin endpoints: a bad id is 400, an unknown one 404, a retry of a
// record in the wrong state 409, and a retry answers the record as it now is.
func TestAdmin_QueueRetry(t *testing.T) {
	f := newFakeAgent()
	f.jobs[7] = &queue.Record{ID: 7, Key: "B1", State: queue.StateDead}
	srv := fakeAPI(t, f)
	if a := call(t, srv, "POST", "/v1/queue/x/retry", adminToken, ""); a.status != http.StatusBadRequest || a.err.Code != "bad_request" {
		t.Errorf("bad id: got %d %q; want 400 bad_request", a.status, a.err.Code)
	}
	if a := call(t, srv, "GET", "/v1/queue/8", adminToken, ""); a.status != http.StatusNotFound || a.err.Code != "not_found" {
		t.Errorf("unknown id: got %d %q; want 404 not_found", a.status, a.err.Code)
	}
	a := call(t, srv, "POST", "/v1/queue/7/retry", adminToken, "")
	var got queue.Record
	if err := json.Unmarshal([]byte(a.body), &got); a.status != http.StatusOK || err != nil || got.State != queue.StateReady {
		t.Errorf("retry: got %d %s; want 200 and the record ready", a.status, a.body)
	}
	f.err = fmt.Errorf("retry job 7: %w", queue.ErrWrongState)
	if a := call(t, srv, "POST", "/v1/queue/7/dead", adminToken, ""); a.status != http.StatusConflict || a.err.Code != "wrong_state" {
		t.Errorf("wrong state: got %d %q; want 409 wrong_state", a.status, a.err.Code)
	}
}

// Without a reconciler the reconciliation endpoint says it is not configured.
func TestAdmin_ReconciliationWithoutReconciler_404(t *testing.T) {
	srv := fakeAPI(t, newFakeAgent())
	if a := call(t, srv, "GET", "/v1/reconciliation?day=2026-12-07", adminToken, ""); a.status != http.StatusNotFound || a.err.Code != "not_found" {
		t.Errorf("got %d %q; want 404 not_found", a.status, a.err.Code)
	}
}

// /v1/status counts what the engine and the queue report.
func TestStatus_ReportsEngineAndQueue(t *testing.T) {
	f := newFakeAgent()
	f.addBill("B1", "01", workflow.StateSettled)
	f.addBill("B2", "01", workflow.StateSettled)
	f.addBill("B3", "02", workflow.StateQueued)
	f.jobs[1] = &queue.Record{ID: 1, Key: "B3", State: queue.StateReady}
	srv := fakeAPI(t, f)
	a := call(t, srv, "GET", "/v1/status", w01Token, "")
	var st Status
	if err := json.Unmarshal([]byte(a.body), &st); a.status != http.StatusOK || err != nil {
		t.Fatalf("got %d %s; want 200 and a status", a.status, a.body)
	}
	if st.Bills[workflow.StateSettled] != 2 || st.Bills[workflow.StateQueued] != 1 || st.Queue.Queued != 1 {
		t.Errorf("got bills %v queue %+v; want 2 settled, 1 queued, 1 queue record ready", st.Bills, st.Queue)
	}
	if !st.Online {
		t.Errorf("online: got false; want true (the breaker has not tripped)")
	}
}
