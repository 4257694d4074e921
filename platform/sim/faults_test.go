package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

func regInput(psn string) platform.RegisterInput {
	return platform.RegisterInput{Data: platform.RegisterData{PsnNo: psn}}
}

// booked counts ledger entries with infno.
func booked(p *Platform, infno string) int {
	n := 0
	for _, e := range p.Ledger() {
		if e.Infno == infno {
			n++
		}
	}
	return n
}

func TestFaults(t *testing.T) {
	t.Run("down: no answer, nothing booked", func(t *testing.T) {
		p, c := mustSim(t, nil)
		p.SetFaults(Faults{Down: true})
		if _, _, err := c.post("2201", c.nextMsgid(), regInput(psnLocalEmployee)); err == nil {
			t.Fatal("got an answer while down; want a broken connection")
		}
		if n := booked(p, "2201"); n != 0 {
			t.Errorf("booked %d while down; want 0", n)
		}
		// Nothing else answers either (a HEAD for the clock's Date header, a GET); the
		// /sim/ controls do.
		for _, m := range []string{http.MethodHead, http.MethodGet} {
			req, _ := http.NewRequest(m, c.url+DefaultPath, nil)
			if resp, err := c.hc.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("%s while down: HTTP %d (Date %q); want no answer", m, resp.StatusCode, resp.Header.Get("Date"))
			}
		}
		if code, _ := control(t, c, http.MethodGet, "/sim/faults", ""); code != 200 {
			t.Errorf("GET /sim/faults while down: %d; want 200", code)
		}
		p.SetFaults(Faults{})
		c.ok("2201", regInput(psnLocalEmployee), nil)
	})
	t.Run("latency respects the client going away", func(t *testing.T) {
		p, c := mustSim(t, nil)
		p.SetFaults(Faults{LatencyMS: 600_000})
		c.hc.Timeout = 100 * time.Millisecond
		if _, _, err := c.post("1101", c.nextMsgid(), platform.PersonInfoInput{}); err == nil {
			t.Fatal("got an answer within the client timeout despite 10 minutes of latency")
		}
		// The handler gave up with the client: the server stops at once (Cleanup) and
		// the call was never processed.
		if n := p.Stats()["1101"]; n != 0 {
			t.Errorf("1101 counted %d times; want 0 (the client left during the latency)", n)
		}
	})
	t.Run("HTTP 500: nothing booked", func(t *testing.T) {
		p, c := mustSim(t, nil)
		p.SetFaults(Faults{HTTP500Rate: 1})
		code, _, err := c.post("2201", c.nextMsgid(), regInput(psnLocalEmployee))
		if err != nil || code != http.StatusInternalServerError {
			t.Fatalf("got HTTP %d, %v; want 500", code, err)
		}
		if n := booked(p, "2201"); n != 0 {
			t.Errorf("booked %d; want 0", n)
		}
	})
	t.Run("infcode -1: booked in some cases only", func(t *testing.T) {
		p, c := mustSim(t, nil)
		p.SetFaults(Faults{InfcodeMinus1Rate: 1})
		const n = 40
		for i := 0; i < n; i++ {
			resp := c.call("2201", regInput(psnLocalEmployee))
			if resp.Infcode != -1 || resp.ErrMsg != "系统异常" {
				t.Fatalf("got infcode %d %q; want -1 系统异常", resp.Infcode, resp.ErrMsg)
			}
		}
		if got := booked(p, "2201"); got == 0 || got == n {
			t.Errorf("booked %d of %d; want some but not all", got, n)
		}
	})
	t.Run("reset: broken connection, nothing booked", func(t *testing.T) {
		p, c := mustSim(t, nil)
		p.SetFaults(Faults{ResetRate: 1})
		if _, _, err := c.post("2201", c.nextMsgid(), regInput(psnLocalEmployee)); err == nil {
			t.Fatal("got an answer; want a reset connection")
		}
		if n := booked(p, "2201"); n != 0 {
			t.Errorf("booked %d; want 0", n)
		}
		if n := p.Stats()["2201"]; n != 1 {
			t.Errorf("2201 counted %d; want 1", n)
		}
	})
	t.Run("lose response: booked, no answer", func(t *testing.T) {
		p, c := mustSim(t, nil)
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "L1", line{codgVisit, "1", "25"})
		in := c.confirmInput(psnLocalEmployee, mdtrt, "L1", "11", "310", total, "1")
		p.SetFaults(Faults{LoseResponseRate: 1})
		msgid := c.nextMsgid()
		if _, _, err := c.post("2207", msgid, in); err == nil {
			t.Fatal("got an answer; want the response lost")
		}
		if n := p.Settled()["L1"]; n != 1 {
			t.Errorf("L1 settled %d; want 1 (booked, answer lost)", n)
		}
		// The agent's way out: reverse the msgid, then settle again with a new one.
		p.SetFaults(Faults{})
		c.ok("2601", platform.ReversalInput{Data: platform.ReversalData{PsnNo: psnLocalEmployee, Omsgid: msgid, Oinfno: "2207"}}, nil)
		c.settle(psnLocalEmployee, mdtrt, "L1", "11", "310", total, "1")
		if n := p.Settled()["L1"]; n != 1 {
			t.Errorf("L1 settled %d; want exactly 1", n)
		}
	})
	t.Run("seeded draws repeat", func(t *testing.T) {
		draw := func() []faultAction {
			p := New(DemoFixture(), &Options{Seed: 7})
			p.SetFaults(Faults{HTTP500Rate: 0.3, ResetRate: 0.2, InfcodeMinus1Rate: 0.2, LoseResponseRate: 0.2, LateRate: 0.1})
			out := make([]faultAction, 50)
			for i := range out {
				out[i] = p.drawFault(platform.InfnoSettle)
			}
			return out
		}
		a, b := draw(), draw()
		seen := map[faultAction]bool{}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("draw %d differs: %v vs %v", i, a[i], b[i])
			}
			seen[a[i]] = true
		}
		if len(seen) < 6 {
			t.Errorf("50 draws gave only %v; want every kind", seen)
		}
	})
}

