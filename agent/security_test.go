package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/internal/syncbuf"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/queue"
)

// demoPII is what must never show in clear outside the platform call itself: the
// demo fixture's ID numbers and names (platform/sim/fixture/demo.json).
func demoPII(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, p := range sim.DemoFixture().Persons {
		out = append(out, p.Certno, p.Name)
	}
	if len(out) == 0 {
		tb.Fatal("demo fixture has no persons")
	}
	return out
}

// demoCardNos are the fixture's card numbers: masked in logs, metrics and errors.
func demoCardNos() []string {
	var out []string
	for _, p := range sim.DemoFixture().Persons {
		out = append(out, p.CardNo)
	}
	return out
}

// leaks returns the needles found in clear in hay.
func leaks(hay []byte, needles ...string) []string {
	var found []string
	for _, n := range needles {
		if n != "" && bytes.Contains(hay, []byte(n)) {
			found = append(found, n)
		}
	}
	return found
}

// errorCode asserts an error answer is the API's JSON error and returns its code.
func errorCode(tb testing.TB, what string, body map[string]any) string {
	tb.Helper()
	code := str(body, "error", "code")
	if code == "" || str(body, "error", "message") == "" {
		tb.Errorf("%s: answer is not a JSON error with code and message: %v", what, body)
	}
	return code
}

func TestSecurity_Access(t *testing.T) {
	s := MustSystem(t, nil)
	b := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
		t.Fatalf("POST /v1/bills: got %d %v; want 201", st, body)
	}
	other := b
	other.BillNo += "X"
	lookup := map[string]string{"mdtrt_cert_type": "03", "mdtrt_cert_no": cardLocalEmployee}
	windowScoped := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/status", nil},
		{"GET", "/v1/windows/W01/card", nil},
		{"POST", "/v1/persons/lookup", lookup},
		{"POST", "/v1/bills", other},
		{"GET", "/v1/bills", nil},
		{"GET", "/v1/bills/" + b.BillNo, nil},
		{"POST", "/v1/bills/" + b.BillNo + "/settle", map[string]string{}},
		{"POST", "/v1/bills/" + b.BillNo + "/cancel", nil},
	}
	adminOnly := []struct{ method, path string }{
		{"GET", "/v1/queue"},
		{"GET", "/v1/queue/1"},
		{"POST", "/v1/queue/1/retry"},
		{"POST", "/v1/queue/1/dead"},
		{"GET", "/v1/reconciliation?date=" + dayNow()},
		{"GET", "/debug/pprof/"},
		{"GET", "/debug/pprof/cmdline"},
	}
	t.Run("NoToken", func(t *testing.T) {
		for _, e := range windowScoped {
			st, body := s.Do(e.method, e.path, "", e.body)
			if st != 401 {
				t.Errorf("%s %s without a token: got %d; want 401", e.method, e.path, st)
			}
			errorCode(t, e.method+" "+e.path, body)
		}
		for _, e := range adminOnly {
			if st, _ := s.Do(e.method, e.path, "", nil); st != 401 {
				t.Errorf("%s %s without a token: got %d; want 401", e.method, e.path, st)
			}
		}
	})
	t.Run("UnknownToken", func(t *testing.T) {
		for _, tok := range []string{"nope", tokW01 + "x", tokW01[:len(tokW01)-1], strings.ToUpper(tokAdmin)} {
			for _, e := range windowScoped {
				if st, _ := s.Do(e.method, e.path, tok, e.body); st != 401 {
					t.Errorf("%s %s with token %q: got %d; want 401", e.method, e.path, tok, st)
				}
			}
		}
		for _, h := range []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("W01:"+tokW01)), tokW01, "bearer"} {
			if st, _ := s.Do("GET", "/v1/bills/"+b.BillNo, "", nil, "Authorization", h); st != 401 {
				t.Errorf("Authorization %q: got %d; want 401", h, st)
			}
		}
	})
	t.Run("OtherWindow", func(t *testing.T) {
		for _, e := range windowScoped {
			if e.path == "/v1/status" || e.path == "/v1/bills" && e.method == "GET" || e.path == "/v1/persons/lookup" {
				continue // not window-bound
			}
			st, body := s.Do(e.method, e.path, tokW02, e.body)
			if st != 403 {
				t.Errorf("%s %s with W02's token: got %d %v; want 403", e.method, e.path, st, body)
			}
			errorCode(t, e.method+" "+e.path, body)
		}
		_, body := s.Do("GET", "/v1/bills", tokW02, nil)
		if bills, _ := body["bills"].([]any); len(bills) != 0 {
			t.Errorf("W02 lists %d bills of W01; want 0", len(bills))
		}
		// The bill was neither settled nor cancelled by W02's attempts.
		if _, body := s.Do("GET", "/v1/bills/"+b.BillNo, tokW01, nil); str(body, "state") != "presettled" {
			t.Errorf("state after W02's attempts: got %q; want presettled", str(body, "state"))
		}
	})
	t.Run("AdminWithWindowToken", func(t *testing.T) {
		for _, e := range adminOnly {
			st, body := s.Do(e.method, e.path, tokW01, nil)
			if st != 403 {
				t.Errorf("%s %s with a window token: got %d; want 403", e.method, e.path, st)
			}
			errorCode(t, e.method+" "+e.path, body)
		}
	})
	t.Run("AdminReachesEverything", func(t *testing.T) {
		if st, body := s.Do("GET", "/v1/bills/"+b.BillNo, tokAdmin, nil); st != 200 {
			t.Errorf("admin GET bill: got %d %v; want 200", st, body)
		}
		if st, body := s.Do("GET", "/v1/queue", tokAdmin, nil); st != 200 {
			t.Errorf("admin GET /v1/queue: got %d %v; want 200", st, body)
		}
	})
	t.Run("OwnWindowStillServed", func(t *testing.T) {
		if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, map[string]string{}); st != 200 {
			t.Errorf("W01 settles its bill: got %d %v; want 200", st, body)
		}
	})
}

