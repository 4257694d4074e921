package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/installer"
)

// serviceSynopsis is each service command's usage line and what it does.
var serviceSynopsis = map[string]string{
	"install": "install [--config FILE] [--user NAME] [--data-dir DIR]\n\n" +
		"Registers settle-agent as a system service that starts at boot and restarts after a failure\n" +
		"(systemd unit on Linux, Windows service). Creates the service account (Linux), the\n" +
		"configuration and data folders with tight permissions; the configuration file must exist.\n" +
		"Needs root (sudo) or an Administrator prompt. Start it afterwards with 'settle-agent start'.",
	"uninstall": "uninstall\n\nStops and removes the system service; keeps the configuration and the data folder.",
	"start":     "start\n\nStarts the installed service.",
	"stop":      "stop\n\nStops the service; the agent finishes in-flight calls and closes its store first.",
	"restart":   "restart\n\nStops and starts the service, e.g. after editing the configuration.",
	"status":    "status\n\nPrints running, stopped or not installed.",
}

func runService(action string) func(ctx context.Context, env *cmdEnv, args []string) error {
	return func(ctx context.Context, env *cmdEnv, args []string) error {
		fs := newFlags(env, action, serviceSynopsis[action])
		places := installer.DefaultPlaces()
		var configPath, userName, dataDir string
		configPath = places.ConfigFile
		if action == "install" {
			fs.StringVar(&configPath, "config", places.ConfigFile, "configuration file the service runs with")
			fs.StringVar(&userName, "user", "", "account the service runs as (default: settle-agent on Linux, created if missing; NT AUTHORITY\\LocalService on Windows)")
			fs.StringVar(&dataDir, "data-dir", "", "data folder the service may write (default: the configuration's [store] dir, else "+places.DataDir+")")
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
		}
		log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{ReplaceAttr: dropCLITime}))
		if action == "install" && dataDir == "" {
			dataDir = storeDir(configPath, env, log)
		}
		svc, err := installer.New(installer.Options{
			ConfigPath: configPath,
			UserName:   userName,
			DataDir:    dataDir,
			Logger:     log,
		})
		if err != nil {
			return err
		}
		if action == "status" {
			st, err := svc.Status()
			if err != nil {
				return fmt.Errorf("%w; is the service manager running?", err)
			}
			fmt.Fprintln(env.stdout, st)
			return nil
		}
		if err := svc.Control(action); err != nil {
			return err
		}
		printDone(env.stdout, action, svc.Options())
		return nil
	}
}

// storeDir reads the configuration's [store] dir so the folder install gives to
// the service account is the one the agent writes. A configuration that does not
// load yet is reported and the default is used.
func storeDir(path string, env *cmdEnv, log *slog.Logger) string {
	c, err := config.Load(path, env.getenv)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("the configuration has problems; fix them before 'settle-agent start' (settle-agent config check "+path+")", "err", err)
	}
	if c != nil {
		return c.Store.Dir
	}
	return ""
}

func printDone(w io.Writer, action string, o installer.Options) {
	switch action {
	case "install":
		fmt.Fprintf(w, "installed service %s: runs %s run --config %s as %s, data in %s\nstart it with: settle-agent start\n",
			o.Name, o.Executable, o.ConfigPath, o.UserName, o.DataDir)
	case "uninstall":
		fmt.Fprintf(w, "removed service %s; kept %s and %s\n", o.Name, o.ConfigPath, o.DataDir)
	default:
		fmt.Fprintf(w, "%s: %s done\n", o.Name, action)
	}
}

// dropCLITime leaves the time out of what a person reads on the terminal.
func dropCLITime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
