package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServer is a platform stand-in on loopback whose handler a test sets per case.
type testServer struct {
	*httptest.Server
	mu      sync.Mutex
	handler http.HandlerFunc
	last    Request
	conns   atomic.Int64
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	s := &testServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.handler
		s.mu.Unlock()
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) set(h http.HandlerFunc) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

func (s *testServer) lastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// answer returns a handler that records the request and writes status and body.
func (s *testServer) answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Request
		_ = json.NewDecoder(r.Body).Decode(&req)
		s.mu.Lock()
		s.last = req
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func envelope(infcode int, errMsg, output string) string {
	b, _ := json.Marshal(Response{Infcode: infcode, InfRefmsgid: "R1", ErrMsg: errMsg, Output: json.RawMessage(output)})
	return string(b)
}

func mustClient(t testing.TB, o Options) *Client {
	t.Helper()
	if o.FixmedinsCode == "" {
		o.FixmedinsCode = testCode
	}
	if o.Now == nil {
		o.Now = func() time.Time { return t0 }
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second // generous: a loaded CI machine must not turn OK into a timeout
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

const registerOK = `{"data":{"mdtrt_id":"M1","psn_no":"P1","ipt_otp_no":"O1"}}`

func TestClient_Call_Classification(t *testing.T) {
	srv := newTestServer(t)
	closedURL := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		u := "http://" + ln.Addr().String()
		ln.Close()
		return u
	}()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		baseURL string
		ctx     func() context.Context
		timeout time.Duration
		warm    bool // make one OK call first, so the case's call reuses a connection (no dial under the deadline)
		want    Outcome
		is      []error
		check   func(t *testing.T, resp *Response, err error)
	}{
		{name: "OK", handler: srv.answer(200, envelope(0, "", registerOK)), want: OutcomeOK},
		{name: "HTTP500", handler: srv.answer(500, "gateway exploded"), want: OutcomeUnknown, is: []error{ErrOutcomeUnknown}},
		{name: "HTTP404", handler: srv.answer(404, "no such path"), want: OutcomeUnknown, is: []error{ErrOutcomeUnknown}},
		{name: "TooLarge", handler: srv.answer(200, `{"infcode":0,"output":"`+strings.Repeat("x", maxResponseBytes)+`"}`), want: OutcomeUnknown, is: []error{ErrOutcomeUnknown}},
		{name: "HTTP502WithEnvelope", handler: srv.answer(502, envelope(0, "", registerOK)), want: OutcomeUnknown, is: []error{ErrOutcomeUnknown}},
		{name: "InfcodeMinus1", handler: srv.answer(200, envelope(-1, "数据库异常", "null")), want: OutcomeUnknown, is: []error{ErrOutcomeUnknown},
			check: func(t *testing.T, resp *Response, err error) {
				if resp == nil || resp.Infcode != -1 {
					t.Errorf("response %+v; want the decoded envelope with infcode -1", resp)
				}
			}},
		{name: "Business", handler: srv.answer(200, envelope(-2, "参保人未备案，请先办理异地就医备案", "null")), want: OutcomeBusiness, is: []error{ErrBusiness},
			check: func(t *testing.T, resp *Response, err error) {
				var be *BusinessError
				if !errors.As(err, &be) || be.ErrMsg != "参保人未备案，请先办理异地就医备案" || be.Infcode != -2 || be.Infno != InfnoRegister {
					t.Errorf("got %#v; want *BusinessError with err_msg verbatim", err)
				}
			}},
		{name: "NotJSON", handler: srv.answer(200, "<html>maintenance</html>"), want: OutcomeUnknown, is: []error{ErrOutcomeUnknown, ErrBadResponse}},
		{name: "NoInfcode", handler: srv.answer(200, `{"output":{}}`), want: OutcomeUnknown, is: []error{ErrBadResponse}},
		{name: "MissingField", handler: srv.answer(200, envelope(0, "", `{"data":{"psn_no":"P1"}}`)), want: OutcomeUnknown, is: []error{ErrBadResponse, ErrOutcomeUnknown}},
		{name: "NullOutput", handler: srv.answer(200, envelope(0, "", "null")), want: OutcomeUnknown, is: []error{ErrBadResponse}},
		{name: "WrongTypeInOutput", handler: srv.answer(200, envelope(0, "", `{"data":{"mdtrt_id":{"id":1}}}`)), want: OutcomeUnknown, is: []error{ErrBadResponse}},
		{name: "HijackAndClose", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, want: OutcomeUnknown, is: []error{ErrOutcomeUnknown}},
		{name: "HalfAnswerThenClose", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"infcode\":0,")
				_ = buf.Flush()
				conn.Close()
			}
		}, want: OutcomeUnknown, is: []error{ErrOutcomeUnknown}},
		{name: "SlowPastDeadline", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}, warm: true, ctx: func() context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			t.Cleanup(cancel)
			return ctx
		}, want: OutcomeUnknown, is: []error{ErrOutcomeUnknown}},
		{name: "SlowPastTimeoutOption", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}, warm: true, timeout: time.Second, want: OutcomeUnknown, is: []error{ErrOutcomeUnknown}},
		{name: "ClosedPort", baseURL: closedURL, want: OutcomeNotSent, is: []error{ErrNotSent}},
		{name: "CancelledBeforeSending", handler: srv.answer(200, envelope(0, "", registerOK)), ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, want: OutcomeNotSent, is: []error{ErrNotSent}},
		{name: "HTTP401", handler: srv.answer(401, `{"message":"signature invalid"}`), want: OutcomeNotSent, is: []error{ErrUnauthorized}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := srv.URL
			if tc.baseURL != "" {
				base = tc.baseURL
			}
			c := mustClient(t, Options{BaseURL: base, Timeout: tc.timeout})
			if tc.warm {
				srv.set(srv.answer(200, envelope(0, "", registerOK)))
				if _, err := c.Call(context.Background(), InfnoRegister, Meta{Msgid: testCode + "202611230912010000"}, RegisterInput{}, &RegisterOutput{}); err != nil {
					t.Fatalf("warm-up call: %v", err)
				}
			}
			if tc.handler != nil {
				srv.set(tc.handler)
			}
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx()
			}
			var out RegisterOutput
			resp, err := c.Call(ctx, InfnoRegister, Meta{Msgid: testCode + "202611230912010001"}, RegisterInput{Data: RegisterData{PsnNo: "P1"}}, &out)
			if got := Classify(err); got != tc.want {
				t.Fatalf("Classify(%v) = %s; want %s", err, got, tc.want)
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("error %v; want errors.Is %v", err, target)
				}
			}
			if tc.want == OutcomeOK && out.Data.MdtrtID != "M1" {
				t.Errorf("output %+v; want mdtrt_id M1", out)
			}
			if tc.check != nil {
				tc.check(t, resp, err)
			}
		})
	}
}

