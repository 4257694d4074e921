// Package bench is the end-to-end benchmark behind `settle-agent bench e2e`: the agent
// runs as a child process (so that its memory is measured alone) against the simulated
// provincial platform served from this process on loopback, and the benchmark drives
// the cashier API as the windows of a busy hospital would.
//
// It measures, in one run on one disk: full settlement chains per second with 50
// windows and their p99 latency; the agent's own time per request on top of the
// platform's (the Server-Timing header); how fast a backlog of queued bills drains
// when the platform comes back; the agent's resident memory idle and at its peak; and
// how long the agent takes to start on the store the run left behind.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Errors of the benchmark.
var (
	// ErrAgentExited means the agent's process ended while the benchmark needed it.
	ErrAgentExited = errors.New("the agent process exited")
	// ErrUnexpected means the agent answered a request with a status the workflow does
	// not allow at that point (the benchmark then stops: its figures would be wrong).
	ErrUnexpected = errors.New("unexpected answer from the agent")
	// ErrLedger means the simulator's ledger disagrees with what the agent answered:
	// a bill settled twice, or a settled bill missing.
	ErrLedger = errors.New("the platform's ledger disagrees with the agent")
)

// Options configure Run. The zero value of each field means its default.
type Options struct {
	// Dir is the folder on the data disk for the run's store (a temporary sub-folder
	// is made and removed). Default: os.TempDir().
	Dir string
	// Windows is the number of cashier windows working at once. Default 50.
	Windows int
	// Load is how long the windows settle bills online. Default 10 s.
	Load time.Duration
	// Backlog is the number of bills queued while the platform is down. Default 100,000.
	Backlog int
	// Pace is the rate, in chains per second per window, at which the windows work
	// while overhead_p99_ms is measured. Default 2 (100 chains/s with 50 windows).
	Pace float64
	// SyncConcurrency is [sync] concurrency of the agent. Default 64: a backlog after an outage is drained by 64 bills in flight.
	SyncConcurrency int
	// AgentCommand returns the command that runs the agent on a configuration file
	// (`settle-agent run --config FILE`). Required.
	AgentCommand func(configPath string) *exec.Cmd
	// SimCommand returns the command that serves the simulated platform (demo fixture,
	// fault seed 1) on listen (`settle-agent sim platform --listen ADDR --seed 1`), so
	// that the platform's CPU is measured apart from the windows'. Nil: the platform is
	// served from this process and its CPU counts with the windows'.
	SimCommand func(listen string) *exec.Cmd
	// Fsync measures the raw fsync rate of a plain file at path for about d (the
	// machine's baseline). Nil: not measured.
	Fsync func(ctx context.Context, path string, d time.Duration) (float64, error)
	// Out receives the human lines as the run goes. Nil: discarded.
	Out io.Writer
	// ProfileDir, when set, receives CPU profiles of the agent (its /debug/pprof with
	// the admin token) taken during the online load (load.pprof) and the drain
	// (drain.pprof), for `go tool pprof`.
	ProfileDir string
	// Keep leaves the temporary folder in place (its path is printed).
	Keep bool
	// Cluster, when 3 (or more), runs a group of that many agents on embedded etcd
	// on this machine instead of one agent (`bench e2e --cluster 3`, group.go).
	Cluster int
}

