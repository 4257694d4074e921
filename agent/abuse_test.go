package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/internal/syncbuf"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// platformBillCalls counts the bill messages the simulator received (probes and
// sign-ins aside).
func platformBillCalls(p *sim.Platform) int {
	st := p.Stats()
	return st["2201"] + st["2203"] + st["2204"] + st["2206"]
}

// Issue 17 point 3: a 40 KB Idempotency-Key got 500 *after* 2201 and 2204 had been
// booked at the platform. Now any key over 128 bytes, or not visible ASCII, or sent
// twice, is a 400 before anything is stored or sent.
func TestAbuse_IdempotencyKeyBounds(t *testing.T) {
	s := MustSystem(t, nil)
	for name, hdr := range map[string][]string{
		"40KB":    {"Idempotency-Key", strings.Repeat("k", 40<<10)},
		"129":     {"Idempotency-Key", strings.Repeat("k", 129)},
		"Space":   {"Idempotency-Key", "key with spaces"},
		"NonASCI": {"Idempotency-Key", "键"},
	} {
		before := platformBillCalls(s.Sim)
		st, body := s.Do("POST", "/v1/bills", tokW01, newBill(cardLocalEmployee), hdr...)
		if st != 400 || errorCode(t, name, body) != "bad_idempotency_key" {
			t.Errorf("%s: got %d %v; want 400 bad_idempotency_key", name, st, body)
		}
		if after := platformBillCalls(s.Sim); after != before {
			t.Errorf("%s: %d bill messages reached the platform; want none", name, after-before)
		}
	}
	req, _ := http.NewRequest("POST", s.URL+"/v1/bills", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+tokW01)
	req.Header.Add("Idempotency-Key", "a")
	req.Header.Add("Idempotency-Key", "b")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("two Idempotency-Key headers: got %d; want 400", resp.StatusCode)
	}
	if st, body := s.Do("POST", "/v1/bills", tokW01, newBill(cardLocalEmployee), "Idempotency-Key", strings.Repeat("k", 128)); st != 201 {
		t.Errorf("128-byte key: got %d %v; want 201", st, body)
	}
}

// Issue 17 point 3: keys shared one namespace for all windows, so W02 could take the
// key W01 was about to use and W01 then got 409.
func TestAbuse_KeysPerWindow(t *testing.T) {
	s := MustSystem(t, nil)
	b2 := newBill(cardLocalResident)
	b2.Window = "W02"
	if st, body := s.Do("POST", "/v1/bills", tokW02, b2, "Idempotency-Key", "shared-key-1"); st != 201 {
		t.Fatalf("W02: got %d %v; want 201", st, body)
	}
	b1 := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b1, "Idempotency-Key", "shared-key-1"); st != 201 {
		t.Errorf("W01 with the key W02 used: got %d %v; want 201 (its own namespace)", st, body)
	}
	// The key still works within the window: the same request answers the same.
	if st, body := s.Do("POST", "/v1/bills", tokW01, b1, "Idempotency-Key", "shared-key-1"); st != 201 {
		t.Errorf("W01 repeats its request: got %d %v; want 201 replayed", st, body)
	}
	other := newBill(cardLocalEmployee)
	if st, _ := s.Do("POST", "/v1/bills", tokW01, other, "Idempotency-Key", "shared-key-1"); st != 409 {
		t.Errorf("W01 reuses its key for another bill: got %d; want 409", st)
	}
}

// Issue 17 point 6: /, /metrics and /readyz answered any Host, so a page on another
// site whose name resolves to the agent (DNS rebinding) could read them.
func TestAbuse_HostCheck(t *testing.T) {
	s := MustSystem(t, nil)
	port := s.URL[strings.LastIndexByte(s.URL, ':')+1:]
	for _, path := range []string{"/", "/metrics", "/readyz"} {
		for host, want := range map[string]bool{
			"evil.example:" + port:          false,
			"127.0.0.1.nip.example:" + port: false,
			"127.0.0.1:" + port:             true,
			"localhost:" + port:             true,
		} {
			req, _ := http.NewRequest("GET", s.URL+path, nil)
			req.Host = host
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if refused := resp.StatusCode == http.StatusMisdirectedRequest; refused == want {
				t.Errorf("GET %s Host %s: got %d; want refused %v", path, host, resp.StatusCode, !want)
			}
			if !want && bytes.Contains(data, []byte("evil")) {
				t.Errorf("GET %s: the refusal echoes the Host: %s", path, data)
			}
		}
	}
	req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
	req.Host = "evil.example"
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz under another Host: got %v %v; want 200 (it tells nothing)", resp, err)
	} else {
		resp.Body.Close()
	}
}

