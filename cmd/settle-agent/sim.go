package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/settle-agent/settle-agent/platform/sim"
)

// defaultSimListen is where `sim platform` listens unless told otherwise.
const defaultSimListen = "127.0.0.1:8430"

// runSim runs one of the simulators: `sim platform` or `sim reader`.
func runSim(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: which simulator? sim platform [--listen ADDR] [--fixture FILE] | sim reader [--pty]", errUsage)
	}
	switch args[0] {
	case "platform":
		return runSimPlatform(ctx, env, args[1:])
	case "reader":
		return simReader(ctx, env, args[1:])
	case "ec":
		return runSimEC(ctx, env, args[1:])
	case "help", "-h", "--help":
		fmt.Fprintln(env.stderr, "Usage: settle-agent sim platform [--listen ADDR] [--fixture FILE] [--token T --paasid P] [--crypto sm4+sm3 --crypto-app-id ID --crypto-app-secret S ...]")
		fmt.Fprintln(env.stderr, "       settle-agent sim reader [--pty]")
		fmt.Fprintln(env.stderr, "       settle-agent sim ec [--listen ADDR] [--fixture FILE] [--ttl 5m] [--data-string]")
		return flag.ErrHelp
	}
	return fmt.Errorf("%w: unknown simulator %q (platform or reader)", errUsage, args[0])
}

// runSimPlatform serves the simulated provincial platform until ctx ends (Ctrl-C).
func runSimPlatform(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "sim platform", "sim platform [--listen ADDR] [--fixture FILE] [--token T --paasid P]")
	listen := fs.String("listen", defaultSimListen, "address to listen on (host:port; port 0 picks a free one)")
	fixture := fs.String("fixture", "", "fixture file (JSON, see docs/simulator.md); empty: the embedded demo fixture")
	token := fs.String("token", "", "gateway token: when set, every call must carry a valid x-tif-signature (HTTP 401 otherwise)")
	paasid := fs.String("paasid", "", "gateway paasid expected with --token")
	signIn := fs.Bool("require-signin", false, "refuse business calls without a sign_no from 9001")
	seed := fs.Int64("seed", 0, "seed of the fault draws (0: fixed default)")
	verbose := fs.Bool("v", false, "log every fault and business refusal to stderr")
	crypto := addSimCryptoFlags(fs)
	printMapping := fs.Bool("print-mapping", false, "print an item code mapping CSV of the fixture's catalogue (HIS code = hospital code) for [mapping] file, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *paasid != "" && *token == "" {
		return fmt.Errorf("%w: --paasid needs --token", errUsage)
	}
	codec, err := crypto.codec(env.getenv)
	if err != nil {
		return err
	}
	f := sim.DemoFixture()
	source := "embedded demo fixture"
	if *fixture != "" {
		if f, err = sim.LoadFixture(*fixture); err != nil {
			return err
		}
		source = *fixture
	}
	if *printMapping {
		_, err := env.stdout.Write(f.MappingCSV())
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(env.stderr, nil))
	}
	p := sim.New(f, &sim.Options{Token: *token, Paasid: *paasid, RequireSignIn: *signIn, Seed: *seed, Logger: logger, Codec: codec})
	url, stop, err := sim.Start(ctx, *listen, p)
	if err != nil {
		return fmt.Errorf("sim platform: listen on %s: %w", *listen, err)
	}
	fmt.Fprintf(env.stdout, "simulated platform: %s%s\n", url, sim.DefaultPath)
	fmt.Fprintf(env.stdout, "fixture: %s (treatment area %s, %d persons, %d policies, %d catalogue items)\n",
		source, f.TreatmentAdmdvs, len(f.Persons), len(f.Policies), len(f.Items))
	if *token != "" {
		fmt.Fprintf(env.stdout, "signature check: on (paasid %q)\n", *paasid)
	}
	if codec != nil {
		fmt.Fprintf(env.stdout, "国密 envelope: %s (plain, wrongly encrypted or wrongly signed envelopes are refused: 解密失败/验签失败)\n", codec.Describe())
	}
	fmt.Fprintf(env.stdout, "controls: GET %[1]s/sim/ledger, GET|PUT %[1]s/sim/faults, POST %[1]s/sim/reset (loopback only)\n", url)
	fmt.Fprintln(env.stdout, "Ctrl-C stops it.")
	<-ctx.Done()
	if err := stop(); err != nil {
		return fmt.Errorf("sim platform: stop: %w", err)
	}
	return nil
}