// Result is what `bench e2e --json` prints; the first eight names are cli.md's contract.
type Result struct {
	Windows       int     `json:"windows"`
	SettlePerS    float64 `json:"settle_per_s"`
	SettleP99Ms   float64 `json:"settle_p99_ms"`
	OverheadP99Ms float64 `json:"overhead_p99_ms"`
	DrainPerS     float64 `json:"drain_per_s"`
	Backlog       int     `json:"backlog"`
	RSSMaxMB      float64 `json:"rss_max_mb"`
	IdleRSSMB     float64 `json:"idle_rss_mb"`

	StartupMs              float64 `json:"startup_ms"`
	StartupRecords         int     `json:"startup_records"`
	FsyncPerS              float64 `json:"fsync_per_s"`
	Chains                 int     `json:"chains"`
	PacedChains            int     `json:"paced_chains"`
	OverheadP50Ms          float64 `json:"overhead_p50_ms"`
	AnonMaxMB              float64 `json:"rss_anon_max_mb"`
	PacedPerS              float64 `json:"paced_per_s"`
	SaturatedOverheadP99Ms float64 `json:"saturated_overhead_p99_ms"`
	ChainOverheadP99       float64 `json:"chain_overhead_p99_ms"`
	PlatformP99Ms          float64 `json:"platform_p99_ms"`
	DrainRSSStartMB        float64 `json:"drain_rss_start_mb"`
	DrainRSSEndMB          float64 `json:"drain_rss_end_mb"`
	DrainRSSMaxMB          float64 `json:"drain_rss_max_mb"`
	BacklogFillPerS        float64 `json:"backlog_fill_per_s"`
	RSSSupported           bool    `json:"rss_supported"`
	StoreBytes             int64   `json:"store_bytes"`
	DurationS              float64 `json:"duration_s"`

	// CPU (user + system) per full chain during the saturated load: the agent's alone
	// (its own process), the platform's (0 unless it runs as a child), and this
	// process's (the windows' clients, and the platform when it runs in process).
	AgentCPUMsPerChain  float64 `json:"agent_cpu_ms_per_chain"`
	SimCPUMsPerChain    float64 `json:"sim_cpu_ms_per_chain"`
	ClientCPUMsPerChain float64 `json:"client_cpu_ms_per_chain"`
	// The same per bill while the backlog drains.
	DrainAgentCPUMsPerBill float64 `json:"drain_agent_cpu_ms_per_bill"`
	DrainSimCPUMsPerBill   float64 `json:"drain_sim_cpu_ms_per_bill"`
	SimSeparate            bool    `json:"sim_separate_process"`
	// StoreBytesPerBill is the store file's size after the run over the bills it holds.
	StoreBytesPerBill float64 `json:"store_bytes_per_bill"`
	// The machine's 1-minute load average when the run began and when the load ended
	// (other work on the machine lowers every figure).
	LoadAvgStart float64 `json:"load_avg_start"`
	LoadAvgLoad  float64 `json:"load_avg_load"`
	// Cluster is the number of agents of the group (0: one agent on bbolt).
	Cluster int `json:"cluster,omitempty"`
}

