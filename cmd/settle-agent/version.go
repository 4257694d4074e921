package main

import (
	"context"
	"fmt"

	"github.com/settle-agent/settle-agent/installer"
)

// runVersion prints "settle-agent VERSION (commit C) go1.x os/arch".
func runVersion(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "version", "version\n\nPrints the version, the commit it was built from, the Go version and the platform.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	fmt.Fprintln(env.stdout, installer.VersionLine())
	return nil
}
