package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/internal/golden"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// kitDir is the dry-run kit shipped in the repository (examples/dryrun).
var kitDir = filepath.Join("..", "..", "examples", "dryrun")

// The shipped mapping is the simulator's catalogue: a dry run needs none written
// by hand. go test -update rewrites it when the catalogue changes.
func TestDryRunKit_MappingMatchesSimulator(t *testing.T) {
	golden.Check(t, filepath.Join(kitDir, "mapping.csv"), sim.DemoFixture().MappingCSV())
	// The same file for whoever has only the program: sim platform --print-mapping.
	code, out, errOut := runCmd(t, nil, "sim", "platform", "--print-mapping")
	if code != 0 || out != string(sim.DemoFixture().MappingCSV()) {
		t.Errorf("sim platform --print-mapping: exit %d, stderr %q; want the simulator's mapping on stdout", code, errOut)
	}
}

// The shipped configuration, HL7 message and CSV file work against the simulator
// as docs/his-input.md says: each bill is stored and pre-settled, and the cashier
// settles it.
func TestDryRunKit_SamplesSettle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := sim.New(sim.DemoFixture(), nil)
	simURL, simStop, err := sim.Start(ctx, "127.0.0.1:0", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = simStop() })

	text, err := os.ReadFile(filepath.Join(kitDir, "settle-agent.toml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	drop := filepath.Join(dir, "drop")
	if err := os.MkdirAll(drop, 0o750); err != nil {
		t.Fatal(err)
	}
	mapping, err := filepath.Abs(filepath.Join(kitDir, "mapping.csv"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer(
		`"http://127.0.0.1:8430"`, `"`+simURL+`"`,
		`listen = "127.0.0.1:2575"`, `listen = "127.0.0.1:0"`,
		`"examples/dryrun/data"`, `"`+filepath.ToSlash(filepath.Join(dir, "data"))+`"`,
		`"examples/dryrun/drop"`, `"`+filepath.ToSlash(drop)+`"`,
		`"examples/dryrun/mapping.csv"`, `"`+filepath.ToSlash(mapping)+`"`,
	).Replace(string(text))
	cfg, err := config.Parse([]byte(conf), "settle-agent.toml", nil)
	if err != nil {
		t.Fatalf("the shipped dry-run configuration: %v", err)
	}
	cfg.DropFolder.QuietTime = config.Duration{Duration: 50 * time.Millisecond}
	cfg.DropFolder.PollInterval = config.Duration{Duration: 20 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, &agent.Options{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent: %v", err)
		}
	})
	d := &demo{url: "http://" + ln.Addr().String(), out: &strings.Builder{}, expect: map[string]string{}}
	if err := d.waitFor(ctx, "the agent", func() bool {
		st, _, err := d.call("GET", "/healthz", "", nil)
		return err == nil && st == 200 && a.HL7Addr() != ""
	}); err != nil {
		t.Fatal(err)
	}
	const token = "dryrun-w01-token"

	hl7, err := os.ReadFile(filepath.Join(kitDir, "bill.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", a.HL7Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	msg := strings.ReplaceAll(strings.TrimRight(string(hl7), "\n"), "\n", "\r") + "\r"
	if _, err := conn.Write(hisadapter.Frame([]byte(msg))); err != nil {
		t.Fatal(err)
	}
	ack, err := bufio.NewReader(conn).ReadString(0x1c)
	if err != nil || !strings.Contains(ack, "MSA|AA|DRYRUN0001") {
		t.Fatalf("ACK of the shipped HL7 sample: %q, %v; want MSA|AA", ack, err)
	}

	csv, err := os.ReadFile(filepath.Join(kitDir, "bill.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(drop, "bill.csv.tmp"), csv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(drop, "bill.csv.tmp"), filepath.Join(drop, "bill.csv")); err != nil {
		t.Fatal(err)
	}
	if err := d.waitFor(ctx, "the CSV sample in done/", func() bool {
		_, err := os.Stat(filepath.Join(drop, "done", "bill.csv"))
		return err == nil
	}); err != nil {
		entries, _ := os.ReadDir(filepath.Join(drop, "error"))
		t.Fatalf("%v (error/ holds %v)", err, entries)
	}

	for _, no := range []string{"MZDRYRUN0001", "MZDRYRUN0002"} {
		body, err := d.mustCall("GET", "/v1/bills/"+no, token, nil, 200)
		if err != nil {
			t.Fatal(err)
		}
		if got := str(body, "state"); got != "presettled" {
			t.Errorf("bill %s: state %q; want presettled (the agent pre-settles, the cashier settles)", no, got)
		}
		if _, err := d.mustCall("POST", "/v1/bills/"+no+"/settle", token, map[string]string{"acct_used_flag": "1", "psn_setlway": "01"}, 200); err != nil {
			t.Errorf("the cashier settles %s: %v", no, err)
		}
	}
	if got := p.Settled(); got["MZDRYRUN0001"] != 1 || got["MZDRYRUN0002"] != 1 {
		t.Errorf("simulator's ledger: %v; want each sample bill settled once", got)
	}
}
