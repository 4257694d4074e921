package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/installer"
)

// serviceSynopsis is each service command's usage line and what it does.
var serviceSynopsis = map[string]string{
	"install": "install [--config FILE] [--user NAME] [--data-dir DIR]\n\n" +
		"Registers settle-agent as a system service that starts at boot and restarts after a failure\n" +
		"(systemd unit on Linux, Windows service). The configuration file must exist and load; install\n" +
		"checks it before it creates anything. Then it creates the service account (Linux, systemd), the\n" +
		"configuration and data folders with tight permissions; the account joins the serial port groups\n" +
		"only when the configuration names a card reader or scanner. Under an init other than systemd\n" +
		"the service runs as root, and install says so.\n" +
		"Needs root (sudo) or an Administrator prompt. Start it afterwards with 'settle-agent start'.",
	"uninstall": "uninstall\n\nStops and removes the system service (the unit file or init script and its links);\n" +
		"keeps the configuration, the data folder and the account, and names each.",
	"start": "start\n\nStarts the installed service and waits until the agent answers GET /healthz at its [api] listen;\n" +
		"exits non-zero with the log's last lines when it does not come up.",
	"stop":    "stop\n\nStops the service; the agent finishes in-flight calls and closes its store first.",
	"restart": "restart\n\nStops and starts the service, e.g. after editing the configuration, and waits as start does.",
	"status": "status\n\nPrints running, stopped or not installed; exit status 0, " +
		fmt.Sprint(exitStopped) + " or " + fmt.Sprint(exitNotInstalled) + " (as LSB init scripts and systemctl do).",
}

// Exit statuses of `settle-agent status` other than 0 (running), as LSB init
// scripts answer "status": 3 program is not running, 4 status unknown (here: no
// such service).
const (
	exitStopped      = 3
	exitNotInstalled = 4
)

// exitStatus is an error that ends the program with its own exit status; an
// empty message prints nothing more.
type exitStatus struct {
	code int
	msg  string
}

func (e *exitStatus) Error() string { return e.msg }

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
		o := installer.Options{ConfigPath: configPath, UserName: userName, DataDir: dataDir, Logger: log}
		if action == "install" {
			cfg, err := installConfig(configPath, env)
			if err != nil {
				return err
			}
			if cfg != nil {
				if o.DataDir == "" {
					o.DataDir = cfg.Store.Dir
				}
				o.SerialPorts = serialPorts(cfg)
			}
		}
		svc, err := installer.New(o)
		if err != nil {
			return err
		}
		switch action {
		case "status":
			return serviceStatus(env, svc)
		case "uninstall":
			inst, err := svc.Uninstall(ctx)
			if err != nil {
				return err
			}
			if inst.DataDir == "" && inst.ConfigPath != "" {
				// Not recorded (Windows): the data folder is the one the
				// configuration names.
				if c, _ := config.Load(inst.ConfigPath, env.getenv); c != nil {
					inst.DataDir = c.Store.Dir
				}
			}
			fmt.Fprintln(env.stdout, inst.Report())
			return nil
		case "start", "restart":
			if svc, err = withReadiness(svc, o, env, log); err != nil {
				return err
			}
		}
		if err := svc.Control(ctx, action); err != nil {
			return err
		}
		printDone(env.stdout, action, svc.Options())
		return nil
	}
}

// serviceStatus prints the status word and ends with its exit status.
func serviceStatus(env *cmdEnv, svc *installer.Service) error {
	st, err := svc.Status()
	if err != nil {
		return fmt.Errorf("%w; is the service manager running?", err)
	}
	fmt.Fprintln(env.stdout, st)
	switch st {
	case installer.StatusStopped:
		return &exitStatus{code: exitStopped}
	case installer.StatusNotInstalled:
		return &exitStatus{code: exitNotInstalled}
	}
	return nil
}