func TestSecurity_Limits(t *testing.T) {
	s := MustSystem(t, func(c *config.Config) { c.API.MaxBodyBytes = 4096 })
	big := bytes.Repeat([]byte(" "), 8192)
	big = append(big, []byte(`{}`)...)
	t.Run("BodyTooLarge", func(t *testing.T) {
		st, body := s.Do("POST", "/v1/bills", tokW01, big)
		if st != 413 {
			t.Errorf("8 KiB body (limit 4 KiB): got %d; want 413", st)
		}
		errorCode(t, "oversized body", body)
	})
	t.Run("BodyTooLargeChunked", func(t *testing.T) {
		// No Content-Length: the limit must hold while reading.
		req, _ := http.NewRequest("POST", s.URL+"/v1/bills", io.MultiReader(bytes.NewReader(big)))
		req.Header.Set("Authorization", "Bearer "+tokW01)
		req.ContentLength = -1
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 413 {
			data, _ := io.ReadAll(resp.Body)
			t.Errorf("chunked 8 KiB body: got %d %s; want 413", resp.StatusCode, data)
		}
	})
	t.Run("HeadersTooLarge", func(t *testing.T) {
		st, _ := s.Do("GET", "/healthz", "", nil, "X-Filler", strings.Repeat("a", 200<<10))
		if st != 431 {
			t.Errorf("200 KiB header: got %d; want 431", st)
		}
	})
	t.Run("MalformedJSON", func(t *testing.T) {
		for _, tc := range []struct {
			name, body string
			want       int
		}{
			{"Empty", ``, 400},
			{"Truncated", `{"bill_no":"MZ1",`, 400},
			{"NotObject", `[1,2,3]`, 400},
			{"WrongType", `{"bill_no":42}`, 400},
			{"UnknownField", `{"bill_no":"MZ1","drop_table":true}`, 400},
			{"TwoValues", `{} {}`, 400},
			{"FloatMoney", `{"bill_no":"MZ1","window":"W01","total":12.5}`, 422},
			{"Garbage", "\x00\xff\xfe<html>", 400},
			{"DeepNesting", strings.Repeat(`{"items":[`, 400), 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st, body := s.Do("POST", "/v1/bills", tokW01, tc.body)
				if st != tc.want {
					t.Errorf("POST /v1/bills %q: got %d %v; want %d", tc.name, st, body, tc.want)
				}
				errorCode(t, tc.name, body)
				st, body = s.Do("POST", "/v1/persons/lookup", tokW01, tc.body)
				if st < 400 || st >= 500 {
					t.Errorf("POST /v1/persons/lookup %q: got %d %v; want 4xx", tc.name, st, body)
				}
				errorCode(t, tc.name, body)
			})
		}
	})
	t.Run("StillServing", func(t *testing.T) {
		b := newBill(cardLocalResident)
		if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
			t.Errorf("a good bill after the bad ones: got %d %v; want 201", st, body)
		}
	})
}