// Issue 17 point 6: the 404 JSON echoed the path and no answer had nosniff.
func TestAbuse_HeadersAndNoEcho(t *testing.T) {
	s := rateLimitedSystem(t)
	check := func(name string, resp *http.Response) []byte {
		t.Helper()
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s (%d): X-Content-Type-Options %q; want nosniff", name, resp.StatusCode, got)
		}
		return data
	}
	resp, err := client.Get(s.URL + "/v1/nope/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
	if err != nil {
		t.Fatal(err)
	}
	if data := check("404", resp); resp.StatusCode != 404 || bytes.Contains(data, []byte("script")) || bytes.Contains(data, []byte("nope")) {
		t.Errorf("404: got %d %s; want 404 without the path", resp.StatusCode, data)
	}
	resp, err = client.Get(s.URL + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	check("401", resp)
	for range 100 { // a 429 too
		resp, err = client.Get(s.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		check("healthz", resp)
		if resp.StatusCode == 429 {
			return
		}
	}
	t.Error("100 quick requests at rate_limit 1/s: never got 429")
}

// rateLimitedSystem is a system at rate_limit 1/s whose agent's clock stands still:
// no bucket refills while the test runs, so the limits answer 429 after exactly their
// burst however slowly this machine (or Wine) serves each request.
func rateLimitedSystem(t *testing.T) *testSystem {
	t.Helper()
	p, url := MustSim(t)
	cfg := MustConfig(t, url, t.TempDir())
	cfg.API.RateLimit = 1
	s := &testSystem{tb: t, Sim: p, SimURL: url, Cfg: cfg}
	frozen := time.Now()
	s.StartWith(&agent.Options{Now: func() time.Time { return frozen }})
	t.Cleanup(s.Stop)
	return s
}

// dialFrom is an HTTP client whose connections come from the loopback address ip.
func dialFrom(ip net.IP) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// Issue 17 point 6: the rate limit was per source address only, bypassed with many
// 127.x addresses. Now a window's token has its own limit, and all requests together
// a global one.
func TestAbuse_RateLimitPerTokenAndGlobal(t *testing.T) {
	s := rateLimitedSystem(t)
	if _, err := dialFrom(net.IPv4(127, 0, 0, 2)).Get(s.URL + "/healthz"); err != nil {
		t.Skipf("cannot dial from 127.0.0.2 on this system: %v", err)
	}
	limited := false
	for i := 0; i < 200 && !limited; i++ {
		req, _ := http.NewRequest("GET", s.URL+"/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+tokW01)
		resp, err := dialFrom(net.IPv4(127, 0, 1, byte(i+1))).Do(req) // a new address each time
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		limited = resp.StatusCode == 429 && bytes.Contains(data, []byte("token"))
	}
	if !limited {
		t.Fatal("W01's token from 200 addresses at rate_limit 1/s: never limited")
	}
	req, _ := http.NewRequest("GET", s.URL+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+tokW02)
	if resp, err := dialFrom(net.IPv4(127, 0, 2, 1)).Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("W02 while W01's token is limited: got %v %v; want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	global := false
	for i := 0; i < 250 && !global; i++ { // unauthenticated, a new address each time
		resp, err := dialFrom(net.IPv4(127, 0, 3+byte(i/250), byte(i%250+1))).Get(s.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		global = resp.StatusCode == 429
	}
	if !global {
		t.Error("250 addresses at rate_limit 1/s: the global limit never answered 429")
	}
}

// Issue 17 point 6: any window could look up any ID number with no record of which
// window asked. Every lookup now writes one access line: caller, masked ID, outcome.
func TestAbuse_LookupIsRecorded(t *testing.T) {
	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1})
	simURL, stop, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	logs := &syncbuf.Buffer{}
	cfg := MustConfig(t, simURL, t.TempDir())
	s := &testSystem{tb: t, Cfg: cfg, Sim: p, SimURL: simURL}
	s.URL = startAgent(t, cfg, &agent.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))}, "http", client)
	person := sim.DemoFixture().Persons[0]
	if st, body := s.Do("POST", "/v1/persons/lookup", tokW02, map[string]string{"mdtrt_cert_type": "02", "mdtrt_cert_no": person.Certno}); st != 200 {
		t.Fatalf("lookup: got %d %v", st, body)
	}
	s.Do("POST", "/v1/persons/lookup", tokW01, map[string]string{"mdtrt_cert_type": "02", "mdtrt_cert_no": "110101199001019999"})
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "person lookup") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("got %d access lines; want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, want := range []string{`caller="window W02"`, `caller="window W01"`} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "mdtrt_cert_no=") {
			t.Errorf("access line %d: %s; want %s and the masked number", i, lines[i], want)
		}
	}
	if strings.Contains(lines[0], person.Certno) || !strings.Contains(lines[0], person.Certno[len(person.Certno)-4:]) {
		t.Errorf("access line shows %q; want the ID masked (last 4 kept)", lines[0])
	}
	if !strings.Contains(lines[0], "outcome=platform") {
		t.Errorf("access line %s; want outcome=platform", lines[0])
	}
}

