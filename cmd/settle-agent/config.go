package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
)

// runConfig is "config example" (print a commented example configuration) and
// "config check [FILE]" (validate one, the default file when FILE is left out).
func runConfig(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "config", "config example | config check [--env-file FILE] [FILE]\n\n"+
		"  example      print a commented example configuration (no secret values)\n"+
		"  check FILE   validate FILE (default "+config.DefaultPath()+"): every problem with its line;\n"+
		"               env:NAME secrets are looked up in the environment file the service reads\n"+
		"               (\""+config.EnvFileName+"\" beside FILE, when it exists), then in this shell's environment")
	envFile := fs.String("env-file", "", "the environment file with the env:NAME secrets (default: \""+config.EnvFileName+"\" beside FILE when it exists)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
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
		return checkConfig(env, path, *envFile)
	}
	return fmt.Errorf("%w: unknown sub-command %q; say 'config example' or 'config check FILE'", errUsage, rest[0])
}

// checkConfig validates the configuration at path as the service would load it: the
// env:NAME secrets from the environment file the unit reads (envFile, or the one
// beside path), else from this shell's environment.
func checkConfig(env *cmdEnv, path, envFile string) error {
	getenv := env.getenv
	explicit := envFile != ""
	if !explicit {
		envFile = config.EnvFile(path)
	}
	vars, err := config.ReadEnvFile(envFile)
	switch {
	case err == nil:
		fmt.Fprintf(env.stderr, "reading the environment file %s (%d variable%s)\n", envFile, len(vars), plural(len(vars)))
		getenv = func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			return env.getenv(k)
		}
	case explicit || !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("environment file: %w", err)
	}
	c, err := config.Load(path, getenv)
	for _, w := range config.PermissionWarnings(path) {
		fmt.Fprintf(env.stderr, "warning: %s\n", w)
	}
	var verr *config.ValidationError
	if errors.As(err, &verr) {
		for _, line := range verr.Lines() {
			fmt.Fprintln(env.stderr, line)
		}
		n := len(verr.Problems)
		return fmt.Errorf("%s: %d problem%s; fix them and run 'settle-agent config check %s' again", path, n, plural(n), path)
	}
	if err != nil {
		return err
	}
	mapping, err := mappingSummary(env, c.Mapping.File)
	if err != nil {
		return fmt.Errorf("%s: [mapping] file %w; fix it and run 'settle-agent config check %s' again", path, err, path)
	}
	fmt.Fprintf(env.stdout, "ok: %s (%d window%s, platform %s, offline policy %s, api %s, store %s, %s)\n",
		path, len(c.Windows), plural(len(c.Windows)), c.Platform.BaseURL, c.Offline.Policy, c.API.Listen, c.Store.Dir, mapping)
	return nil
}

// mappingSummary reads the item code mapping the agent would load at start and
// says how many codes it holds; a file the agent would refuse is an error, its
// problems printed by line on stderr.
func mappingSummary(env *cmdEnv, file string) (string, error) {
	if file == "" {
		return "no item mapping: HIS codes are sent as national codes", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	m, err := hisadapter.ParseMapping(bytes.NewReader(b))
	if err != nil {
		hisadapter.CheckMapping(bytes.NewReader(b), env.stderr, "en")
		return "", fmt.Errorf("%s is not usable (the lines above)", file)
	}
	if m.Codes() == 0 {
		return "", fmt.Errorf("%s holds no codes", file)
	}
	return fmt.Sprintf("mapping %s: %d codes", file, m.Codes()), nil
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