// installConfig loads the configuration install is given, so that install
// refuses one the agent would refuse, before it creates anything. A missing
// file is left to the installer (ErrNoConfig); secrets that are not available
// in this shell (env: set only in the service's environment file) are warned
// about, not refused.
func installConfig(path string, env *cmdEnv) (*config.Config, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil
	}
	c, err := config.Load(path, env.getenv)
	var verr *config.ValidationError
	switch {
	case errors.As(err, &verr):
		var other []string
		for i, line := range verr.Lines() {
			if verr.Problems[i].IsSecret() {
				fmt.Fprintf(env.stderr, "warning: %s (the service needs it: set it in its environment file, see docs/install.md)\n", line)
				continue
			}
			other = append(other, line)
		}
		if len(other) > 0 {
			for _, line := range other {
				fmt.Fprintln(env.stderr, line)
			}
			return nil, fmt.Errorf("%s: %d problem%s; nothing was installed: fix them (settle-agent config check %s), then run install again",
				path, len(other), plural(len(other)), path)
		}
	case err != nil:
		return nil, fmt.Errorf("%v; nothing was installed", err)
	}
	if rel := relativePaths(c); len(rel) > 0 {
		for _, line := range rel {
			fmt.Fprintln(env.stderr, line)
		}
		return nil, fmt.Errorf("%s: %d relative path%s; nothing was installed: the service does not run from this folder, so write absolute paths, then run install again",
			path, len(rel), plural(len(rel)))
	}
	return c, nil
}

// relativePaths names the paths of the configuration that are relative: fine for
// `run` in a folder, wrong for a service, which starts elsewhere.
func relativePaths(c *config.Config) []string {
	var out []string
	for _, f := range []struct{ key, p string }{
		{"store.dir", c.Store.Dir}, {"mapping.file", c.Mapping.File}, {"dropfolder.dir", c.DropFolder.Dir}, {"log.file", c.Log.File},
	} {
		if f.p != "" && !filepath.IsAbs(f.p) {
			out = append(out, fmt.Sprintf("%s: %s = %q is relative; write an absolute path, e.g. %q", c.Path, f.key, f.p, mustAbs(f.p)))
		}
	}
	return out
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// serialPorts are the serial devices the configuration names.
func serialPorts(c *config.Config) []string {
	var out []string
	for _, w := range c.Windows {
		for _, p := range []*config.Port{w.Reader, w.Scanner} {
			if p != nil && p.Port != "" {
				out = append(out, p.Port)
			}
		}
	}
	return out
}

// withReadiness gives start and restart the installed configuration's health
// check and log file, so they wait for the agent to answer. A configuration
// that does not load is said, and start then only checks the service stays up.
func withReadiness(svc *installer.Service, o installer.Options, env *cmdEnv, log *slog.Logger) (*installer.Service, error) {
	inst, ok, err := svc.Installation()
	if err != nil || !ok {
		return svc, nil // Control says "not installed"
	}
	cfg, err := config.Load(inst.ConfigPath, env.getenv)
	if cfg == nil || (err != nil && !errors.Is(err, config.ErrSecret)) {
		log.Warn("cannot read the service's configuration, so start cannot wait for the agent's health check", "config", inst.ConfigPath, "err", err)
		return svc, nil
	}
	o.ConfigPath = inst.ConfigPath
	o.Ready = healthProbe(cfg)
	o.LogFile = cfg.Log.File
	return installer.New(o)
}

// healthProbe asks the agent's GET /healthz at [api] listen on this machine.
func healthProbe(cfg *config.Config) func(ctx context.Context) error {
	base, err := cfg.API.LoopbackURL()
	if err != nil {
		return func(context.Context) error { return err }
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if cfg.API.TLSCert != "" {
		// Only the agent's own health is read, on this machine; its certificate
		// names the windows' view of it, not the loopback address.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // loopback health probe
	}
	url := base + "/healthz"
	client := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		defer resp.Body.Close()
		var h struct {
			Status string `json:"status"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &h) != nil || h.Status != "alive" {
			return fmt.Errorf("GET %s: HTTP %d, not the agent's answer (is another program on that port?)", url, resp.StatusCode)
		}
		return nil
	}
}

func printDone(w io.Writer, action string, o installer.Options) {
	switch action {
	case "install":
		fmt.Fprintf(w, "installed service %s: runs %s run --config %s as %s, data in %s\nstart it with: settle-agent start\n",
			o.Name, o.Executable, o.ConfigPath, o.UserName, o.DataDir)
	case "start", "restart":
		fmt.Fprintf(w, "%s: %s done; the agent answers\n", o.Name, action)
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
