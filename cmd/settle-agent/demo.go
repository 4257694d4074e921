package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/installer"
	"github.com/settle-agent/settle-agent/internal/simagent"
	"github.com/settle-agent/settle-agent/platform/sim"
)

const demoSynopsis = `demo [--exit] [--listen ADDR] [--keep] [--crypto sm4+sm3]

Runs the whole system on this machine with nothing to install: a simulated provincial
platform, simulated card readers at two windows, and the agent with a temporary data
folder. It tells the story a hospital lives through: cards swiped, persons found, bills
pre-settled and settled, a cancellation, bills from the HIS over HL7 and a drop folder,
the network cut, bills queued, the network back, the queue drained, differences shown,
reconciliation clean. Then it keeps the status page open until Ctrl-C.

With --exit it ends after the story: exit 0 only if every bill ended as it should,
settled exactly once by the simulator's own ledger.

With --crypto the province requires 国密 envelopes (sm4, sm3, sm2, sm4+sm3 or sm4+sm2):
the simulator refuses anything else and the agent speaks it ([platform.crypto]).`

// demoWindows are the demo's cashier windows and their tokens.
var demoWindows = []struct{ id, token string }{{"W01", "demo-w01-token"}, {"W02", "demo-w02-token"}}

const demoAdminToken = "demo-admin-token"

func runDemo(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "demo", demoSynopsis)
	exit := fs.Bool("exit", false, "end after the story; exit 0 only if every bill was settled exactly once")
	listen := fs.String("listen", "127.0.0.1:8420", "address of the agent's API and status page (falls back to a free port)")
	keep := fs.Bool("keep", false, "keep the temporary data folder afterwards (its path is printed)")
	crypto := fs.String("crypto", "plain", "国密 envelope of the demo province: plain, sm4, sm3, sm2, sm4+sm3 or sm4+sm2")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	dir, err := os.MkdirTemp("", "settle-agent-demo-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	d, err := startDemo(ctx, env.stdout, dir, *listen, *crypto)
	if err != nil {
		return err
	}
	defer d.stop()
	storyErr := d.story(ctx)
	if *keep {
		d.say("Data folder kept at %s (store, agent log, drop folder).", dir)
	}
	if *exit {
		if storyErr != nil {
			return fmt.Errorf("demo failed: %w", storyErr)
		}
		return d.verify()
	}
	if storyErr != nil {
		d.say("The story stopped early: %v", storyErr)
	}
	d.say("\nStatus page: %s/  (metrics at %s/metrics). Press Ctrl-C to stop.", d.url, d.url)
	<-ctx.Done()
	return nil
}

// demo is the running system: simulator, readers, agent, and the cashier's client.
type demo struct {
	out     io.Writer
	dir     string
	sim     *sim.Platform
	simStop func() error
	simURL  string
	// crypto is the demo province's 国密 envelope ("" plain; demo_crypto.go).
	crypto  string
	agent   *agent.Agent
	running *simagent.Running
	url     string
	logFile io.Closer
	mu      sync.Mutex
	readers map[string]*cardreader.Simulator
	// scanners are the windows' simulated QR scanners; ec the e-voucher decode service.
	scanners map[string]*cardreader.Scanner
	ec       *ecvoucher.Simulator
	ecStop   func()
	// simCtx ends, and stopping closes, when the demo stops: the simulated readers' owner.
	simCtx   context.Context
	stopping chan struct{}
	step     int

	// expect is what each bill of the story must end as (settled bills exactly once).
	expect map[string]string
	// stays is what each inpatient stay must end as (demo_stay.go); stayNo numbers
	// them; outageStay is the one discharged during the outage.
	stays      map[string]string
	stayNo     int
	outageStay *stayDemo
}