func TestClient_Call_Envelope(t *testing.T) {
	srv := newTestServer(t)
	srv.set(srv.answer(200, envelope(0, "", `{"signinoutb":{"sign_no":"S42","sign_time":"2026-11-23 09:12:01"}}`)))
	c := mustClient(t, Options{BaseURL: srv.URL + "/", FixmedinsName: "Example People's Hospital", MdtrtareaAdmvs: "330100",
		Now: func() time.Time { return t0.UTC() }})
	var out SignInOutput
	msgid := testCode + "202611230912010007"
	if _, err := c.Call(context.Background(), InfnoSignIn, Meta{Msgid: msgid, Opter: "W01", OpterName: "window 01"},
		SignInInput{SignIn: SignInData{OpterNo: "W01", Mac: "00-11", IP: "10.0.0.1"}}, &out); err != nil {
		t.Fatal(err)
	}
	c.SetSignNo(out.Signinoutb.SignNo)
	got := srv.lastRequest()
	want := Request{Infno: "9001", Msgid: msgid, MdtrtareaAdmvs: "330100", RecerSysCode: "YBXT", Infver: "V1.0", OpterType: "1",
		Opter: "W01", OpterName: "window 01", InfTime: "2026-11-23 09:12:01", FixmedinsCode: testCode, FixmedinsName: "Example People's Hospital"}
	gotInput := got.Input
	got.Input = nil
	if !equalJSON(t, got, want) {
		t.Errorf("envelope\n got %+v\nwant %+v", got, want)
	}
	if !equalJSON(t, gotInput, json.RawMessage(`{"signIn":{"opter_no":"W01","mac":"00-11","ip":"10.0.0.1"}}`)) {
		t.Errorf("input %s", gotInput)
	}
	// the sign_no from 9001 goes into every later envelope
	srv.set(srv.answer(200, envelope(0, "", `{}`)))
	if _, err := c.Call(context.Background(), InfnoSignOut, Meta{Msgid: msgid[:26] + "0008"}, SignOutInput{SignOut: SignOutData{SignNo: c.SignNo()}}, nil); err != nil {
		t.Fatal(err)
	}
	if sn := srv.lastRequest().SignNo; sn != "S42" || c.SignNo() != "S42" {
		t.Errorf("sign_no %q; want S42", sn)
	}
}

func TestClient_Call_NoMsgid(t *testing.T) {
	c := mustClient(t, Options{BaseURL: "http://127.0.0.1:1"})
	if _, err := c.Call(context.Background(), InfnoSettle, Meta{}, SettleInput{}, nil); !errors.Is(err, ErrNotSent) {
		t.Fatalf("got %v; want ErrNotSent", err)
	}
}

