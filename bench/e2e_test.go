package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// envAgent makes the test binary run the agent on the configuration it names (the
// child process of the benchmark); "fail" makes it exit at once with status 1.
const envAgent = "SETTLE_BENCH_TEST_AGENT"

// envSim makes the test binary serve the simulated platform on the address it names
// until SIGTERM (the benchmark's platform in a process of its own).
const envSim = "SETTLE_BENCH_TEST_SIM"

func TestMain(m *testing.M) {
	if path := os.Getenv(envAgent); path != "" {
		os.Exit(runChildAgent(path))
	}
	if listen := os.Getenv(envSim); listen != "" {
		os.Exit(runChildSim(listen))
	}
	os.Exit(m.Run())
}

func runChildAgent(path string) int {
	if path == "fail" {
		fmt.Fprintln(os.Stderr, "child: told to fail")
		return 1
	}
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var out io.Writer = io.Discard
	if f, err := os.OpenFile(cfg.Log.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		defer f.Close()
		out = f
	}
	a, err := agent.New(cfg, &agent.Options{Logger: slog.New(slog.NewTextHandler(out, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func runChildSim(listen string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, stopSim, err := sim.Start(ctx, listen, sim.New(sim.DemoFixture(), &sim.Options{Seed: 1}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-ctx.Done()
	if err := stopSim(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// childSim runs this test binary as the simulated platform.
func childSim(listen string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envSim+"="+listen)
	return cmd
}

// childAgent runs this test binary as the agent.
func childAgent(config string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envAgent+"="+config)
	return cmd
}

func TestRun_Small(t *testing.T) {
	var out strings.Builder
	fsyncCalled := false
	res, err := Run(context.Background(), &Options{
		Dir: t.TempDir(), Windows: 4, Load: 300 * time.Millisecond, Backlog: 120, SyncConcurrency: 8,
		AgentCommand: childAgent, SimCommand: childSim, Out: &out, ProfileDir: t.TempDir(),
		Fsync: func(ctx context.Context, path string, d time.Duration) (float64, error) {
			fsyncCalled = true
			return 1000, nil
		},
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	if res.Windows != 4 || res.Backlog != 120 || !fsyncCalled || res.FsyncPerS != 1000 {
		t.Errorf("got windows %d, backlog %d, fsync %v %v; want 4, 120, true 1000", res.Windows, res.Backlog, fsyncCalled, res.FsyncPerS)
	}
	if res.Chains == 0 || res.SettlePerS <= 0 || res.SettleP99Ms <= 0 || res.OverheadP99Ms <= 0 || res.PlatformP99Ms <= 0 {
		t.Errorf("online figures: got %d chains, %v /s, p99 %v ms, overhead %v ms, platform %v ms; want all > 0",
			res.Chains, res.SettlePerS, res.SettleP99Ms, res.OverheadP99Ms, res.PlatformP99Ms)
	}
	if res.PacedChains == 0 || res.PacedPerS <= 0 || res.SaturatedOverheadP99Ms <= 0 {
		t.Errorf("paced: got %d chains, %v /s, saturated overhead %v ms; want all > 0", res.PacedChains, res.PacedPerS, res.SaturatedOverheadP99Ms)
	}
	if res.SaturatedOverheadP99Ms > res.SettleP99Ms {
		t.Errorf("saturated overhead p99 %v ms above the chain p99 %v ms; want at most", res.SaturatedOverheadP99Ms, res.SettleP99Ms)
	}
	if res.DrainPerS <= 0 || res.StartupMs <= 0 || res.StartupRecords != res.Chains+res.PacedChains+120 || res.StoreBytes <= 0 {
		t.Errorf("got drain %v /s, startup %v ms on %d records, store %d bytes; want > 0, %d records",
			res.DrainPerS, res.StartupMs, res.StartupRecords, res.StoreBytes, res.Chains+res.PacedChains+120)
	}
	if runtime.GOOS == "linux" && (!res.RSSSupported || res.IdleRSSMB <= 0 || res.RSSMaxMB < res.IdleRSSMB) {
		t.Errorf("memory: got supported %v, idle %v MB, max %v MB; want idle > 0 and max >= idle", res.RSSSupported, res.IdleRSSMB, res.RSSMaxMB)
	}
	if !res.SimSeparate || res.StoreBytesPerBill != float64(res.StoreBytes)/float64(res.StartupRecords) {
		t.Errorf("got platform apart %v, store %v B per bill; want true, %d / %d", res.SimSeparate, res.StoreBytesPerBill, res.StoreBytes, res.StartupRecords)
	}
	// CPU is read in 10 ms ticks: a short phase may round to 0, the agent's whole work not.
	if cpu := []float64{res.AgentCPUMsPerChain, res.SimCPUMsPerChain, res.ClientCPUMsPerChain, res.DrainAgentCPUMsPerBill, res.DrainSimCPUMsPerBill}; slices.Min(cpu) < 0 ||
		runtime.GOOS == "linux" && res.AgentCPUMsPerChain+res.DrainAgentCPUMsPerBill <= 0 {
		t.Errorf("CPU: got agent %v, platform %v, clients %v ms per chain, agent %v and platform %v ms per drained bill; want none < 0, the agent's > 0",
			cpu[0], cpu[1], cpu[2], cpu[3], cpu[4])
	}
	for _, name := range []string{"load.pprof", "drain.pprof"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("output does not name profile %s:\n%s", name, out.String())
		}
	}
}

// The JSON carries every name cli.md fixes for `bench e2e`.
func TestResult_JSONNames(t *testing.T) {
	data, err := json.Marshal(Result{})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"windows", "settle_per_s", "settle_p99_ms", "overhead_p99_ms", "drain_per_s", "backlog", "rss_max_mb", "idle_rss_mb", "startup_ms", "fsync_per_s", "agent_cpu_ms_per_chain", "store_bytes_per_bill"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON %s lacks %q", data, k)
		}
	}
}

func TestRun_AgentExits(t *testing.T) {
	_, err := Run(context.Background(), &Options{
		Dir: t.TempDir(), Windows: 1, Backlog: 1,
		AgentCommand: func(string) *exec.Cmd { return childAgent("fail") },
	})
	if !errors.Is(err, ErrAgentExited) {
		t.Fatalf("got %v; want ErrAgentExited", err)
	}
}

func TestRun_NoAgentCommand(t *testing.T) {
	if _, err := Run(context.Background(), &Options{Dir: t.TempDir()}); err == nil {
		t.Fatal("got nil error; want one for the missing AgentCommand")
	}
}

func TestP99(t *testing.T) {
	d := make([]time.Duration, 200)
	for i := range d {
		d[i] = time.Duration(200-i) * time.Millisecond
	}
	if got := p99(d); got != 199*time.Millisecond {
		t.Errorf("p99 of 1..200 ms: got %v; want 199ms", got)
	}
	if !slices.IsSorted(d) {
		t.Error("p99 left the slice unsorted; want sorted")
	}
	if got := p99(nil); got != 0 {
		t.Errorf("p99 of nothing: got %v; want 0", got)
	}
}