func startDemo(ctx context.Context, out io.Writer, dir, listen, crypto string) (*demo, error) {
	d := &demo{out: out, dir: dir, readers: map[string]*cardreader.Simulator{}, scanners: map[string]*cardreader.Scanner{},
		expect: map[string]string{}, stays: map[string]string{}, stopping: make(chan struct{})}
	var stopSims context.CancelFunc
	d.simCtx, stopSims = context.WithCancel(context.Background())
	go func() { <-d.stopping; stopSims() }()
	ln, err := net.Listen("tcp", listen)
	portNote := ""
	if err != nil {
		taken := err
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		portNote = fmt.Sprintf("  note: %s is taken (%v); the demo uses %s instead (choose one with --listen ADDR)", listen, taken, ln.Addr())
	}
	// The simulator of simagent.StartSim, in the demo province's 国密 mode.
	codec, hospCrypto, err := demoCrypto(crypto, dir)
	if err != nil {
		return nil, err
	}
	if codec != nil {
		d.crypto = codec.Describe()
	}
	d.sim = sim.New(sim.DemoFixture(), &sim.Options{Seed: 42, Codec: codec})
	simURL, simStop, err := sim.Start(ctx, "", d.sim)
	if err != nil {
		return nil, fmt.Errorf("start the simulated platform: %w", err)
	}
	d.simStop, d.simURL = simStop, simURL
	fx := d.sim.Fixture()

	// The system's configuration as simagent writes it (settle-agent.toml in the
	// data folder), then the demo's own inputs: simulated readers, a scanner, the
	// e-voucher service, HL7 and a drop folder.
	var windows []simagent.Window
	for _, w := range demoWindows {
		windows = append(windows, simagent.Window{ID: w.id, Token: w.token})
	}
	_, cfg, err := simagent.WriteConfig(dir, simURL, simagent.Options{HospitalName: "Demo People's Hospital",
		Windows: windows, AdminToken: demoAdminToken, Seal: true, ProbeInterval: 200 * time.Millisecond, Listen: ln.Addr().String()})
	if err != nil {
		return nil, err
	}
	for i, w := range demoWindows {
		cfg.Windows[i].Reader = &config.Port{Port: "sim:" + w.id, Protocol: "frame", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1, ReadTimeout: config.Duration{Duration: 200 * time.Millisecond}}
	}
	// W01 also has an e-voucher QR scanner; its codes go through the stand-in decode service.
	cfg.Windows[0].Scanner = &config.Port{Port: "sim-scanner:W01", Protocol: "line", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 1, ReadTimeout: config.Duration{Duration: 200 * time.Millisecond}}
	ecURL, err := d.startEC(fx)
	if err != nil {
		return nil, err
	}
	cfg.EVoucher = config.EVoucher{Mode: "http", URL: ecURL, Timeout: config.Duration{Duration: 2 * time.Second}, OperatorID: "demo"}
	cfg.HL7.Listen = "127.0.0.1:0"
	cfg.DropFolder.Dir = filepath.Join(dir, "drop")
	cfg.DropFolder.QuietTime = config.Duration{Duration: 200 * time.Millisecond}
	cfg.DropFolder.PollInterval = config.Duration{Duration: 100 * time.Millisecond}
	if err := os.MkdirAll(cfg.DropFolder.Dir, 0o750); err != nil {
		return nil, err
	}
	cfg.Platform.Crypto = hospCrypto
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo configuration: %w", err)
	}

	log, closer, err := installer.NewLogger(installer.LogOptions{File: filepath.Join(dir, "agent.log"), Level: "info"})
	if err != nil {
		return nil, err
	}
	d.logFile = closer
	d.running, err = simagent.Start(ctx, cfg, &agent.Options{Logger: log, Listener: ln, Version: installer.Version, OpenPort: d.openSimPort})
	if err != nil {
		return nil, err
	}
	a := d.running.Agent
	d.agent, d.url = a, d.running.URL
	if err := d.waitFor(ctx, "the HL7 listener", func() bool { return a.HL7Addr() != "" }); err != nil {
		return nil, err
	}
	if err := d.waitFor(ctx, "the card readers to connect", func() bool {
		_, body, err := d.call("GET", "/v1/status", demoAdminToken, nil)
		if err != nil {
			return false
		}
		readers, _ := body["readers"].([]any)
		for _, r := range readers {
			if m, _ := r.(map[string]any); m["connected"] != true {
				return false
			}
		}
		return len(readers) == len(demoWindows)+1 // the readers and W01's scanner
	}); err != nil {
		return nil, err
	}
	d.say("settle-agent demo — everything runs on this machine.")
	d.say("  simulated provincial platform: %s", simURL)
	if d.crypto != "" {
		d.say("  国密 envelope:                  %s (enctype/signtype/cainfo; docs/platform.md)", d.crypto)
	}
	d.say("  agent API and status page:     %s/", d.url)
	d.say("  HL7 v2 (MLLP) listener:        %s", a.HL7Addr())
	d.say("  e-voucher decode service:      %s", ecURL)
	d.say("  agent log:                     %s", filepath.Join(dir, "agent.log"))
	if portNote != "" {
		d.say("%s", portNote)
	}
	return d, nil
}

