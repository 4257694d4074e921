package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/settle-agent/settle-agent/bench"
)

const benchE2ESynopsis = `bench e2e [--json] [--quick] [--cluster 3] [--dir DIR] [--windows N] [--load D] [--backlog N] [--pace R] [--sync-concurrency N] [--profile DIR] [--keep]

Runs the agent (this binary, 'run --config' on a generated configuration) against the
simulated platform (this binary, 'sim platform', a process of its own) on loopback, in a temporary folder on the data disk, and measures
settlements/s and p99 with N windows, the agent's own time per request, the drain of a
backlog queued offline, the CPU the agent, the platform and the windows spend per
chain, the store's bytes per bill, the agent's memory and its startup time.
--cluster 3 measures the same for a group of three agents on embedded etcd on this
machine (docs/cluster.md). --json prints one JSON object on the last line.`

// benchE2E is `settle-agent bench e2e`; the work is in package bench.
func benchE2E(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "bench e2e", benchE2ESynopsis)
	asJSON := fs.Bool("json", false, "print one JSON object on the last line")
	quick := fs.Bool("quick", false, "a short run for trying: backlog 5000, 3 s load")
	dir := fs.String("dir", "", "folder on the data disk (default: the system temp folder); a temporary sub-folder is removed afterwards")
	windows := fs.Int("windows", 50, "cashier windows working at once")
	load := fs.Duration("load", 10*time.Second, "how long the windows settle online")
	backlog := fs.Int("backlog", 100000, "bills queued while the platform is down, then drained")
	pace := fs.Float64("pace", 2, "chains per second per window while overhead_p99_ms is measured (the windows are not saturated then)")
	conc := fs.Int("sync-concurrency", 64, "the agent's [sync] concurrency")
	keep := fs.Bool("keep", false, "keep the temporary folder (store, agent log, configuration)")
	group := fs.Int("cluster", 0, "run a group of this many agents (3) on embedded etcd instead of one agent")
	profile := fs.String("profile", "", "folder for CPU profiles of the agent during the load and the drain (load.pprof, drain.pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *windows < 1 || *windows > 99 || *backlog < 1 || *load <= 0 || *pace <= 0 || (*group != 0 && (*group < 3 || *group > 9)) {
		return fmt.Errorf("%w: want only flags, --windows 1..99, --backlog >= 1, --load > 0, --pace > 0, --cluster 3..9", errUsage)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["backlog"] {
			*backlog = 5000
		}
		if !set["load"] {
			*load = 3 * time.Second
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench e2e: find this program to run the agent: %w", err)
	}
	res, err := bench.Run(ctx, &bench.Options{
		Dir: *dir, Windows: *windows, Load: *load, Backlog: *backlog, SyncConcurrency: *conc, Pace: *pace, Keep: *keep, ProfileDir: *profile,
		Cluster:      *group,
		AgentCommand: func(config string) *exec.Cmd { return exec.Command(exe, "run", "--config", config) },
		SimCommand: func(listen string) *exec.Cmd {
			return exec.Command(exe, "sim", "platform", "--listen", listen, "--seed", "1")
		},
		Fsync: measureFsync,
		Out:   env.stdout,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintf(env.stdout, "%s\n", b)
	}
	return nil
}
