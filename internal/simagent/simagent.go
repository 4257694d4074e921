// Package simagent builds the whole system on this machine: the simulated
// provincial platform (platform/sim) with the demo fixture, the configuration of an
// agent against it — written as a settle-agent.toml and loaded back the way the
// agent loads its own — and the agent running in this process on loopback. The
// demo, the benchmarks and the agent tests build the system here, one way.
package simagent

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// Errors of this package.
var (
	// ErrNoWindows: Options without a window or an admin token.
	ErrNoWindows = errors.New("simagent: Options need at least one window and an admin token")
	// ErrNotUp: the agent did not answer /healthz in time.
	ErrNotUp = errors.New("simagent: the agent did not answer /healthz")
)

// The fixture's hospital: the code and area the simulated platform knows.
const (
	HospitalCode = "H33010200001"
	Admdvs       = "330100"
)

// ConfigFile is the name of the configuration WriteConfig writes.
const ConfigFile = "settle-agent.toml"

// Window is one cashier window of the system: its id and its bearer token.
type Window struct{ ID, Token string }

// Options shape the configuration; zero values mean the defaults named.
type Options struct {
	// HospitalName is [hospital] fixmedins_name ("Test Hospital").
	HospitalName string
	// Windows and AdminToken are required.
	Windows    []Window
	AdminToken string
	// Listen is [api] listen ("127.0.0.1:0"); RateLimit [api] rate_limit (100000).
	Listen    string
	RateLimit float64
	// Seal gives the store a random [store] key.
	Seal bool
	// Key is the [store] key (base64), for agents that share one (a group); it
	// overrides Seal.
	Key string
	// Cluster is the body of a [cluster] section (TOML lines), empty for none.
	Cluster string
	// PlatformTimeout (2 s), ProbeInterval (50 ms) and OfflineDeadline (3 s) are
	// [platform] timeout, [platform] probe_interval and [offline] deadline.
	PlatformTimeout, ProbeInterval, OfflineDeadline time.Duration
	// Policy is [offline] policy (the configuration's default when empty).
	Policy string
	// SyncConcurrency and SyncRate are [sync] concurrency and rate_per_second
	// (the configuration's defaults when 0).
	SyncConcurrency int
	SyncRate        float64
	// LogFile writes the agent's log to dir/agent.log at level info (else stderr
	// at the configuration's default).
	LogFile bool
}

// StartSim starts the simulated platform with the demo fixture on a loopback port;
// stop ends it.
func StartSim(ctx context.Context, seed int64) (p *sim.Platform, url string, stop func() error, err error) {
	p = sim.New(sim.DemoFixture(), &sim.Options{Seed: seed})
	url, stop, err = sim.Start(ctx, "", p)
	if err != nil {
		return nil, "", nil, fmt.Errorf("start the simulated platform: %w", err)
	}
	return p, url, stop, nil
}