func TestReplayMsgid(t *testing.T) {
	t.Run("on: a repeated msgid answers the stored response", func(t *testing.T) {
		p, c := mustSim(t, nil)
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "P1", line{codgVisit, "1", "25"})
		in := c.confirmInput(psnLocalEmployee, mdtrt, "P1", "11", "310", total, "1")
		p.SetFaults(Faults{ReplayMsgid: true})
		msgid := c.nextMsgid()
		first := c.callID("2207", msgid, in)
		second := c.callID("2207", msgid, in)
		if first.Infcode != 0 || !bytes.Equal(first.Output, second.Output) {
			t.Errorf("replay answered %d %s; want the stored %s", second.Infcode, second.Output, first.Output)
		}
		if n := p.Settled()["P1"]; n != 1 {
			t.Errorf("P1 settled %d; want 1", n)
		}
		if got := p.RepeatedMsgids(); len(got) != 1 || got[0] != msgid {
			t.Errorf("repeated msgids %v; want [%s]", got, msgid)
		}
	})
	t.Run("stored even when lost", func(t *testing.T) {
		p, c := mustSim(t, nil)
		mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "P2", line{codgVisit, "1", "25"})
		in := c.confirmInput(psnLocalEmployee, mdtrt, "P2", "11", "310", total, "1")
		p.SetFaults(Faults{ReplayMsgid: true, LoseResponseRate: 1})
		msgid := c.nextMsgid()
		if _, _, err := c.post("2207", msgid, in); err == nil {
			t.Fatal("want the answer lost")
		}
		p.SetFaults(Faults{ReplayMsgid: true})
		resp := c.callID("2207", msgid, in)
		var out platform.SettleOutput
		if resp.Infcode != 0 || json.Unmarshal(resp.Output, &out) != nil || out.Setlinfo.SetlID == "" {
			t.Errorf("replay after a lost answer: %d %s; want the settlement", resp.Infcode, resp.Output)
		}
		if n := p.Settled()["P2"]; n != 1 {
			t.Errorf("P2 settled %d; want 1", n)
		}
	})
	t.Run("off: a repeated msgid is refused", func(t *testing.T) {
		p, c := mustSim(t, nil)
		msgid := c.nextMsgid()
		a := c.callID("2201", msgid, regInput(psnLocalEmployee))
		b := c.callID("2201", msgid, regInput(psnLocalEmployee))
		if a.Infcode != 0 || b.Infcode == 0 || !strings.Contains(b.ErrMsg, "重复") {
			t.Errorf("got %d and %d %q; want the repeat refused as a duplicate message", a.Infcode, b.Infcode, b.ErrMsg)
		}
		if n := booked(p, "2201"); n != 1 {
			t.Errorf("booked %d; want 1", n)
		}
	})
}

