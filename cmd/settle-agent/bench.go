package main

import (
	"context"
	"fmt"
)

// runBench dispatches `bench queue` and `bench e2e`.
func runBench(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.stderr, "Usage: settle-agent bench queue [--json] | bench e2e [--json]\n\nMeasures this machine; --json prints one JSON object on the last line.")
		if len(args) == 0 {
			return fmt.Errorf("%w: which benchmark? queue or e2e", errUsage)
		}
		return nil
	}
	switch args[0] {
	case "queue":
		return benchQueue(ctx, env, args[1:])
	case "e2e":
		return benchE2E(ctx, env, args[1:])
	}
	return fmt.Errorf("%w: unknown benchmark %q (queue or e2e)", errUsage, args[0])
}