// TestSecurity_Slowloris holds a connection that sends its header a byte at a time:
// the server must close it (ReadHeaderTimeout) while answering everyone else.
func TestSecurity_Slowloris(t *testing.T) {
	s := MustSystem(t, nil)
	addr := strings.TrimPrefix(s.URL, "http://")
	var conns []net.Conn
	closed := make(chan int, 8)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(stop)
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() { // drip one header byte every 100 ms until the server hangs up
			defer wg.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := c.Write([]byte("X")); err != nil {
					return
				}
			}
		}()
		go func() { // the server closing the connection ends this read
			defer wg.Done()
			_, _ = io.Copy(io.Discard, c)
			closed <- i
		}()
	}
	served, n := 0, 0
	if !poll.Within(60*time.Second, 20*time.Millisecond, func() bool {
		for ; n < len(conns); n++ {
			select {
			case <-closed:
				continue
			default:
			}
			break
		}
		if n == len(conns) {
			return true
		}
		if st, _ := s.Do("GET", "/healthz", "", nil); st != 200 {
			t.Fatalf("healthz while slow clients hang on: got %d; want 200", st)
		}
		served++
		return false
	}) {
		t.Fatalf("slow connections still open after 60 s (%d of %d closed); want closed after ReadHeaderTimeout", n, len(conns))
	}
	if served == 0 {
		t.Error("no request was served while the slow connections were open")
	}
	if st, body := s.Do("POST", "/v1/bills", tokW01, newBill(cardLocalEmployee)); st != 201 {
		t.Errorf("a bill after the slow clients: got %d %v; want 201", st, body)
	}
}

func TestSecurity_RateLimit(t *testing.T) {
	s := MustSystem(t, func(c *config.Config) { c.API.RateLimit = 2 })
	var got429 bool
	for i := 0; i < 200 && !got429; i++ {
		req, _ := http.NewRequest("GET", s.URL+"/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+tokW01)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 429 {
			got429 = true
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if !bytes.Contains(data, []byte(`"rate_limited"`)) {
				t.Errorf("429 body: got %s; want the rate_limited JSON error", data)
			}
		}
	}
	if !got429 {
		t.Fatal("200 quick requests at rate_limit 2/s: never got 429")
	}
	t.Run("OtherClient", func(t *testing.T) {
		// Another loopback address is another client: its bucket is full.
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
		resp, err := c.Get(s.URL + "/healthz")
		if err != nil {
			t.Skipf("cannot dial from 127.0.0.2 on this system: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("another client while 127.0.0.1 is limited: got %d; want 200", resp.StatusCode)
		}
	})
	t.Run("Recovers", func(t *testing.T) {
		s.waitFor("the limited client is served again", func() bool {
			st, _ := s.Do("GET", "/v1/status", tokW01, nil)
			return st == 200
		})
	})
}

// tlsFiles writes a CA, a server certificate for 127.0.0.1 and a client certificate,
// all signed by the CA, and returns their paths.
type tlsFiles struct {
	CA, ServerCert, ServerKey string
	Pool                      *x509.CertPool
	Client                    tls.Certificate
}

func mustTLSFiles(tb testing.TB) tlsFiles {
	tb.Helper()
	dir := tb.TempDir()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			tb.Fatal(err)
		}
		return p
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test hospital IT CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			tb.Fatal(err)
		}
		return der, k
	}
	marshal := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			tb.Fatal(err)
		}
		return der
	}
	f := tlsFiles{CA: write("ca.pem", "CERTIFICATE", caDER), Pool: x509.NewCertPool()}
	f.Pool.AddCert(caCert)
	srvDER, srvKey := leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	f.ServerCert = write("server.pem", "CERTIFICATE", srvDER)
	f.ServerKey = write("server-key.pem", "EC PRIVATE KEY", marshal(srvKey))
	cliDER, cliKey := leaf(3, "window W01", x509.ExtKeyUsageClientAuth)
	f.Client = tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
	return f
}