func TestSignature(t *testing.T) {
	const token, paasid = "s3cret", "hosp01"
	p, c := mustSim(t, &Options{Token: token, Paasid: paasid})
	q := platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: "02", MdtrtCertNo: "330102198005120011"}}
	for _, tt := range []struct {
		name string
		sign func(h http.Header)
		want int
	}{
		{"valid", func(h http.Header) { platform.SignHeaders(h, paasid, token, testNow) }, http.StatusOK},
		{"missing", nil, http.StatusUnauthorized},
		{"wrong token", func(h http.Header) { platform.SignHeaders(h, paasid, "other", testNow) }, http.StatusUnauthorized},
		{"wrong paasid", func(h http.Header) { platform.SignHeaders(h, "other", token, testNow) }, http.StatusUnauthorized},
		{"stale", func(h http.Header) { platform.SignHeaders(h, paasid, token, testNow.Add(-301*time.Second)) }, http.StatusUnauthorized},
		{"from the future", func(h http.Header) { platform.SignHeaders(h, paasid, token, testNow.Add(301*time.Second)) }, http.StatusUnauthorized},
		{"within the skew", func(h http.Header) { platform.SignHeaders(h, paasid, token, testNow.Add(-299*time.Second)) }, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c.sign = tt.sign
			code, resp, err := c.post("1101", c.nextMsgid(), q)
			if err != nil || code != tt.want {
				t.Fatalf("got HTTP %d, %v; want %d", code, err, tt.want)
			}
			if code == http.StatusOK && resp.Infcode != 0 {
				t.Errorf("infcode %d %s", resp.Infcode, resp.ErrMsg)
			}
		})
	}
	if n := p.Stats()["1101"]; n != 2 {
		t.Errorf("1101 processed %d times; want 2 (refused signatures are not processed)", n)
	}
}

