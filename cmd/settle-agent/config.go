package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/settle-agent/settle-agent/config"
)

// runConfig is "config example" (print a commented example configuration) and
// "config check [FILE]" (validate one, the default file when FILE is left out).
func runConfig(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "config", "config example | config check [FILE]\n\n"+
		"  example      print a commented example configuration (no secret values)\n"+
		"  check FILE   validate FILE (default "+config.DefaultPath()+"): every problem with its line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return fmt.Errorf("%w: say 'config example' or 'config check FILE'", errUsage)
	}
	switch rest[0] {
	case "example":
		if len(rest) > 1 {
			return fmt.Errorf("%w: 'config example' takes no arguments", errUsage)
		}
		fmt.Fprint(env.stdout, config.Example())
		return nil
	case "check":
		path := config.DefaultPath()
		switch len(rest) {
		case 1:
		case 2:
			path = rest[1]
		default:
			return fmt.Errorf("%w: 'config check' takes one FILE", errUsage)
		}
		return checkConfig(env, path)
	}
	return fmt.Errorf("%w: unknown sub-command %q; say 'config example' or 'config check FILE'", errUsage, rest[0])
}

func checkConfig(env *cmdEnv, path string) error {
	c, err := config.Load(path, env.getenv)
	for _, w := range config.PermissionWarnings(path) {
		fmt.Fprintf(env.stderr, "warning: %s\n", w)
	}
	var verr *config.ValidationError
	if errors.As(err, &verr) {
		for _, line := range verr.Lines() {
			fmt.Fprintln(env.stderr, line)
		}
		n := len(verr.Problems)
		plural := "s"
		if n == 1 {
			plural = ""
		}
		return fmt.Errorf("%s: %d problem%s; fix them and run 'settle-agent config check %s' again", path, n, plural, path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "ok: %s (%d windows, platform %s, offline policy %s, api %s, store %s)\n",
		path, len(c.Windows), c.Platform.BaseURL, c.Offline.Policy, c.API.Listen, c.Store.Dir)
	return nil
}