// openSimPort gives a window's reader the host end of an in-process serial line with
// a simulated card reader on the other end.
func (d *demo) openSimPort(c cardreader.Config) (io.ReadWriteCloser, error) {
	host, device := cardreader.Pipe()
	if c.Protocol == cardreader.ProtocolLine {
		d.mu.Lock()
		d.scanners[c.Window] = cardreader.NewScanner(device)
		d.mu.Unlock()
		go func() { <-d.stopping; device.Close() }() // owned by the demo, as below
		return host, nil
	}
	s := cardreader.NewSimulator(device)
	go func() {
		// Owned by the demo: it ends when the demo stops and closes the line.
		<-d.stopping
		device.Close()
	}()
	go func() { _ = s.Run(d.simCtx) }()
	d.mu.Lock()
	d.readers[c.Window] = s
	d.mu.Unlock()
	return host, nil
}

func (d *demo) reader(window string) *cardreader.Simulator {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.readers[window]
}

// startEC serves the stand-in e-voucher decode service for the fixture's persons on a
// free loopback port until the demo stops, and returns its ec.query URL.
func (d *demo) startEC(fx *sim.Fixture) (string, error) {
	d.ec = ecvoucher.NewSimulator(simECVouchers(fx))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("start the e-voucher decode service: %w", err)
	}
	srv := &http.Server{Handler: d.ec, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }() // owned by the demo: stop ends it
	d.ecStop = func() { _ = srv.Close(); <-served }
	return "http://" + ln.Addr().String() + ecvoucher.Path, nil
}

func (d *demo) scanner(window string) *cardreader.Scanner {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.scanners[window]
}

func (d *demo) stop() {
	defer close(d.stopping)
	if d.running != nil {
		_ = d.running.Stop()
	}
	if d.ecStop != nil {
		d.ecStop()
	}
	if d.simStop != nil {
		_ = d.simStop()
	}
	if d.logFile != nil {
		_ = d.logFile.Close()
	}
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

func (d *demo) headline(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n%2d. %s\n", d.step, fmt.Sprintf(format, args...))
}

// waitFor polls cond every 20 ms for up to 30 s.
func (d *demo) waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// verify checks the end state against the simulator's ledger: every bill the story
// settled is booked exactly once, every cancelled or refused one not at all.
func (d *demo) verify() error {
	settled := d.sim.Settled()
	var problems []error
	for no, want := range d.expect {
		_, body, err := d.call("GET", "/v1/bills/"+no, demoAdminToken, nil)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		got := str(body, "state")
		wantBookings := 0
		if want == "settled" {
			wantBookings = 1
		}
		if got != want || settled[no] != wantBookings {
			problems = append(problems, fmt.Errorf("bill %s: state %s with %d platform bookings; want %s with %d", no, got, settled[no], want, wantBookings))
		}
	}
	problems = append(problems, d.verifyStays()...)
	if rep := d.sim.RepeatedMsgids(); len(rep) > 0 {
		problems = append(problems, fmt.Errorf("msgids sent twice: %v", rep))
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	d.say("\nChecked against the platform's ledger: %d bills and %d inpatient stays, every settled one booked exactly once. ✓", len(d.expect), len(d.stays))
	return nil
}