// startAgent runs an agent on cfg with options o on 127.0.0.1:0 and returns its base
// URL once c gets an answer from /healthz. The agent stops when the test ends.
func startAgent(tb testing.TB, cfg *config.Config, o *agent.Options, scheme string, c *http.Client) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if o == nil {
		o = &agent.Options{}
	}
	o.Listener = ln
	a, err := agent.New(cfg, o)
	if err != nil {
		ln.Close()
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("agent Run: %v", err)
		}
	})
	url := scheme + "://" + ln.Addr().String()
	var lastErr error
	if !poll.Within(20*time.Second, poll.Every, func() bool {
		resp, err := c.Get(url + "/healthz")
		if lastErr = err; err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		tb.Fatalf("agent at %s never answered /healthz: %v", url, lastErr)
	}
	return url
}

func TestSecurity_TLS(t *testing.T) {
	_, simURL := MustSim(t)
	files := mustTLSFiles(t)
	trusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: files.Pool}}}
	withCert := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: files.Pool, Certificates: []tls.Certificate{files.Client}}}}
	statusOf := func(c *http.Client, url string) (int, error) {
		req, _ := http.NewRequest("GET", url+"/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+tokW01)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	t.Run("ServerOnly", func(t *testing.T) {
		cfg := MustConfig(t, simURL, t.TempDir())
		cfg.API.TLSCert, cfg.API.TLSKey = files.ServerCert, files.ServerKey
		url := startAgent(t, cfg, nil, "https", trusting)
		if st, err := statusOf(trusting, url); err != nil || st != 200 {
			t.Errorf("GET /v1/status over TLS: got %d %v; want 200", st, err)
		}
		untrusting := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		if _, err := statusOf(untrusting, url); err == nil {
			t.Error("a client that does not trust the CA connected; want a certificate error")
		}
		plain := "http://" + strings.TrimPrefix(url, "https://")
		if st, err := statusOf(client, plain); err == nil && st < 400 {
			t.Errorf("plain HTTP to the TLS listener: got %d; want refused", st)
		}
	})
	t.Run("ClientCertRequired", func(t *testing.T) {
		cfg := MustConfig(t, simURL, t.TempDir())
		// A second agent of the same hospital on the same platform: its own msgid node,
		// as two front-end machines of one hospital must have.
		cfg.Hospital.MsgidNode = 1
		cfg.API.TLSCert, cfg.API.TLSKey, cfg.API.ClientCA = files.ServerCert, files.ServerKey, files.CA
		url := startAgent(t, cfg, nil, "https", withCert)
		if st, err := statusOf(withCert, url); err != nil || st != 200 {
			t.Errorf("with a client certificate: got %d %v; want 200", st, err)
		}
		if st, err := statusOf(trusting, url); err == nil {
			t.Errorf("without a client certificate: got %d; want the handshake refused", st)
		}
		// A certificate from another CA is refused too.
		stranger := mustTLSFiles(t)
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: files.Pool, Certificates: []tls.Certificate{stranger.Client}}}}
		if st, err := statusOf(c, url); err == nil {
			t.Errorf("with a client certificate of another CA: got %d; want the handshake refused", st)
		}
	})
}

func newStoreKey(tb testing.TB) string {
	tb.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		tb.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// storyBills settles a bill for each of several fixture persons and looks one up by
// ID number, so the store holds every kind of record with personal data.
func storyBills(tb testing.TB, s *testSystem) []string {
	tb.Helper()
	var nos []string
	for _, card := range []string{cardLocalEmployee, cardLocalResident, cardShanghaiFiled, cardChronic} {
		b := newBill(card)
		if st, body := s.Do("POST", "/v1/bills", tokW01, b, "Idempotency-Key", "idem-"+b.BillNo); st != 201 {
			tb.Fatalf("POST /v1/bills %s: got %d %v; want 201", card, st, body)
		}
		if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, map[string]string{}); st != 200 {
			tb.Fatalf("settle %s: got %d %v; want 200", b.BillNo, st, body)
		}
		nos = append(nos, b.BillNo)
	}
	for _, card := range []string{cardLocalEmployee, cardLocalResident} {
		lk := map[string]string{"mdtrt_cert_type": "03", "mdtrt_cert_no": card}
		if st, body := s.Do("POST", "/v1/persons/lookup", tokW01, lk); st != 200 {
			tb.Fatalf("lookup %s: got %d %v; want 200", card, st, body)
		}
	}
	return nos
}

