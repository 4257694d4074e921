package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/internal/simagent"
)

const adminToken = "bench-admin-token-0123456789"

// windowToken is window i's bearer token (i from 1).
func windowToken(i int) string { return fmt.Sprintf("bench-w%02d-token-0123456789", i) }

func windowID(i int) string { return fmt.Sprintf("W%02d", i) }

// system is the agent's configuration and the client that talks to it.
type system struct {
	dir        string
	configPath string
	url        string
	client     *http.Client
	// group: the agent is a node of a group, its store the group's etcd.
	group bool
}

// newSystem writes the agent's configuration: a fixed free port, the windows, the
// store in dir, the platform at simURL, sync as fast as the platform takes it.
//
// key and cluster, when set, are the [store] key the nodes of a group share and the
// body of this node's [cluster] section.
func newSystem(dir, simURL string, o Options, key, cluster string) (*system, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("bench e2e: find a free port: %w", err)
	}
	windows := make([]simagent.Window, 0, o.Windows)
	for i := 1; i <= o.Windows; i++ {
		windows = append(windows, simagent.Window{ID: windowID(i), Token: windowToken(i)})
	}
	// The agent runs as a child process on this file; sync as fast as the platform
	// takes it, no rate limit in the way of the load.
	path, _, err := simagent.WriteConfig(dir, simURL, simagent.Options{HospitalName: "Bench Hospital",
		Windows: windows, AdminToken: adminToken, Listen: fmt.Sprintf("127.0.0.1:%d", port), RateLimit: 1000000,
		Seal: true, Key: key, Cluster: cluster, PlatformTimeout: 3 * time.Second, ProbeInterval: 100 * time.Millisecond,
		Policy: "full", OfflineDeadline: 3 * time.Second, SyncConcurrency: o.SyncConcurrency, SyncRate: 1000000, LogFile: true})
	if err != nil {
		return nil, fmt.Errorf("bench e2e: %w", err)
	}
	// A group on one machine answers far slower under the saturated load (every step
	// is an etcd transaction that three members write to the same disk).
	timeout := 30 * time.Second
	if cluster != "" {
		timeout = 2 * time.Minute
	}
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        4 * o.Windows,
		MaxIdleConnsPerHost: 4 * o.Windows,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &system{
		dir: dir, configPath: path, group: cluster != "",
		url:    fmt.Sprintf("http://127.0.0.1:%d", port),
		client: &http.Client{Transport: tr, Timeout: timeout},
	}, nil
}

// storePath is the store's file: the bbolt file, or a node's copy of etcd's database.
func (s *system) storePath() string {
	if s.group {
		return filepath.Join(s.dir, "data", "etcd", "member", "snap", "db")
	}
	return filepath.Join(s.dir, "data", agent.StoreFile)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// answer is one request's outcome as the benchmark sees it.
type answer struct {
	status   int
	latency  time.Duration // request written to body read
	platform time.Duration // Server-Timing platform;dur (0 when absent)
	timed    bool          // Server-Timing was present
	body     []byte
}

// do sends one request with a JSON body and reads the whole answer.
func (s *system) do(ctx context.Context, method, path, token string, body []byte) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		return answer{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := answer{status: resp.StatusCode, latency: time.Since(t0), body: data}
	if err != nil {
		return a, err
	}
	if ms, ok := parseServerTiming(resp.Header.Get("Server-Timing"), "platform"); ok {
		a.platform, a.timed = time.Duration(ms*float64(time.Millisecond)), true
	}
	return a, nil
}

// waitHealthy polls /healthz until it answers 200, the process exits, or limit passes.
func (s *system) waitHealthy(ctx context.Context, p *agentProc, limit time.Duration) error {
	return poll(ctx, limit, 5*time.Millisecond, "the agent to answer /healthz (see "+p.outPath+")", func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("%w before answering /healthz: %v (see %s)", ErrAgentExited, p.waitErr(), p.outPath)
		}
		a, err := s.do(ctx, "GET", "/healthz", "", nil)
		return err == nil && a.status == 200, nil
	})
}

// readyz is the part of GET /readyz the benchmark reads: the queue's counters, which
// the store keeps (GET /v1/status also counts bills by state, a walk of the index that
// would load the agent while it drains).
type readyz struct {
	Online bool `json:"online"`
	Queue  struct {
		Ready  int `json:"ready"`
		Leased int `json:"leased"`
		Failed int `json:"failed"`
		Dead   int `json:"dead"`
		Done   int `json:"done"`
	} `json:"queue"`
}

func (s *system) readyz(ctx context.Context) (readyz, error) {
	var z readyz
	a, err := s.do(ctx, "GET", "/readyz", "", nil)
	if err != nil {
		return z, err
	}
	if a.status != 200 {
		return z, fmt.Errorf("%w: GET /readyz: %d %s", ErrUnexpected, a.status, a.body)
	}
	return z, json.Unmarshal(a.body, &z)
}

// status is the part of GET /v1/status (admin) the benchmark reads.
type status struct {
	Online        bool    `json:"online"`
	PlatformP99Ms float64 `json:"platform_p99_ms"`
	Queue         struct {
		Queued   int `json:"queued"`
		Inflight int `json:"inflight"`
		Failed   int `json:"failed"`
		Dead     int `json:"dead"`
	} `json:"queue"`
	Bills map[string]int `json:"bills"`
}

func (s *system) status(ctx context.Context) (status, error) {
	var st status
	a, err := s.do(ctx, "GET", "/v1/status", adminToken, nil)
	if err != nil {
		return st, err
	}
	if a.status != 200 {
		return st, fmt.Errorf("%w: GET /v1/status: %d %s", ErrUnexpected, a.status, a.body)
	}
	return st, json.Unmarshal(a.body, &st)
}

// waitOnline polls until the agent sees the platform as online (or offline).
func (s *system) waitOnline(ctx context.Context, online bool) error {
	what := "the agent to see the platform online"
	if !online {
		what = "the agent to see the platform offline"
	}
	return poll(ctx, 30*time.Second, 20*time.Millisecond, what, func() (bool, error) {
		z, err := s.readyz(ctx)
		return err == nil && z.Online == online, nil
	})
}

// poll calls cond every interval until it reports true or an error, ctx ends, or
// limit passes.
func poll(ctx context.Context, limit, interval time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench e2e: timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// profile fetches a CPU profile of the agent over d into path, in the background; the
// returned func waits for it and returns its error.
func (s *system) profile(ctx context.Context, path string, d time.Duration) func() error {
	errc := make(chan error, 1)
	go func() {
		secs := max(int(d/time.Second), 1)
		a, err := s.do(ctx, "GET", fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), adminToken, nil)
		if err == nil && a.status != 200 {
			err = fmt.Errorf("%w: GET /debug/pprof/profile: %d %s", ErrUnexpected, a.status, a.body)
		}
		if err == nil {
			err = os.WriteFile(path, a.body, 0o600)
		}
		errc <- err
	}()
	return func() error { return <-errc }
}