// Issue 17 point 3: 50,000 distinct keys for one bill grew the store from 8.4 MB to
// 134 MB. The same bill under a new key now answers its state and stores nothing
// (measured before the fix on this machine: 4.1 KB a key; after: 0).
func TestAbuse_NoStoreGrowthPerKey(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
		t.Fatalf("first post: got %d %v", st, body)
	}
	size := func() int64 {
		fi, err := os.Stat(filepath.Join(s.Cfg.Store.Dir, agent.StoreFile))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	const n = 500
	for i := range n {
		if st, body := s.Do("POST", "/v1/bills", tokW01, b, "Idempotency-Key", fmt.Sprintf("key-%06d-%0100d", i, i)); st != 200 {
			t.Fatalf("key %d: got %d %v; want 200 (the bill as it stands)", i, st, body)
		}
	}
	if grown := size() - before; grown > 256<<10 {
		t.Errorf("the store grew %d bytes for %d keys naming one bill (%d a key); want nothing stored per key", grown, n, grown/n)
	}
}

// The [hl7] settings reach the listener: allow_from closes a connection from any other
// address, windows refuses a bill for a window the listener does not serve.
func TestAbuse_HL7Config(t *testing.T) {
	msg := "MSH|^~\\&|HIS|H|SETTLE|H|20261123091200||DFT^P03^DFT_P03|CX1|P|2.5\r" +
		"PV1|1|O|W01^^^H||||D0042^王^医生|||||||||||11|HL7SEC1\r" +
		"IN1|1|310||||||||||||||||||||||||||||||||||03^A33010001\r" +
		"FT1|1|||20261123091000||CG|ZL0001^诊查费|||1|25.00|25.00|0301^内科\r"
	send := func(t *testing.T, addr string) (string, error) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := conn.Write(hisadapter.Frame([]byte(msg))); err != nil {
			return "", err
		}
		return bufio.NewReader(conn).ReadString(0x1c)
	}
	t.Run("AllowFrom", func(t *testing.T) {
		s := MustSystem(t, func(c *config.Config) { c.HL7.Listen = "127.0.0.1:0"; c.HL7.AllowFrom = []string{"10.9.9.9"} })
		if ack, err := send(t, s.Agent.HL7Addr()); err == nil {
			t.Errorf("connection from 127.0.0.1 with allow_from 10.9.9.9: got %q; want it closed unanswered", ack)
		}
	})
	t.Run("Windows", func(t *testing.T) {
		s := MustSystem(t, func(c *config.Config) { c.HL7.Listen = "127.0.0.1:0"; c.HL7.Windows = []string{"W02"} })
		ack, err := send(t, s.Agent.HL7Addr())
		if err != nil || !strings.Contains(ack, "MSA|AE|") || !strings.Contains(ack, "PV1-3") {
			t.Errorf("bill for W01 on a W02 listener: got %q, %v; want AE naming PV1-3", ack, err)
		}
		if st, _ := s.Do("GET", "/v1/bills/HL7SEC1", tokW01, nil); st != 404 {
			t.Errorf("the refused bill: got %d; want 404", st)
		}
	})
}

// Errors quote at most a glimpse of what was sent; a path that cannot be a bill
// number is not looked up nor repeated.
func TestAbuse_ErrorsEchoLittle(t *testing.T) {
	s := MustSystem(t, nil)
	long := strings.Repeat("Z", 2000)
	st, body := s.Do("GET", "/v1/bills/"+long+"%3Cscript%3E", tokW01, nil)
	if st != 404 || strings.Contains(fmt.Sprint(body), "ZZZZ") || strings.Contains(fmt.Sprint(body), "script") {
		t.Errorf("GET an impossible bill number: got %d %v; want 404 without the path", st, body)
	}
	b := newBill(cardLocalEmployee)
	b.Window = long
	st, body = s.Do("POST", "/v1/bills", tokW01, b)
	if st != 403 || strings.Count(fmt.Sprint(body), "Z") > 40 {
		t.Errorf("a 2000-byte window: got %d %v; want 403 quoting at most 40 bytes", st, body)
	}
	st, body = s.Do("GET", "/v1/bills?state="+long, tokW01, nil)
	if st != 400 || strings.Count(fmt.Sprint(body), "Z") > 40 {
		t.Errorf("a 2000-byte state: got %d %v; want 400 quoting at most 40 bytes", st, body)
	}
}

func TestAbuse_UnknownFieldEchoesLittle(t *testing.T) {
	s := MustSystem(t, nil)
	st, body := s.Do("POST", "/v1/persons/lookup", tokW01, `{"`+strings.Repeat("Q", 5000)+`": 1}`)
	if st != 400 || strings.Count(fmt.Sprint(body), "Q") > 120 {
		t.Errorf("a 5000-byte unknown field: got %d, %d bytes of it back; want 400 with a glimpse", st, strings.Count(fmt.Sprint(body), "Q"))
	}
}