func (o *Options) withDefaults() Options {
	c := *o
	if c.Dir == "" {
		c.Dir = os.TempDir()
	}
	if c.Windows <= 0 {
		c.Windows = 50
	}
	if c.Load <= 0 {
		c.Load = 10 * time.Second
	}
	if c.Backlog <= 0 {
		c.Backlog = 100_000
	}
	if c.Pace <= 0 {
		c.Pace = 2
	}
	if c.SyncConcurrency <= 0 {
		c.SyncConcurrency = 64
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// Run runs the whole benchmark: baseline fsync, idle memory, online load, backlog
// fill and drain, restart on the full store. It checks the simulator's ledger at the
// end: every bill the agent called settled is booked exactly once.
func Run(ctx context.Context, o *Options) (*Result, error) {
	opt := o.withDefaults()
	if opt.AgentCommand == nil {
		return nil, errors.New("bench: Options.AgentCommand is required")
	}
	began := time.Now()
	tmp, err := os.MkdirTemp(opt.Dir, "settle-agent-bench-e2e-")
	if err != nil {
		return nil, fmt.Errorf("bench e2e: make a folder in %s: %w (choose a writable one with --dir)", opt.Dir, err)
	}
	if opt.Keep {
		fmt.Fprintf(opt.Out, "data folder kept at %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	r := &run{opt: opt, dir: tmp, res: &Result{Windows: opt.Windows, Backlog: opt.Backlog, Cluster: opt.Cluster}}
	defer r.close()
	if err := r.all(ctx); err != nil {
		return nil, err
	}
	r.res.DurationS = time.Since(began).Seconds()
	return r.res, nil
}

// run is one benchmark run: its folder, simulator, agent processes and figures.
type run struct {
	opt  Options
	dir  string
	res  *Result
	plat *simPlatform
	// systems and procs are the agents (one, or the nodes of a group); sys and proc
	// are the first, which the benchmark asks for the queue and the bills.
	systems []*system
	procs   []*agentProc
	proc    *agentProc
	sys     *system
}

func (r *run) say(format string, a ...any) { fmt.Fprintf(r.opt.Out, format+"\n", a...) }

func (r *run) close() {
	_ = r.stopAll(10 * time.Second)
	if r.plat != nil {
		_ = r.plat.close()
	}
}

func (r *run) all(ctx context.Context) error {
	res := r.res
	r.say("bench e2e in %s (%d windows, %s load, backlog %d)", r.dir, r.opt.Windows, r.opt.Load, r.opt.Backlog)
	if r.opt.Cluster > 0 {
		r.say("a group of %d agents on embedded etcd on this machine; window w talks to node w mod %d; CPU summed over the nodes, memory of the largest", r.opt.Cluster, r.opt.Cluster)
	}
	if r.opt.Fsync != nil {
		f, err := r.opt.Fsync(ctx, filepath.Join(r.dir, "fsync.bin"), time.Second)
		if err != nil {
			return fmt.Errorf("bench e2e: fsync: %w", err)
		}
		res.FsyncPerS = f
		r.say("fsync baseline  %8.0f /s   (%.3f ms each; 4 KiB write + fsync on a plain file on this disk)", f, 1000/f)
	}

	res.LoadAvgStart, _ = readLoadAvg()
	plat, err := startPlatform(ctx, r.dir, r.opt)
	if err != nil {
		return err
	}
	r.plat, res.SimSeparate = plat, plat.proc != nil
	if r.opt.Cluster > 0 {
		r.systems, err = newGroupSystems(r.dir, plat.url, r.opt)
	} else {
		var s *system
		s, err = newSystem(r.dir, plat.url, r.opt, "", "")
		r.systems = []*system{s}
	}
	if err != nil {
		return err
	}
	if err := r.start(ctx); err != nil {
		return err
	}
	_, _, res.RSSSupported = readRSS(r.proc.pid())
	if !res.RSSSupported {
		r.say("memory: not measured on this OS (reads /proc/<pid>/status on Linux); reported as 0")
	}

	// Idle: started, signed in, nothing to do yet.
	if err := r.waitOnlineAll(ctx, true); err != nil {
		return err
	}
	var idle int64
	for _, p := range r.procs {
		idle = max(idle, p.rss.settle(ctx, time.Second))
	}
	res.IdleRSSMB = mb(idle)
	r.say("idle RSS        %8.1f MB   (target <= 25: %s)", res.IdleRSSMB, verdict(res.IdleRSSMB <= 25))

	if err := r.load(ctx); err != nil {
		return err
	}
	if err := r.backlog(ctx); err != nil {
		return err
	}
	peak, anon := r.rssMax()
	res.RSSMaxMB, res.AnonMaxMB = mb(peak), mb(anon)
	r.say("RSS max         %8.1f MB   (whole run before restart; target <= 80: %s)", res.RSSMaxMB, verdict(res.RSSMaxMB <= 80))
	r.say("  of it anonymous at most %.1f MB (heap, stacks: RssAnon); the rest is the store file bbolt maps, page cache the kernel can drop", res.AnonMaxMB)
	if err := r.restart(ctx); err != nil {
		return err
	}
	return r.checkLedger(ctx)
}

// start starts the agents and waits until they answer (a group: until it is ready).
func (r *run) start(ctx context.Context) error {
	if err := r.startAll(ctx); err != nil {
		_ = r.stopAll(5 * time.Second)
		return err
	}
	if r.opt.Cluster > 0 {
		return r.waitReady(ctx)
	}
	return nil
}

// restart stops the agent (SIGTERM) and times a start on the store the run filled.
func (r *run) restart(ctx context.Context) error {
	if err := r.stopAll(30 * time.Second); err != nil {
		return fmt.Errorf("bench e2e: stop the agent: %w", err)
	}
	if fi, err := os.Stat(r.sys.storePath()); err == nil {
		r.res.StoreBytes = fi.Size()
	}
	if bills := r.res.Chains + r.res.PacedChains + r.res.Backlog; bills > 0 {
		r.res.StoreBytesPerBill = float64(r.res.StoreBytes) / float64(bills)
		r.say("store           %8.0f B per bill (%d bytes for %d settled bills; target <= 1500: %s)",
			r.res.StoreBytesPerBill, r.res.StoreBytes, bills, verdict(r.res.StoreBytesPerBill <= 1500))
	}
	t0 := time.Now()
	if err := r.start(ctx); err != nil {
		return fmt.Errorf("bench e2e: restart: %w", err)
	}
	r.res.StartupMs = ms(time.Since(t0))
	r.res.StartupRecords = r.res.Chains + r.res.PacedChains + r.res.Backlog
	r.say("startup         %8.0f ms   (process start to /healthz on a store of %d bills, %.0f MB; target <= 1000: %s)",
		r.res.StartupMs, r.res.StartupRecords, float64(r.res.StoreBytes)/(1<<20), verdict(r.res.StartupMs <= 1000))
	return nil
}

// checkLedger compares the simulator's ledger with the run: every bill settled once.
func (r *run) checkLedger(ctx context.Context) error {
	settled, err := r.plat.settled(ctx)
	if err != nil {
		return err
	}
	rep, err := r.plat.repeatedMsgids(ctx)
	if err != nil {
		return err
	}
	twice := 0
	for _, n := range settled {
		if n > 1 {
			twice++
		}
	}
	if len(rep) > 0 {
		return fmt.Errorf("%w: %d msgids were sent twice", ErrLedger, len(rep))
	}
	want := r.res.Chains + r.res.PacedChains + r.res.Backlog
	if twice > 0 || len(settled) != want {
		return fmt.Errorf("%w: %d bills booked, %d of them more than once; want %d booked once", ErrLedger, len(settled), twice, want)
	}
	r.say("ledger          %8d bills booked exactly once at the platform ✓", len(settled))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuSample is the CPU time the agent, the platform and this process had used at one
// moment; ok is false where it cannot be read (outside Linux).
type cpuSample struct {
	agent, sim, self time.Duration
	ok               bool
}

func (r *run) cpuNow() cpuSample {
	var a time.Duration
	ok1 := true
	for _, p := range r.procs {
		c, ok := readCPU(p.pid())
		a, ok1 = a+c, ok1 && ok
	}
	s, ok2 := readCPU(r.plat.pid())
	m, ok3 := readCPU(os.Getpid())
	return cpuSample{agent: a, sim: s, self: m, ok: ok1 && ok2 && ok3}
}

// perUnit is the CPU each part used between c0 and c1, in ms per unit of work n; the
// platform's is 0 when it runs in this process (its CPU is then in self's).
func (r *run) perUnit(c0, c1 cpuSample, n int) (agent, platform, self float64) {
	if !c0.ok || !c1.ok || n <= 0 {
		return 0, 0, 0
	}
	per := func(d time.Duration) float64 { return ms(d) / float64(n) }
	agent, self = per(c1.agent-c0.agent), per(c1.self-c0.self)
	if r.plat.proc != nil {
		platform = per(c1.sim - c0.sim)
	}
	return agent, platform, self
}