// WriteConfig writes the configuration of an agent against the simulated platform at
// simURL into dir — dir/settle-agent.toml, the fixture's item mapping dir/mapping.csv,
// the data folder dir/data — and loads it back as the agent does (config.Load, no
// environment). It returns the file's path and the configuration.
func WriteConfig(dir, simURL string, o Options) (string, *config.Config, error) {
	if len(o.Windows) == 0 || o.AdminToken == "" {
		return "", nil, ErrNoWindows
	}
	mapping := filepath.Join(dir, "mapping.csv")
	if err := os.WriteFile(mapping, sim.DemoFixture().MappingCSV(), 0o600); err != nil {
		return "", nil, err
	}
	q := func(s string) string { j, _ := json.Marshal(s); return string(j) } // a TOML basic string
	or := func(d, def time.Duration) string {
		if d <= 0 {
			d = def
		}
		return q(d.String())
	}
	name, listen, rateLimit := o.HospitalName, o.Listen, o.RateLimit
	if name == "" {
		name = "Test Hospital"
	}
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	if rateLimit <= 0 {
		rateLimit = 100000
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[hospital]\nfixmedins_code = %s\nfixmedins_name = %s\nadmdvs = %s\nmsgid_node = -1\n\n", q(HospitalCode), q(name), q(Admdvs))
	fmt.Fprintf(&b, "[platform]\nbase_url = %s\ntimeout = %s\nprobe_interval = %s\n\n", q(simURL), or(o.PlatformTimeout, 2*time.Second), or(o.ProbeInterval, 50*time.Millisecond))
	fmt.Fprintf(&b, "[api]\nlisten = %s\nadmin_token = %s\nrate_limit = %g\n\n", q(listen), q(o.AdminToken), rateLimit)
	fmt.Fprintf(&b, "[store]\ndir = %s\n", q(filepath.Join(dir, "data")))
	if o.Key != "" {
		fmt.Fprintf(&b, "key = %s\n", q(o.Key))
	} else if o.Seal {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, "key = %s\n", q(base64.StdEncoding.EncodeToString(key)))
	}
	fmt.Fprintf(&b, "\n[offline]\ndeadline = %s\n", or(o.OfflineDeadline, 3*time.Second))
	if o.Policy != "" {
		fmt.Fprintf(&b, "policy = %s\n", q(o.Policy))
	}
	if o.SyncConcurrency > 0 || o.SyncRate > 0 {
		b.WriteString("\n[sync]\n")
		if o.SyncConcurrency > 0 {
			fmt.Fprintf(&b, "concurrency = %d\n", o.SyncConcurrency)
		}
		if o.SyncRate > 0 {
			fmt.Fprintf(&b, "rate_per_second = %g\n", o.SyncRate)
		}
	}
	fmt.Fprintf(&b, "\n[mapping]\nfile = %s\n\n", q(mapping))
	if o.LogFile {
		fmt.Fprintf(&b, "[log]\nlevel = \"info\"\nfile = %s\n\n", q(filepath.Join(dir, "agent.log")))
	}
	for _, w := range o.Windows {
		fmt.Fprintf(&b, "[[window]]\nid = %s\ntoken = %s\n\n", q(w.ID), q(w.Token))
	}
	if o.Cluster != "" {
		fmt.Fprintf(&b, "[cluster]\n%s\n", o.Cluster)
	}
	path := filepath.Join(dir, ConfigFile)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", nil, err
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		return "", nil, fmt.Errorf("the system's configuration %s: %w", path, err)
	}
	return path, cfg, nil
}

// Running is an agent running in this process on a loopback listener.
type Running struct {
	Agent *agent.Agent
	// URL is the agent's API, http://127.0.0.1:PORT.
	URL    string
	cancel context.CancelFunc
	done   chan error
}

// Start runs the agent of cfg in this process until Stop, on o.Listener (a free
// loopback port when nil), and waits until it answers /healthz.
func Start(ctx context.Context, cfg *config.Config, o *agent.Options) (*Running, error) {
	if o == nil {
		o = &agent.Options{}
	}
	if o.Listener == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		o.Listener = ln
	}
	url := "http://" + o.Listener.Addr().String()
	a, err := agent.New(cfg, o)
	if err != nil {
		o.Listener.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &Running{Agent: a, URL: url, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(runCtx) }()
	if err := r.waitHealthy(ctx); err != nil {
		_ = r.Stop()
		return nil, err
	}
	return r, nil
}

// waitHealthy asks /healthz until it answers 200, for at most 20 s.
func (r *Running) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w at %s: %v", ErrNotUp, r.URL, ctx.Err())
		case err := <-r.done:
			r.done <- err // Stop reads it again
			return fmt.Errorf("%w at %s: it stopped: %v", ErrNotUp, r.URL, err)
		case <-tick.C:
		}
	}
}

// Stop stops the agent and waits for it; the error is Run's.
func (r *Running) Stop() error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	return <-r.done
}
