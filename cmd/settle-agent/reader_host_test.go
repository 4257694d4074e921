package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/internal/poll"
	"github.com/settle-agent/settle-agent/internal/standin"
	"github.com/settle-agent/settle-agent/internal/syncbuf"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// TestMain lets the test binary stand in for settle-agent when a test starts it as a
// child (reader-host --stdio): SETTLE_AGENT_TEST_MAIN=1 runs the command line instead
// of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("SETTLE_AGENT_TEST_MAIN") == "1" {
		env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
		os.Exit(runMain(context.Background(), env, os.Args[1:]))
	}
	code := m.Run()
	standin.Cleanup()
	os.Exit(code)
}

// TestReaderHost_Remote runs `reader-host --agent` as on a cashier PC, with a vendor
// library (the stand-in) in its own `reader-host --stdio` child, against the agent's
// RemoteHub on a real HTTP server: a card read arrives, a crash in the library is
// survived, and the next card arrives too.
func TestReaderHost_Remote(t *testing.T) {
	lib := standin.Build(t)
	ctl := standin.NewControl(t)
	t.Setenv("SETTLE_AGENT_TEST_MAIN", "1")
	t.Setenv("STANDIN_CTL", ctl.Path)

	demand := cardreader.NewDemand()
	var mu sync.Mutex
	var reads []settle.CardRead
	hub := cardreader.NewRemoteHub(cardreader.RemoteOptions{
		Token:  func(w string) (string, bool) { return "tok-w01-remote", w == "W01" },
		OnRead: func(r settle.CardRead) { mu.Lock(); reads = append(reads, r); mu.Unlock() },
		Demand: demand, Hold: time.Second,
	})
	mux := http.NewServeMux()
	mux.Handle("/v1/windows/{window}/reader/", hub)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var stdout, stderr syncbuf.Buffer
	env := &cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(k string) string {
		if k == "W01_TOKEN" {
			return "tok-w01-remote"
		}
		return ""
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runReaderHost(ctx, env, []string{"--agent", srv.URL, "--window", "W01", "--token", "env:W01_TOKEN",
			"--library", lib, "--interface", "heasec", "--init", `{"IP":"127.0.0.1","PORT":7020}`, "--poll", "50ms", "--deadline", "2s"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("reader-host: %v", err)
		}
	}()
	nth := func(n int) settle.CardRead {
		t.Helper()
		var r settle.CardRead
		if !poll.Within(30*time.Second, poll.Every, func() bool {
			mu.Lock()
			defer mu.Unlock()
			if len(reads) >= n {
				r = reads[n-1]
				return true
			}
			return false
		}) {
			t.Fatalf("read %d never arrived; reader-host said:\n%s", n, stderr.String())
		}
		return r
	}
	end := demand.Begin("W01")
	defer end()
	card := cardreader.DemoCards()[0]
	gbk, _ := cardreader.EncodeGBK(cardreader.BasicString(card))
	ctl.Set(t, "card "+string(gbk))
	if got := nth(1); got.Err != nil || got.Card != card {
		t.Fatalf("first remote read = %+v, %v; want %+v", got.Card, got.Err, card)
	}
	ctl.Set(t, "crash")
	if got := nth(2); got.Err == nil || !strings.Contains(got.Err.Error(), "crashed") {
		t.Fatalf("read after the crash: %v; want the crash told to the window", got.Err)
	}
	next := cardreader.DemoCards()[2]
	gbk, _ = cardreader.EncodeGBK(cardreader.BasicString(next))
	ctl.Set(t, "card "+string(gbk))
	if got := nth(3); got.Err != nil || got.Card != next {
		t.Fatalf("read after the restart = %+v, %v; want %+v", got.Card, got.Err, next)
	}
	var st cardreader.State
	if !poll.Within(20*time.Second, poll.Every, func() bool {
		st, _ = hub.State("W01")
		return st.Connected && st.Host != nil && st.Host.Crashes == 1 && st.Host.Starts == 2 && st.LastError == ""
	}) {
		t.Fatalf("hub state = %+v (host %+v); want connected, the child's crash and restart, no error", st, st.Host)
	}
}

func TestReaderHost_Usage(t *testing.T) {
	for _, args := range [][]string{
		{"reader-host"},
		{"reader-host", "--agent", "http://x", "--window", "W01", "--token", "t"},
		{"reader-host", "--agent", "http://x", "--window", "W01", "--token", "t", "--library", "a.so", "--port", "COM3"},
	} {
		if code, _, _ := runCmd(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d; want 2", args, code)
		}
	}
}

// TestSimEC serves `sim ec` and decodes one of the codes it prints, then an expired one.
func TestSimEC(t *testing.T) {
	var stdout, stderr syncbuf.Buffer
	env := &cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runSimEC(ctx, env, []string{"--listen", "127.0.0.1:0", "--data-string"}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim ec: %v", err)
		}
	}()
	re := regexp.MustCompile(`url = "(http://[^"]+)"`)
	if !poll.Within(20*time.Second, poll.Every, func() bool { return strings.Contains(stdout.String(), "Ctrl-C") }) {
		t.Fatalf("sim ec did not start: %s %s", stdout.String(), stderr.String())
	}
	out := stdout.String()
	m := re.FindStringSubmatch(out)
	codes := regexp.MustCompile(`(?m)^  (ECQR:\S+) (\S+)$`).FindAllStringSubmatch(out, -1)
	expired := regexp.MustCompile(`an expired one: (\S+)`).FindStringSubmatch(out)
	if m == nil || len(codes) == 0 || expired == nil {
		t.Fatalf("sim ec output lacks the URL or codes:\n%s", out)
	}
	d := &ecvoucher.Decoder{Query: ecvoucher.Query{OrgID: "H33010200001"}, Transport: ecvoucher.HTTP{URL: m[1]}}
	c, err := d.Decode(context.Background(), codes[0][1])
	if err != nil || c.CertType != settle.CertEVoucher || c.CardNo == "" || c.Name != codes[0][2] {
		t.Fatalf("decode %s = %+v, %v; want an ecToken for %s", codes[0][1], c, err, codes[0][2])
	}
	if _, err := d.Decode(context.Background(), expired[1]); !errors.Is(err, ecvoucher.ErrExpired) {
		t.Errorf("decode of the expired code: %v; want ErrExpired", err)
	}
}

