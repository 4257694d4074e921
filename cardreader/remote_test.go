package cardreader_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/internal/standin"
)

// agentSide is the agent's end: a RemoteHub mounted on a real HTTP(S) server.
type agentSide struct {
	hub    *cardreader.RemoteHub
	demand *cardreader.Demand
	reads  *reads
	srv    *httptest.Server
}

func newAgentSide(t *testing.T, tls bool) *agentSide {
	t.Helper()
	a := &agentSide{demand: cardreader.NewDemand(), reads: newReads()}
	a.hub = cardreader.NewRemoteHub(cardreader.RemoteOptions{
		Token: func(w string) (string, bool) {
			if w == "W01" {
				return "tok-w01-secret", true
			}
			return "", false
		},
		OnRead: a.reads.add, Demand: a.demand, Hold: 2 * time.Second, Now: now,
	})
	a.hub.Expect("W01")
	mux := http.NewServeMux()
	mux.Handle("/v1/windows/{window}/reader/", a.hub)
	if tls {
		a.srv = httptest.NewTLSServer(mux)
	} else {
		a.srv = httptest.NewServer(mux)
	}
	t.Cleanup(a.srv.Close)
	return a
}

// runLink starts a link (and returns it) with Run owned by the test.
func runLink(t *testing.T, a *agentSide, token string, status func() cardreader.Heartbeat) *cardreader.Link {
	t.Helper()
	o := cardreader.LinkOptions{Agent: a.srv.URL, Window: "W01", Token: token, Status: status,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	if tr, ok := a.srv.Client().Transport.(*http.Transport); ok && tr.TLSClientConfig != nil {
		o.TLS = tr.TLSClientConfig
	}
	l, err := cardreader.NewLink(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = l.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return l
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	poll.Until(t, 20*time.Second, what, ok)
}

func TestRemote_LibraryReaderOverTLS(t *testing.T) {
	a := newAgentSide(t, true)
	lib := standin.Build(t)
	ctl := standin.NewControl(t)
	// The cashier PC: a library reader polls by the link's demand; its reads go to the link.
	var reader atomic.Pointer[cardreader.LibReader]
	link := runLink(t, a, "tok-w01-secret", func() cardreader.Heartbeat {
		r := reader.Load()
		if r == nil {
			return cardreader.Heartbeat{Kind: cardreader.KindLibrary}
		}
		return cardreader.HeartbeatOf(r.State(), "test")
	})
	cfg := cardreader.LibConfig{Window: "W01", Library: lib, Interface: cardreader.InterfaceHeaSec, Init: map[string]any{"IP": "127.0.0.1"}, Poll: 50 * time.Millisecond}
	lib2 := newLibWith(t, cfg, ctl, func(o *cardreader.LibOptions) {
		o.OnRead = link.OnRead
		o.Demand = link.Demand()
	})
	reader.Store(lib2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = lib2.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the remote reader to connect", func() bool { st, _ := a.hub.State("W01"); return st.Connected })
	card := cardreader.DemoCards()[0]
	ctl.Set(t, "card "+gbk(t, cardreader.BasicString(card)))
	end := a.demand.Begin("W01")
	got := a.reads.wait(t, 1)
	if got.Err != nil || got.Card != card || got.Window != "W01" {
		t.Fatalf("remote read = %+v, %v; want %+v", got.Card, got.Err, card)
	}

	// The vendor library crashes on the cashier PC: the window hears of it, the child
	// restarts there, and the next card still arrives.
	ctl.Set(t, "crash")
	got = a.reads.wait(t, 2)
	var remote *cardreader.ErrRemote
	if !errors.As(got.Err, &remote) || !strings.Contains(got.Err.Error(), "driver stopped working") || !errors.Is(got.Err, cardreader.ErrReaderFault) {
		t.Fatalf("read after a remote crash: %v; want the reader host's fault message", got.Err)
	}
	next := cardreader.DemoCards()[1]
	ctl.Set(t, "card "+gbk(t, cardreader.BasicString(next)))
	got = a.reads.wait(t, 3)
	if got.Err != nil || got.Card != next {
		t.Fatalf("next remote read = %+v, %v; want %+v", got.Card, got.Err, next)
	}
	end()
	st, _ := a.hub.State("W01")
	if st.Kind != cardreader.KindRemote || st.Peer == "" || st.Interface != "heasec" || st.Reads[cardreader.CarrierSSCard] != 2 {
		t.Errorf("hub state = %+v; want remote, a peer, heasec, 2 sscard reads", st)
	}
	waitFor(t, "the host's crash to show at the agent", func() bool { st, _ := a.hub.State("W01"); return st.Host != nil && st.Host.Crashes == 1 })
	if ls := link.State(); !ls.Connected || ls.Sent != 3 {
		t.Errorf("link state = %+v; want connected, 3 sent", ls)
	}
}

// newLibWith builds a second reader on the same library and control file.
func newLibWith(t *testing.T, cfg cardreader.LibConfig, ctl *standin.Control, edit func(*cardreader.LibOptions)) *cardreader.LibReader {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg.HostExe = exe
	o := cardreader.LibOptions{HostArgs: []string{"-test.run=^$"}, HostEnv: []string{"CARDREADER_CHILD=1", ctl.Env()}, Now: now,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}
	edit(&o)
	r, err := cardreader.NewLib(cfg, &o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRemote_Auth(t *testing.T) {
	a := newAgentSide(t, false)
	link := runLink(t, a, "wrong-token", nil)
	waitFor(t, "the link to report the refusal", func() bool { return strings.Contains(link.State().LastError, "401") })
	if st, _ := a.hub.State("W01"); st.Connected || st.LastError == "" {
		t.Errorf("hub state with a wrong token = %+v; want not connected, with a message", st)
	}
	for _, tc := range []struct {
		window, token string
		want          int
	}{{"W02", "tok-w01-secret", http.StatusUnauthorized}, {"W01", "", http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/v1/windows/"+tc.window+"/reader/reads", strings.NewReader("{}"))
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("read for %s with token %q: HTTP %d; want %d", tc.window, tc.token, resp.StatusCode, tc.want)
		}
	}
}

func TestRemote_ReadsValidatedAgain(t *testing.T) {
	a := newAgentSide(t, false)
	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/v1/windows/W01/reader/reads", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-w01-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"card":{"mdtrt_cert_type":"03","card_no":"A1","ssn":"330106199007074566","name":"x","region_code":"330100","issue_date":"20200101","expiry_date":"20351231"}}`); code != http.StatusNoContent {
		t.Fatalf("read: HTTP %d; want 204", code)
	}
	if got := a.reads.wait(t, 1); !errors.Is(got.Err, cardreader.ErrBadIDNumber) {
		t.Errorf("remote card with a bad check digit: %v; want ErrBadIDNumber", got.Err)
	}
	post(`{"card":{"mdtrt_cert_type":"01","card_no":"ECQR:abc:20261201090000"}}`)
	if got := a.reads.wait(t, 2); got.Err != nil || got.Card.CardNo != "ECQR:abc:20261201090000" {
		t.Errorf("remote e-voucher code = %+v, %v; want the code, for the decode stage", got.Card, got.Err)
	}
	if code := post(`not json`); code != http.StatusBadRequest {
		t.Errorf("garbage read: HTTP %d; want 400", code)
	}
}

func FuzzRemoteRead(f *testing.F) {
	f.Add(`{"card":{"mdtrt_cert_type":"03","card_no":"A1"}}`)
	f.Add(`{"card":{"mdtrt_cert_type":"02","card_no":"330106199007074565","ssn":"330106199007074565","name":"王","issue_date":"20150101","expiry_date":"长期"}}`)
	f.Add(`{"error":"no card"}`)
	f.Add(`{"kind":"library","library":"x.so","connected":false,"last_error":"Init failed","host":{"crashes":2}}`)
	hub := cardreader.NewRemoteHub(cardreader.RemoteOptions{Token: func(string) (string, bool) { return "t", true }, Now: now})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/windows/W01/reader/reads", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		hub.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent && rec.Code != http.StatusBadRequest {
			t.Fatalf("HTTP %d for %q", rec.Code, body)
		}
		// The same bytes as a heartbeat: answered at once (no demand to wait for).
		req = httptest.NewRequest(http.MethodPost, "/v1/windows/W01/reader/heartbeat?waiting=true", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		rec = httptest.NewRecorder()
		hub.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("heartbeat: HTTP %d for %q", rec.Code, body)
		}
		_ = hub.States()
	})
}

// remotePost posts body to the hub at path with token and returns the status and body.
func remotePost(t *testing.T, a *agentSide, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// Issue 29 finding 6: an unknown window answered 404 and a known one 401 before any
// token was checked (which windows exist, to anyone), echoing the path segment whole
// (U+202E, CR, LF, 20,000 characters). Now every caller without the window's token
// gets the same 401, and nothing of the path comes back.
func TestRemote_NoWindowOracleNoEcho(t *testing.T) {
	a := newAgentSide(t, false)
	long := strings.Repeat("W", 20000)
	var bodies []string
	for _, w := range []string{"W01", "W99", url.PathEscape("W\u202e\r\nX"), long} {
		for _, tok := range []string{"", "guess"} {
			code, body := remotePost(t, a, "/v1/windows/"+w+"/reader/reads", tok, "{}")
			if code != http.StatusUnauthorized {
				t.Errorf("window %.20q token %q: HTTP %d; want 401 (the same for every window)", w, tok, code)
			}
			if strings.Contains(body, "W99") || strings.Contains(body, "WWW") || strings.Contains(body, "X") {
				t.Errorf("window %.20q: answer %.200q echoes the path", w, body)
			}
			bodies = append(bodies, body)
		}
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("answers differ between windows: %q vs %q; want one answer", b, bodies[0])
		}
	}
}

// Issue 29 finding 3: a heartbeat's firmware "\u202eFW", an error text with U+202E,
// U+2028 and U+0085, and a card name with U+202E came through as sent to the cashier,
// /v1/status and the open status page. Every text is cleaned by settle's plain-text
// rule and capped; a card whose name is not plain text is refused.
func TestRemote_ReaderTextCleaned(t *testing.T) {
	a := newAgentSide(t, false)
	hb := `{"kind":"serial","port":"COM3\u2066","connected":false,"last_error":"jam\u2028\u0085\u202ehere","firmware":"\u202eFW` +
		strings.Repeat("x", 1000) + `","host":{"library":"a\u202eb","last_fault":"c\u2029d"}}`
	code, _ := remotePost(t, a, "/v1/windows/W01/reader/heartbeat?waiting=false", "tok-w01-secret", hb)
	if code != http.StatusOK {
		t.Fatalf("heartbeat: HTTP %d; want 200", code)
	}
	st, _ := a.hub.State("W01")
	for name, v := range map[string]string{"port": st.Port, "firmware": st.Firmware, "last_error": st.LastError,
		"host.library": st.Host.Library, "host.last_fault": st.Host.LastFault} {
		if !settle.PlainText(v) || len(v) > 300 {
			t.Errorf("%s = %.60q (%d bytes); want plain text of at most 300 bytes", name, v, len(v))
		}
	}
	if !strings.HasPrefix(st.Firmware, "FWxxx") || !strings.HasSuffix(st.LastError, "jamhere") {
		t.Errorf("firmware %.10q, last_error %q; want the plain characters kept", st.Firmware, st.LastError)
	}

	code, _ = remotePost(t, a, "/v1/windows/W01/reader/reads", "tok-w01-secret", `{"error":"bad\u202e card\u2028x","code":"x"}`)
	if got := a.reads.wait(t, 1); code != http.StatusNoContent || got.Err == nil || !settle.PlainText(got.Err.Error()) {
		t.Errorf("read error: HTTP %d, err %v; want 204 and a plain-text error", code, got.Err)
	}
	code, _ = remotePost(t, a, "/v1/windows/W01/reader/reads", "tok-w01-secret",
		`{"card":{"mdtrt_cert_type":"03","card_no":"A1","ssn":"330106199007074565","name":"\u202e伟张","region_code":"330100","issue_date":"20200101","expiry_date":"20351231"}}`)
	if got := a.reads.wait(t, 2); code != http.StatusNoContent || !errors.Is(got.Err, cardreader.ErrBadBasic) {
		t.Errorf("card named \\u202e伟张: HTTP %d, err %v, name %q; want ErrBadBasic", code, got.Err, got.Card.Name)
	}
}
