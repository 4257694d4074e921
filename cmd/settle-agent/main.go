// Command settle-agent is the hospital-side medical-insurance settlement agent.
// This file only parses the command and hands over; each command lives in its own file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one sub-command: its one-line summary and what runs it.
type command struct {
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv is what a command may touch of the outside world, so tests can run commands in-process.
type cmdEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

var commands = map[string]command{
	"demo":        {"run the whole system on this machine with a simulated platform and readers", runDemo},
	"run":         {"run the agent in the foreground", runAgent},
	"install":     {"install the system service", runService("install")},
	"uninstall":   {"remove the system service", runService("uninstall")},
	"start":       {"start the system service", runService("start")},
	"stop":        {"stop the system service", runService("stop")},
	"restart":     {"restart the system service", runService("restart")},
	"status":      {"show the system service's state", runService("status")},
	"doctor":      {"check everything hospital IT needs before go-live", runDoctor},
	"config":      {"print an example configuration (config example) or check one (config check FILE)", runConfig},
	"mapping":     {"check an item-code mapping file or upload it (mapping check [--config FILE] MAPPING | mapping upload [--dry-run])", runMapping},
	"catalogue":   {"sync the platform's catalogues or show their state (catalogue sync | catalogue status)", runCatalogue},
	"queue":       {"look into the durable queue (queue ls | show ID | retry ID | export)", runQueue},
	"sim":         {"run a simulator (sim platform | sim reader --pty | sim ec)", runSim},
	"reader-host": {"drive a card reader for the agent: a vendor library's child (--stdio) or a reader on the cashier's PC (--agent)", runReaderHost},
	"backup":      {"copy the store and its key into a new folder, also while the agent runs (backup [--config FILE] DIR)", runBackup},
	"restore":     {"put a backup back into the data folder while the agent is stopped (restore [--config FILE] [--replace] DIR)", runRestore},
	"cluster":     {"show this machine's group of front-end machines (cluster status; docs/cluster.md)", runCluster},
	"bench":       {"measure this machine (bench queue | bench e2e)", runBench},
	"version":     {"print version, commit and Go version", runVersion},
}

// errUsage marks a command line that was wrong; main prints the usage after it.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cmdEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := runMain(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "settle-agent: unknown command %q; run 'settle-agent help' for the list.\n", args[0])
		return 2
	}
	if err := cmd.run(ctx, env, args[1:]); err != nil {
		var st *exitStatus
		switch {
		case errors.As(err, &st):
			if st.msg != "" {
				fmt.Fprintf(env.stderr, "settle-agent %s: %s\n", args[0], st.msg)
			}
			return st.code
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(env.stderr, "settle-agent %s: %v\nrun 'settle-agent %s --help' for how to use it.\n", args[0], err, args[0])
			return 2
		}
		fmt.Fprintf(env.stderr, "settle-agent %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "settle-agent: hospital-side medical-insurance settlement agent.")
	fmt.Fprintln(w, "\nUsage: settle-agent <command> [flags]; every command has --help.\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}

// newFlags returns a flag set for a command that prints its usage to stderr and
// returns errors rather than exiting.
func newFlags(env *cmdEnv, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("settle-agent "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: settle-agent %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