func storeBytes(tb testing.TB, s *testSystem) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(s.Cfg.Store.Dir, agent.StoreFile))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func TestSecurity_SealAtRest(t *testing.T) {
	t.Run("WithKey", func(t *testing.T) {
		s := MustSystem(t, func(c *config.Config) { c.Store.Key = config.NewSecret(newStoreKey(t)) })
		nos := storyBills(t, s)
		s.Stop()
		data := storeBytes(t, s)
		if !bytes.Contains(data, []byte(nos[0])) {
			t.Fatalf("store file does not hold bill %s at all: the test reads the wrong file", nos[0])
		}
		if found := leaks(data, demoPII(t)...); len(found) > 0 {
			t.Errorf("store file sealed with [store] key holds in clear: %q", found)
		}
	})
	// A lookup by ID number (mdtrt_cert_type 02) caches the person under a bucket key
	// named by a keyed hash of the certificate number: neither key nor value in clear.
	t.Run("LookupByIDNumber", func(t *testing.T) {
		s := MustSystem(t, func(c *config.Config) { c.Store.Key = config.NewSecret(newStoreKey(t)) })
		p := sim.DemoFixture().Persons[0]
		lk := map[string]string{"mdtrt_cert_type": "02", "mdtrt_cert_no": p.Certno, "psn_name": p.Name}
		if st, body := s.Do("POST", "/v1/persons/lookup", tokW01, lk); st != 200 {
			t.Fatalf("lookup by ID number: got %d %v; want 200", st, body)
		}
		s.Stop()
		if found := leaks(storeBytes(t, s), demoPII(t)...); len(found) > 0 {
			t.Errorf("store file sealed with [store] key holds in clear: %q", found)
		}
	})
	// Without a key the same story leaves names in clear: this is what the test above
	// would catch, and why docs and SECURITY.md tell IT to set [store] key.
	t.Run("WithoutKey", func(t *testing.T) {
		// A store that already held records without a key stays unsealed.
		s := MustSystem(t, func(c *config.Config) { mustUnsealedStore(t, c.Store.Dir) })
		storyBills(t, s)
		s.Stop()
		if found := leaks(storeBytes(t, s), demoPII(t)...); len(found) == 0 {
			t.Error("store without a key holds no personal data in clear; want some (is the detector blind?)")
		}
	})
	// No key configured on a new store: one is generated in the data folder (0600;
	// on Windows the folder's access list) and the store is sealed with it.
	t.Run("GeneratedKey", func(t *testing.T) {
		s := MustSystem(t, nil)
		storyBills(t, s)
		s.Stop()
		fi, err := os.Stat(filepath.Join(s.Cfg.Store.Dir, agent.StoreKeyFile))
		if err != nil || fi.Mode().Perm() != keyFileMode {
			t.Fatalf("generated key file: %v, %v; want it there with mode %v", err, fi, keyFileMode)
		}
		if found := leaks(storeBytes(t, s), demoPII(t)...); len(found) > 0 {
			t.Errorf("store sealed with a generated key holds in clear: %q", found)
		}
		s.Start() // the same key is read back: the bills are still readable
		if st, body := s.Do("GET", "/v1/bills?state=settled", tokAdmin, nil); st != 200 || len(body["bills"].([]any)) == 0 {
			t.Errorf("after restart: got %d %v; want the settled bills", st, body)
		}
	})
}

// mustUnsealedStore makes the store file of a data folder before the agent sees it,
// as an agent of an earlier version without a key would have left it.
func mustUnsealedStore(tb testing.TB, dir string) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		tb.Fatal(err)
	}
	q, err := queue.Open(filepath.Join(dir, agent.StoreFile), nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := q.Close(); err != nil {
		tb.Fatal(err)
	}
}

