package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

// fakeAgent is a hand-written stand-in for what the API serves (the interfaces of
// ports.go): bills and queue records kept in maps, and the answers a test sets.
// It is the API's outside boundary; the agent/ tests drive the real engine.
type fakeAgent struct {
	mu      sync.Mutex
	bills   map[string]*workflow.Record
	stays   []*workflow.StayRecord // what Stays lists, by state
	jobs    map[uint64]*queue.Record
	result  workflow.Result // what SubmitBill, SettleBill and CancelBill answer
	err     error           // their error, and RetryJob's and KillJob's
	breaker *workflow.Breaker
	calls   []string // "method arg" of each engine call, in order
}

func newFakeAgent() *fakeAgent {
	return &fakeAgent{bills: map[string]*workflow.Record{}, jobs: map[uint64]*queue.Record{},
		breaker: workflow.NewBreaker(3, time.Now)}
}

func (f *fakeAgent) note(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeAgent) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeAgent) addBill(billNo, window string, state workflow.State) *workflow.Record {
	rec := &workflow.Record{Bill: settle.Bill{BillNo: billNo, Window: window}, State: state}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bills[billNo] = rec
	return rec
}

// Bills

func (f *fakeAgent) SubmitBill(_ context.Context, b settle.Bill, key, source string) (workflow.Result, error) {
	f.note("SubmitBill " + b.BillNo)
	return f.result, f.err
}

func (f *fakeAgent) Bill(billNo string) (*workflow.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rec, ok := f.bills[billNo]; ok {
		return rec, nil
	}
	return nil, settle.ErrNotFound
}

func (f *fakeAgent) SettleBill(_ context.Context, billNo, acctUsed, setlway string) (workflow.Result, error) {
	f.note("SettleBill " + billNo)
	return f.result, f.err
}

func (f *fakeAgent) CancelBill(_ context.Context, billNo string) (workflow.Result, error) {
	f.note("CancelBill " + billNo)
	return f.result, f.err
}

func (f *fakeAgent) Bills(state workflow.State, after string, limit int, since time.Time) ([]*workflow.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*workflow.Record
	for _, rec := range f.bills {
		if state == "" || rec.State == state {
			out = append(out, rec)
		}
	}
	return out, nil
}

func (f *fakeAgent) BillCounts() map[workflow.State]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[workflow.State]int{}
	for _, rec := range f.bills {
		out[rec.State]++
	}
	return out
}

func (f *fakeAgent) BillsOfDay(day string) ([]*workflow.Record, error) { return nil, nil }
func (f *fakeAgent) RecentBills(n int) []*workflow.Record              { return nil }
func (f *fakeAgent) SurprisedBills(n int) []*workflow.Record           { return nil }
func (f *fakeAgent) Outstanding() settle.Money                         { return 0 }

// Stays

func (f *fakeAgent) SubmitAdmission(_ context.Context, a settle.Admission, source string) (workflow.StayResult, error) {
	f.note("SubmitAdmission")
	return workflow.StayResult{}, f.err
}

func (f *fakeAgent) Stay(iptNo string) (*workflow.StayRecord, error) { return nil, settle.ErrNotFound }

func (f *fakeAgent) Stays(state workflow.State, after string, limit int) ([]*workflow.StayRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*workflow.StayRecord
	for _, rec := range f.stays {
		if (state == "" || rec.State == state) && rec.Admission.IptNo > after && len(out) < limit {
			out = append(out, rec)
		}
	}
	return out, nil
}

func (f *fakeAgent) SubmitStayFees(context.Context, string, settle.FeeBatch, string) (workflow.StayResult, error) {
	return workflow.StayResult{}, f.err
}

func (f *fakeAgent) CancelStayFees(context.Context, string, string) (workflow.StayResult, error) {
	return workflow.StayResult{}, f.err
}

func (f *fakeAgent) SubmitDischarge(context.Context, string, settle.Discharge, string) (workflow.StayResult, error) {
	return workflow.StayResult{}, f.err
}

func (f *fakeAgent) PresettleStay(context.Context, string, settle.StaySettle) (workflow.StayResult, error) {
	return workflow.StayResult{}, f.err
}

func (f *fakeAgent) SettleStay(context.Context, string, settle.StaySettle) (workflow.StayResult, error) {
	return workflow.StayResult{}, f.err
}

func (f *fakeAgent) CancelStaySettlement(context.Context, string, string) (workflow.StayResult, error) {
	return workflow.StayResult{}, f.err
}

func (f *fakeAgent) CancelStay(context.Context, string, string) (workflow.StayResult, error) {
	return workflow.StayResult{}, f.err
}

func (f *fakeAgent) StaySummary() workflow.StaySummary { return workflow.StaySummary{} }

// Persons and Link

func (f *fakeAgent) FindPerson(context.Context, settle.Patient) (*settle.Person, string, time.Time, error) {
	return nil, "", time.Time{}, settle.ErrNotFound
}

func (f *fakeAgent) Breaker() *workflow.Breaker { return f.breaker }
func (f *fakeAgent) SignedIn() bool             { return true }
func (f *fakeAgent) SignInRefusal() string      { return "" }

// Queue and Jobs

func (f *fakeAgent) List(queue.Filter) ([]*queue.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []*queue.Record{}
	for _, r := range f.jobs {
		out = append(out, r)
	}
	return out, nil
}

func (f *fakeAgent) Get(id uint64) (*queue.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.jobs[id]; ok {
		return r, nil
	}
	return nil, queue.ErrNotFound
}

func (f *fakeAgent) Stats() (queue.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var st queue.Stats
	for _, r := range f.jobs {
		switch r.State {
		case queue.StateReady:
			st.Ready++
		case queue.StateDead:
			st.Dead++
		}
	}
	return st, nil
}

func (f *fakeAgent) RetryJob(_ context.Context, id uint64) error {
	f.note("RetryJob")
	if f.err != nil {
		return f.err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.jobs[id]; ok {
		r.State = queue.StateReady
		return nil
	}
	return queue.ErrNotFound
}

func (f *fakeAgent) KillJob(_ context.Context, id uint64) error {
	f.note("KillJob")
	return f.err
}

// Tokens of the fake API's callers.
const (
	adminToken = "admin-token-0123456789"
	w01Token   = "window-01-token-abcdef"
	w02Token   = "window-02-token-ghijkl"
)

// fakeAPI serves the real Server over loopback HTTP in front of f; opts adjusts
// the options before New.
func fakeAPI(t *testing.T, f *fakeAgent, opts ...func(*Options)) *httptest.Server {
	t.Helper()
	o := Options{Bills: f, Stays: f, Persons: f, Link: f, Queue: f, Jobs: f,
		Listen: "127.0.0.1:0", AdminToken: adminToken,
		Windows: []Window{{ID: "01", Token: w01Token}, {ID: "02", Token: w02Token}}}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// answer is one HTTP answer: its status, headers and the error body if any.
type answer struct {
	status int
	header http.Header
	body   string
	err    apiError
}

// call sends method path with token (none when empty) and body (none when empty).
func call(t *testing.T, srv *httptest.Server, method, path, token, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(raw)}
	if resp.StatusCode >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var eb struct {
			Error apiError `json:"error"`
		}
		if err := json.Unmarshal(raw, &eb); err != nil || eb.Error.Code == "" {
			t.Fatalf("%s %s: %d body %s is not {\"error\":{\"code\",\"message\"}}", method, path, resp.StatusCode, raw)
		}
		a.err = eb.Error
	}
	return a
}