// TestReaderHost_AgentEndToEnd is the hospital's picture: the agent on the front-end
// machine with W02's reader remote, and `reader-host --agent` on the "cashier PC"
// driving the vendor library (the stand-in) in its own child. The card endpoint
// delivers the person, the library crashes, and the next card is read.
func TestReaderHost_AgentEndToEnd(t *testing.T) {
	lib := standin.Build(t)
	ctl := standin.NewControl(t)
	t.Setenv("SETTLE_AGENT_TEST_MAIN", "1")
	t.Setenv("STANDIN_CTL", ctl.Path)

	p := sim.New(sim.DemoFixture(), &sim.Options{Seed: 1})
	simURL, stopSim, err := sim.Start(context.Background(), "", p)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stopSim() }()
	cfg := config.Default()
	cfg.Hospital = config.Hospital{FixmedinsCode: "H33010200001", FixmedinsName: "Test Hospital", Admdvs: "330100", MsgidNode: -1}
	cfg.Platform.BaseURL = simURL
	cfg.Platform.Timeout = config.Duration{Duration: 2 * time.Second}
	cfg.Store.Dir = t.TempDir()
	cfg.API.AdminToken = config.NewSecret("admin-token-0123456789")
	cfg.Windows = []config.Window{{ID: "W02", Token: config.NewSecret("w02-token-0123456789"), Reader: &config.Port{Remote: true}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, &agent.Options{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(context.Background())
	adone := make(chan error, 1)
	go func() { adone <- a.Run(actx) }()
	defer func() { acancel(); <-adone }()
	base := "http://" + ln.Addr().String()

	var stdout, stderr syncbuf.Buffer
	env := &cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	hctx, hcancel := context.WithCancel(context.Background())
	hdone := make(chan error, 1)
	go func() {
		hdone <- runReaderHost(hctx, env, []string{"--agent", base, "--window", "W02", "--token", "w02-token-0123456789",
			"--library", lib, "--interface", "heasec", "--init", `{"IP":"127.0.0.1"}`, "--poll", "50ms"})
	}()
	defer func() { hcancel(); <-hdone }()

	card := func(set string) (int, map[string]any) {
		t.Helper()
		type answer struct {
			st   int
			body map[string]any
		}
		ch := make(chan answer, 1)
		go func() {
			req, _ := http.NewRequest("GET", base+"/v1/windows/W02/card?wait=20s", nil)
			req.Header.Set("Authorization", "Bearer w02-token-0123456789")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				ch <- answer{}
				return
			}
			defer resp.Body.Close()
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			ch <- answer{resp.StatusCode, m}
		}()
		ctl.Set(t, set)
		a := <-ch
		return a.st, a.body
	}
	basic := func(no string) string {
		for _, c := range p.Fixture().Cards() {
			if c.CardNo == no && c.CertType == settle.CertSSCard {
				b, _ := cardreader.EncodeGBK(cardreader.BasicString(c))
				return "card " + string(b)
			}
		}
		t.Fatalf("no card %s", no)
		return ""
	}
	st, body := card(basic("A33010001"))
	if st != 200 || body["carrier"] != "sscard" || body["source"] != "platform" {
		t.Fatalf("remote library read: %d %v; want 200 sscard from the platform (reader-host said:\n%s)", st, body, stderr.String())
	}
	st, body = card("crash")
	if st != 422 {
		t.Fatalf("read while the library crashes: %d %v; want 422", st, body)
	}
	if details, _ := body["error"].(map[string]any)["details"].(map[string]any); details["reason"] != "reader_fault" {
		t.Errorf("crash reason: %v; want reader_fault", body)
	}
	st, body = card(basic("A33010002"))
	if st != 200 || body["card"].(map[string]any)["card_no"] != "A33010002" {
		t.Fatalf("next card after the crash: %d %v; want 200 A33010002", st, body)
	}
}

func TestReaderHost_InstallChecksFlags(t *testing.T) {
	// A bad command line is refused before any service is created.
	code, _, stderr := runCmd(t, nil, "reader-host", "install", "--agent", "http://x:1", "--window", "W01", "--token", "t")
	if code != 2 || !strings.Contains(stderr, "do not work") {
		t.Errorf("install without a reader: exit %d, %q; want 2 and the flags refused", code, stderr)
	}
	if code, _, _ := runCmd(t, nil, "reader-host", "uninstall"); code != 2 {
		t.Errorf("uninstall without --window: exit %d; want 2", code)
	}
	if got := flagValue([]string{"--agent", "u", "--window=W07"}, "window"); got != "W07" {
		t.Errorf("flagValue = %q; want W07", got)
	}
}