func TestSecurity_KeyRotation(t *testing.T) {
	keyA, keyB := newStoreKey(t), newStoreKey(t)
	s := MustSystem(t, func(c *config.Config) { c.Store.Key = config.NewSecret(keyA) })
	b := newBill(cardLocalEmployee)
	if st, body := s.Do("POST", "/v1/bills", tokW01, b); st != 201 {
		t.Fatalf("POST /v1/bills: got %d %v", st, body)
	}
	if st, body := s.Do("POST", "/v1/bills/"+b.BillNo+"/settle", tokW01, map[string]string{}); st != 200 {
		t.Fatalf("settle: got %d %v", st, body)
	}
	_, before := s.Do("GET", "/v1/bills/"+b.BillNo, tokW01, nil)
	s.Stop()

	t.Run("NewKeyOldKeys", func(t *testing.T) {
		s.Cfg.Store.Key, s.Cfg.Store.OldKeys = config.NewSecret(keyB), []config.Secret{config.NewSecret(keyA)}
		s.Start()
		defer s.Stop()
		st, body := s.Do("GET", "/v1/bills/"+b.BillNo, tokW01, nil)
		if st != 200 || str(body, "state") != "settled" {
			t.Fatalf("old bill after rotation: got %d %v; want 200 settled", st, body)
		}
		if got, want := str(body, "settlement", "setl_id"), str(before, "settlement", "setl_id"); got != want {
			t.Errorf("setl_id after rotation: got %q; want %q", got, want)
		}
		if got, want := str(body, "person", "psn_name"), str(before, "person", "psn_name"); got != want {
			t.Errorf("person after rotation: got %q; want %q", got, want)
		}
		// New records are sealed with B and the agent keeps working.
		b2 := newBill(cardLocalResident)
		if st, body := s.Do("POST", "/v1/bills", tokW01, b2); st != 201 {
			t.Errorf("new bill after rotation: got %d %v; want 201", st, body)
		}
	})
	t.Run("OldKeyMissing", func(t *testing.T) {
		s.Cfg.Store.Key, s.Cfg.Store.OldKeys = config.NewSecret(keyB), nil
		s.Start()
		defer s.Stop()
		st, body := s.Do("GET", "/v1/bills/"+b.BillNo, tokW01, nil)
		if st < 500 {
			t.Fatalf("bill sealed with a key no longer configured: got %d %v; want a server error", st, body)
		}
		if code := errorCode(t, "missing key", body); code != "store_key_missing" {
			t.Errorf("error code: got %q; want store_key_missing", code)
		}
		if msg := str(body, "error", "message"); !strings.Contains(msg, "old_keys") {
			t.Errorf("error message %q does not say to add the old key to [store] old_keys", msg)
		}
	})
	t.Run("BadKey", func(t *testing.T) {
		cfg := *s.Cfg
		cfg.Store.Key = config.NewSecret("not-a-key")
		_, err := agent.New(&cfg, nil)
		if err == nil || !strings.Contains(err.Error(), "store.key") {
			t.Errorf("agent.New with a malformed key: got %v; want an error naming store.key", err)
		}
	})
}

