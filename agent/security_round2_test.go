package agent_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/config"
)

// fromAddr is a client whose connections come from the loopback address 127.0.0.n.
func fromAddr(n int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(n/250), byte(2+n%250))}}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// rawDo sends one request with c and returns the status and the body as text.
func rawDo(t *testing.T, c *http.Client, method, u, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Skipf("cannot reach the agent from another loopback address on this system: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// Issue 29 finding 2: 200 POSTs to /v1/windows/W01/reader/reads with W01's token
// from 200 loopback addresses all got 204: the reader-host endpoints were mounted
// without auth, so the per-token limit never ran. They go through auth now.
func TestSecurity_ReaderHostRateLimitedPerToken(t *testing.T) {
	s := MustSystem(t, func(c *config.Config) {
		c.API.RateLimit = 2
		c.Windows[1].Reader = &config.Port{Remote: true}
	})
	limited := 0
	for i := range 200 {
		if st, _ := rawDo(t, fromAddr(i), "POST", s.URL+"/v1/windows/W02/reader/reads", tokW02, `{"error":"no card"}`); st == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("200 reads from 200 addresses at rate_limit 2/s: none got 429; want the window's token limited")
	}
}

// Issue 29 finding 6: a window segment with U+202E, CR and LF came back raw in the
// 404, a 20,000-character one whole, and 404 vs 401 told anyone which windows exist.
// The token is checked first (401 for every window), and what is echoed after is at
// most 40 bytes, escaped.
func TestSecurity_WindowPathNotEchoedBeforeToken(t *testing.T) {
	s := MustSystem(t, func(c *config.Config) { c.Windows[1].Reader = &config.Port{Remote: true} })
	c := fromAddr(0)
	long := strings.Repeat("Z", 20000)
	evil := "W\u202e\r\nX"
	paths := func(w string) []string {
		w = url.PathEscape(w)
		return []string{"GET /v1/windows/" + w + "/card?wait=0s", "POST /v1/windows/" + w + "/reader/reads", "POST /v1/windows/" + w + "/reader/heartbeat"}
	}
	for _, w := range []string{"W01", "W02", "W99", evil, long} {
		for _, p := range paths(w) {
			method, path, _ := strings.Cut(p, " ")
			if st, body := rawDo(t, c, method, s.URL+path, "", "{}"); st != http.StatusUnauthorized || strings.Contains(body, "ZZZ") || strings.Contains(body, "\u202e") {
				t.Errorf("%.60s without a token: %d %.100q; want 401 echoing nothing of the path", p, st, body)
			}
		}
	}
	for _, tc := range []struct{ w, token string }{{evil, tokW01}, {long, tokW01}, {evil, tokAdmin}, {long, tokAdmin}} {
		for _, p := range paths(tc.w)[:1] {
			method, path, _ := strings.Cut(p, " ")
			st, body := rawDo(t, c, method, s.URL+path, tc.token, "")
			if strings.Contains(body, strings.Repeat("Z", 41)) || strings.ContainsAny(body, "\u202e\r") || strings.Contains(body, `\n`) && !strings.Contains(body, `\\n`) {
				t.Errorf("%.60s with token %s: %d %.200q; want at most 40 bytes of the window, escaped", p, tc.token, st, body)
			}
			if tc.w == long && !strings.Contains(body, fmt.Sprintf(`\"%s\"…`, strings.Repeat("Z", 40))) {
				t.Errorf("%.60s with token %s: %.200q; want the window quoted and cut", p, tc.token, body)
			}
		}
	}
}

// Issue 29 finding 8, end to end: the agent passes the name it was given to 1101 and
// the platform (the simulator, as the real one) checks it; a body with a case-variant
// or repeated member, or invalid UTF-8, is refused before anything is stored.
func TestSecurity_InputEdgeCases(t *testing.T) {
	s := MustSystem(t, nil)
	lookup := func(name string) int {
		st, _ := s.Do("POST", "/v1/persons/lookup", tokW01, map[string]string{"mdtrt_cert_type": "03", "mdtrt_cert_no": cardLocalEmployee, "psn_name": name})
		return st
	}
	if st := lookup("张伟"); st != http.StatusOK {
		t.Errorf("lookup with the card's own name: %d; want 200", st)
	}
	if st := lookup("李四"); st == http.StatusOK {
		t.Errorf("lookup with another name: %d; want refused", st)
	}
	for name, body := range map[string]string{
		"case variant": `{"bill_no":"MZE1","Window":"W01"}`,
		"repeated":     `{"bill_no":"MZE2","window":"W01","window":"W01"}`,
		"invalid utf8": "{\"bill_no\":\"MZE3\",\"window\":\"W01\",\"patient\":{\"psn_name\":\"\xff\"}}",
	} {
		if st, got := rawDo(t, http.DefaultClient, "POST", s.URL+"/v1/bills", tokW01, body); st != http.StatusBadRequest || !strings.Contains(got, "bad_json") {
			t.Errorf("%s: %d %s; want 400 bad_json", name, st, got)
		}
	}
}