func TestNewClient_ErrInvalid(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "127.0.0.1:8080", "http://"} {
		if _, err := NewClient(Options{BaseURL: u}); err == nil {
			t.Errorf("NewClient(%q): got nil; want an error", u)
		}
	}
	if _, err := NewClient(Options{BaseURL: "https://x", CAFile: "/nonexistent/ca.pem"}); err == nil {
		t.Error("missing ca_file: got nil; want an error")
	}
}

func TestClient_Call_Signed(t *testing.T) {
	srv := newTestServer(t)
	var now atomic.Int64
	now.Store(t0.Unix())
	inner := srv.answer(200, envelope(0, "", registerOK))
	srv.set(func(w http.ResponseWriter, r *http.Request) {
		if err := VerifySignature(r.Header, "paas1", "s3cr3t", time.Unix(now.Load(), 0), 300*time.Second); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		inner(w, r)
	})
	call := func(token string) error {
		c := mustClient(t, Options{BaseURL: srv.URL, Paasid: "paas1", Token: token})
		_, err := c.Call(context.Background(), InfnoRegister, Meta{Msgid: testCode + "202611230912010001"}, RegisterInput{}, &RegisterOutput{})
		return err
	}
	if err := call("s3cr3t"); err != nil {
		t.Fatalf("right token: %v", err)
	}
	if err := call("wrong"); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong token: got %v; want ErrUnauthorized", err)
	}
	now.Store(t0.Unix() + 301) // the gateway's clock is ahead: the signature is stale
	if err := call("s3cr3t"); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("stale: got %v; want ErrUnauthorized", err)
	}
}

func TestClient_Call_PreSettleWithoutSetlID(t *testing.T) {
	srv := newTestServer(t)
	c := mustClient(t, Options{BaseURL: srv.URL})
	out := `{"setlinfo":{"mdtrt_id":"M1","medfee_sumamt":100.00,"fund_pay_sumamt":70.00,"psn_part_amt":30.00,"acct_pay":10.00,"psn_cash_pay":20.00,"hifp_pay":70.00},"setldetail":[]}`
	srv.set(srv.answer(200, envelope(0, "", out)))
	var so SettleOutput
	if _, err := c.Call(context.Background(), InfnoPreSettle, Meta{Msgid: testCode + "202611230912010001"}, SettleInput{}, &so); err != nil {
		t.Fatalf("2206 without setl_id: %v; want nil", err)
	}
	if got := so.Setlinfo.Split().OwnShare(); got != 3000 {
		t.Errorf("own share %s; want 30.00", got)
	}
	if _, err := c.Call(context.Background(), InfnoSettle, Meta{Msgid: testCode + "202611230912010002"}, SettleInput{}, &so); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("2207 without setl_id: got %v; want ErrBadResponse", err)
	}
	withID := `{"setlinfo":{"setl_id":"S1","mdtrt_id":"M1","medins_setl_id":"` + testCode + `202611230912010003","medfee_sumamt":"1.00","psn_part_amt":"1.00","psn_cash_pay":"1.00"}}`
	srv.set(srv.answer(200, envelope(0, "", withID)))
	if _, err := c.Call(context.Background(), InfnoSettle, Meta{Msgid: testCode + "202611230912010003"}, SettleInput{}, &so); err != nil {
		t.Fatalf("2207 echoing its msgid: got %v; want nil", err)
	}
	resp, err := c.Call(context.Background(), InfnoSettle, Meta{Msgid: testCode + "202611230912010004"}, SettleInput{}, &so)
	if err != nil {
		t.Fatalf("2207 echoing another msgid: got %v; want nil (a surprise, not a failure)", err)
	}
	if !resp.HasSurprise(SurpriseMismatch, "setlinfo.medins_setl_id") {
		t.Errorf("2207 echoing another msgid: surprises %v; want a mismatch on setlinfo.medins_setl_id", resp.Surprises)
	}
	// A stay's 2304 is held to the same rule.
	withClr := `{"setlinfo":{"setl_id":"S1","mdtrt_id":"M1","clr_type":"21","medins_setl_id":"` + testCode + `202611230912010003","medfee_sumamt":"1.00","psn_part_amt":"1.00","psn_cash_pay":"1.00"}}`
	srv.set(srv.answer(200, envelope(0, "", withClr)))
	resp, err = c.Call(context.Background(), InfnoInpatientSettle, Meta{Msgid: testCode + "202611230912010005"}, InpatientSettleInput{}, &InpatientSettleOutput{})
	if err != nil || !resp.HasSurprise(SurpriseMismatch, "setlinfo.medins_setl_id") {
		t.Errorf("2304 echoing another msgid: got %v, surprises %v; want a mismatch on setlinfo.medins_setl_id", err, resp.Surprises)
	}
}