// TestSecurity_NoPIIInLogs runs bills, lookups, refusals and an offline spell with a
// debug logger and finds no full ID number, name or card number in the log, the
// metrics or any error answer.
func TestSecurity_NoPIIInLogs(t *testing.T) {
	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1})
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	simURL, stopSimSrv, err := sim.Start(simCtx, "", p)
	if err != nil {
		t.Fatal(err)
	}
	defer stopSimSrv()
	logs := &syncbuf.Buffer{}
	cfg := MustConfig(t, simURL, t.TempDir())
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := &testSystem{tb: t, Cfg: cfg, Sim: p, SimURL: simURL}
	s.URL = startAgent(t, cfg, &agent.Options{Logger: log}, "http", client)

	var answers bytes.Buffer
	do := func(method, path string, body any) (int, map[string]any) {
		st, m := s.Do(method, path, tokW01, body)
		if st >= 400 { // a lookup's answer shows the name: the cashier greets the patient
			fmt.Fprintf(&answers, "%d %v\n", st, m)
		}
		return st, m
	}
	storyBills(t, s)
	persons := sim.DemoFixture().Persons
	// Lookups by ID number, unknown people, refused bills: the paths that log and
	// answer errors about a person.
	do("POST", "/v1/persons/lookup", map[string]string{"mdtrt_cert_type": "02", "mdtrt_cert_no": persons[0].Certno, "psn_name": persons[0].Name})
	do("POST", "/v1/persons/lookup", map[string]string{"mdtrt_cert_type": "02", "mdtrt_cert_no": "110101199001019999", "psn_name": "赵无名"})
	do("POST", "/v1/persons/lookup", map[string]string{"mdtrt_cert_type": "03", "mdtrt_cert_no": "Z99999999"})
	do("POST", "/v1/bills", newBill(cardUnfiled))
	bad := newBill(persons[1].CardNo)
	bad.Patient.PsnName = persons[1].Name
	bad.Items[0].HISCode = "NOSUCHCODE"
	do("POST", "/v1/bills", bad)
	// Offline: the platform goes away, a bill is queued, the platform returns and the
	// queue drains.
	if err := stopSimSrv(); err != nil {
		t.Fatal(err)
	}
	off := newBill(cardLocalEmployee)
	if st, body := do("POST", "/v1/bills", off); st >= 500 {
		t.Fatalf("offline bill: got %d %v", st, body)
	}
	do("POST", "/v1/bills/"+off.BillNo+"/settle", map[string]string{})
	do("POST", "/v1/persons/lookup", map[string]string{"mdtrt_cert_type": "03", "mdtrt_cert_no": cardLocalEmployee})
	do("POST", "/v1/persons/lookup", map[string]string{"mdtrt_cert_type": "03", "mdtrt_cert_no": persons[4].CardNo})

	resp, err := client.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp, err = client.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	logged := logs.Bytes()
	if !bytes.Contains(logged, []byte(off.BillNo)) {
		t.Fatalf("the log never mentions bill %s: the logger is not wired (log: %d bytes)", off.BillNo, len(logged))
	}
	pii := append(demoPII(t), "110101199001019999", "赵无名")
	cards := append(demoCardNos(), "Z99999999")
	for _, c := range []struct {
		name string
		data []byte
	}{{"log", logged}, {"metrics", metrics}, {"status page", page}, {"error answers", answers.Bytes()}} {
		found := append(leaks(c.data, pii...), leaks(c.data, cards...)...)
		if len(found) > 0 {
			t.Errorf("%s holds in clear: %q", c.name, found)
			sc := bufio.NewScanner(bytes.NewReader(c.data))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				if len(leaks(sc.Bytes(), found...)) > 0 {
					t.Logf("  %s", sc.Text())
				}
			}
		}
	}
}

// TestSecurity_ErrorsNameNoSecrets: an error answer never echoes the token it refused.
func TestSecurity_ErrorsNameNoSecrets(t *testing.T) {
	s := MustSystem(t, nil)
	for _, tok := range []string{tokW02 + "-typo", "secret-guess-123456"} {
		req, _ := http.NewRequest("GET", s.URL+"/v1/bills", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(data, []byte(tok)) {
			t.Errorf("401 answer echoes the refused token: %s", data)
		}
	}
	_, body := s.Do("GET", "/v1/bills/nope", tokW02, nil)
	if msg := fmt.Sprint(body); strings.Contains(msg, tokW02) || strings.Contains(msg, tokW01) || strings.Contains(msg, tokAdmin) {
		t.Errorf("answer names a token: %s", msg)
	}
}

// TestStatusPage_Renders: the page IT reads renders whole, lists the recent bills and
// the settled count, and shows no personal data.
func TestStatusPage_Renders(t *testing.T) {
	s := MustSystem(t, nil)
	nos := storyBills(t, s)
	resp, err := client.Get(s.URL + "/?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /: got %d %s; want 200", resp.StatusCode, page)
	}
	if !bytes.Contains(page, []byte("</html>")) {
		t.Fatalf("status page stops short (template error?): %s", page)
	}
	for _, no := range nos {
		if !bytes.Contains(page, []byte(no)) {
			t.Errorf("status page does not list bill %s", no)
		}
	}
	want := fmt.Sprintf(`settled<b>%d</b>`, len(nos))
	if !bytes.Contains(page, []byte(want)) {
		t.Errorf("status page lacks %q", want)
	}
	for _, w := range []string{"ONLINE", "queued", "Card readers", "needs a person", "Recent bills"} {
		if !bytes.Contains(page, []byte(w)) {
			t.Errorf("status page lacks %q", w)
		}
	}
	if found := leaks(page, append(demoPII(t), demoCardNos()...)...); len(found) > 0 {
		t.Errorf("status page shows in clear: %q", found)
	}
}