func TestControlAPI(t *testing.T) {
	p, c := mustSim(t, nil)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
		resp, err := c.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		return resp.StatusCode, buf.String()
	}
	mdtrt, total := c.visitFlow(psnLocalEmployee, "310", "S1", line{codgVisit, "1", "25"})
	c.settle(psnLocalEmployee, mdtrt, "S1", "11", "310", total, "1")

	code, body := do("GET", "/sim/ledger", "")
	var ledger struct{ Entries []Entry }
	if code != 200 || json.Unmarshal([]byte(body), &ledger) != nil || len(ledger.Entries) != 3 {
		t.Fatalf("GET /sim/ledger = %d %s; want 3 entries", code, body)
	}
	if e := ledger.Entries[2]; e.Infno != "2207" || e.ChrgBchno != "S1" || e.MedfeeSumamt != total || e.SetlID == "" {
		t.Errorf("2207 entry %+v", e)
	}
	code, body = do("GET", "/sim/settled", "")
	if code != 200 || !strings.Contains(body, `"S1": 1`) {
		t.Errorf("GET /sim/settled = %d %s", code, body)
	}
	code, body = do("PUT", "/sim/faults", `{"latency_ms": 5, "http_500_rate": 0.5, "replay_msgid": true}`)
	if code != 200 || p.Faults() != (Faults{LatencyMS: 5, HTTP500Rate: 0.5, ReplayMsgid: true}) {
		t.Errorf("PUT /sim/faults = %d %s; faults now %+v", code, body, p.Faults())
	}
	code, body = do("GET", "/sim/faults", "")
	if code != 200 || !strings.Contains(body, `"http_500_rate": 0.5`) {
		t.Errorf("GET /sim/faults = %d %s", code, body)
	}
	for _, bad := range []string{`{"http_500_rate": 2}`, `{"latency": 5}`, `{"latency_ms": -1}`, `not json`} {
		if code, body := do("PUT", "/sim/faults", bad); code != http.StatusBadRequest {
			t.Errorf("PUT /sim/faults %s = %d %s; want 400", bad, code, body)
		}
	}
	code, body = do("GET", "/sim/stats", "")
	if code != 200 || !strings.Contains(body, `"2207": 1`) {
		t.Errorf("GET /sim/stats = %d %s", code, body)
	}
	if code, _ := do("POST", "/sim/reset", ""); code != 200 {
		t.Errorf("POST /sim/reset = %d", code)
	}
	if len(p.Ledger()) != 0 || p.Faults() != (Faults{}) || len(p.Stats()) != 0 {
		t.Errorf("after reset: ledger %d, faults %+v, stats %v; want all empty", len(p.Ledger()), p.Faults(), p.Stats())
	}
	if b, _ := p.Balance(psnLocalEmployee); b != money("2000.00") {
		t.Errorf("balance %s after reset; want 2000.00", b)
	}
	if code, _ := do("GET", "/sim/nope", ""); code != http.StatusNotFound {
		t.Errorf("GET /sim/nope = %d; want 404", code)
	}
	if code, _ := do("GET", "/other", ""); code != http.StatusNotFound {
		t.Errorf("GET /other = %d; want 404", code)
	}
	if code, _ := do("GET", DefaultPath, ""); code != http.StatusMethodNotAllowed {
		t.Errorf("GET callService = %d; want 405", code)
	}
	t.Run("other callService paths", func(t *testing.T) {
		if code, body := do("POST", "/province/x/callService", `{"infno":"9001","msgid":"m1","input":{}}`); code != 200 || !strings.Contains(body, `"infcode":0`) {
			t.Errorf("POST /province/x/callService = %d %s", code, body)
		}
	})
	t.Run("not loopback", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/sim/ledger", nil)
		req.RemoteAddr = "10.1.2.3:5555"
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Errorf("got %d; want 403", rec.Code)
		}
	})
}

// Issue 29 finding 8: a 1101 with a psn_name that is not the certificate's person's
// still returned the person; the real platform checks the name it is given.
func TestPersonInfo_ChecksTheNameGiven(t *testing.T) {
	_, c := mustSim(t, nil)
	q := platform.PersonInfoInput{Data: platform.PersonQuery{MdtrtCertType: "02", MdtrtCertNo: "330102198005120011"}}
	for name, want := range map[string]bool{"": true, "李四不对": false} {
		q.Data.PsnName = name
		code, resp, err := c.post("1101", c.nextMsgid(), q)
		if err != nil || code != http.StatusOK {
			t.Fatalf("psn_name %q: HTTP %d, %v; want 200", name, code, err)
		}
		if got := resp.Infcode == 0; got != want {
			t.Errorf("psn_name %q: infcode %d %s; want answered %v", name, resp.Infcode, resp.ErrMsg, want)
		}
	}
	var out platform.PersonInfoOutput
	q.Data.PsnName = ""
	if _, resp, _ := c.post("1101", c.nextMsgid(), q); resp.Infcode == 0 {
		_ = json.Unmarshal(resp.Output, &out)
		q.Data.PsnName = out.Baseinfo.PsnName
		if _, resp, _ := c.post("1101", c.nextMsgid(), q); resp.Infcode != 0 {
			t.Errorf("psn_name %q (the person's own): infcode %d %s; want answered", q.Data.PsnName, resp.Infcode, resp.ErrMsg)
		}
	}
}
