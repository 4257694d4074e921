package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/internal/standin"
	"github.com/settle-agent/settle-agent/internal/syncbuf"
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
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			if len(reads) >= n {
				r := reads[n-1]
				mu.Unlock()
				return r
			}
			mu.Unlock()
			if time.Now().After(deadline) {
				t.Fatalf("read %d never arrived; reader-host said:\n%s", n, stderr.String())
			}
			time.Sleep(10 * time.Millisecond) // polling a condition
		}
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
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, _ := hub.State("W01")
		if st.Connected && st.Host != nil && st.Host.Crashes == 1 && st.Host.Starts == 2 && st.LastError == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub state = %+v (host %+v); want connected, the child's crash and restart, no error", st, st.Host)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition
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
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stdout.String(), "Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("sim ec did not start: %s %s", stdout.String(), stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
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