// TestClient_Call_LogHasNoErrMsg: a business err_msg may name the patient; it goes to
// the caller, not to the log.
func TestClient_Call_LogHasNoErrMsg(t *testing.T) {
	srv := newTestServer(t)
	srv.set(srv.answer(200, envelope(-3, "张三 未备案", "null")))
	var buf bytes.Buffer
	var mu sync.Mutex
	c := mustClient(t, Options{BaseURL: srv.URL, Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	_, err := c.Call(context.Background(), InfnoPersonInfo, Meta{Msgid: testCode + "202611230912010001"}, PersonInfoInput{}, &PersonInfoOutput{})
	if !errors.Is(err, ErrBusiness) || !strings.Contains(err.Error(), "张三 未备案") {
		t.Fatalf("got %v; want the business error with err_msg", err)
	}
	mu.Lock()
	defer mu.Unlock()
	log := buf.String()
	if !strings.Contains(log, "outcome=business") || strings.Contains(log, "张三") {
		t.Fatalf("log %q; want one line with outcome=business and no err_msg", log)
	}
	if n := strings.Count(log, "\n"); n != 1 {
		t.Fatalf("log has %d lines; want 1", n)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestClient_Call_Pool: 64 concurrent callers share at most 64 keep-alive connections
// (Go's default of 2 idle connections per host would open hundreds).
func TestClient_Call_Pool(t *testing.T) {
	srv := newTestServer(t)
	srv.set(srv.answer(200, envelope(0, "", registerOK)))
	c := mustClient(t, Options{BaseURL: srv.URL})
	g, _ := NewMsgidGenerator(MsgidOptions{FixmedinsCode: testCode, Node: -1})
	const workers, per = 64, 20
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				id, _ := g.Next()
				var out RegisterOutput
				if _, err := c.Call(context.Background(), InfnoRegister, Meta{Msgid: id}, RegisterInput{}, &out); err != nil {
					failed.Add(1)
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d calls failed", failed.Load())
	}
	// Pooled connections are reused: 1,280 calls must not open anywhere near 1,280
	// connections. The bound is not exactly one per caller: net/http finishes a dial it
	// started for a caller that was then served by a connection freed meanwhile, and
	// keeps that connection too, so a loaded machine sees a few more than 64.
	if n, most := srv.conns.Load(), int64(2*workers); n > most {
		t.Fatalf("%d connections for %d callers making %d calls; want at most %d (connections reused)", n, workers, workers*per, most)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("marshal: %v %v", err1, err2)
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return bytes.Equal(ca, cb)
}

func BenchmarkClient_Call(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, envelope(0, "", registerOK))
	}))
	defer srv.Close()
	c := mustClient(b, Options{BaseURL: srv.URL})
	g, _ := NewMsgidGenerator(MsgidOptions{FixmedinsCode: testCode, Node: -1})
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id, _ := g.Next()
			if _, err := c.Call(context.Background(), InfnoRegister, Meta{Msgid: id}, RegisterInput{}, &RegisterOutput{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestDecodeResponse(t *testing.T) {
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"infcode":0,"output":{}}`, 0},
		{`{"infcode":"0","err_msg":null}`, 0},
		{`{"infcode":-1}`, -1},
		{`{"infcode":"-2","err_msg":"x"}`, -2},
	} {
		r, err := DecodeResponse([]byte(tc.body))
		if err != nil || r.Infcode != tc.code {
			t.Errorf("DecodeResponse(%s) = %+v, %v; want infcode %d", tc.body, r, err, tc.code)
		}
	}
	for _, body := range []string{``, `null`, `[]`, `{}`, `{"infcode":null}`, `{"infcode":""}`, `{"infcode":"ok"}`, `{"infcode":0.5}`, `{"infcode":"+0"}`, `<html>`} {
		if r, err := DecodeResponse([]byte(body)); !errors.Is(err, ErrBadResponse) {
			t.Errorf("DecodeResponse(%s) = %+v, %v; want ErrBadResponse", body, r, err)
		}
	}
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"infcode":0,"output":{"data":{}}}`))
	f.Add([]byte(`{"infcode":"-1","err_msg":"系统异常"}`))
	f.Add([]byte(`{"infcode":1e2}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeResponse(body)
		if err != nil {
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("error %v is not ErrOutcomeUnknown", err)
			}
			return
		}
		// an accepted envelope re-encodes and decodes to the same infcode
		b, err := json.Marshal(r)
		if err != nil {
			return // raw output that is not valid JSON on its own cannot happen: it came from a valid document
		}
		r2, err := DecodeResponse(b)
		if err != nil || r2.Infcode != r.Infcode || r2.ErrMsg != r.ErrMsg {
			t.Fatalf("re-decode of %s: %+v, %v; want %+v", b, r2, err, r)
		}
	})
}
