package main

import (
	"context"
	"fmt"
	"net"
	"runtime/debug"

	"github.com/kardianos/service"

	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/installer"
)

func runAgent(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags(env, "run", "run [--config FILE]\n\nRuns the agent in the foreground (the system service runs this too). Ctrl-C stops it cleanly.")
	configPath := fs.String("config", config.DefaultPath(), "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	tuneGC(env)
	cfg, err := config.Load(*configPath, env.getenv)
	if err != nil {
		return fmt.Errorf("%v\nfix the configuration (settle-agent config check %s), then start again", err, *configPath)
	}
	// The mapping is read now, before the agent creates anything (a store key, a
	// store file), so a broken one stops the start with its problems by line.
	if _, err := mappingSummary(env, cfg.Mapping.File); err != nil {
		return fmt.Errorf("[mapping] file %v: fix it (settle-agent mapping check %s), then start again", err, cfg.Mapping.File)
	}
	log, closer, err := installer.NewLogger(installer.LogOptions{
		Level: cfg.Log.Level, Format: cfg.Log.Format, File: serviceLogFile(cfg.Log.File, service.Interactive()),
		MaxSizeMB: cfg.Log.MaxSizeMB, MaxBackups: cfg.Log.MaxBackups,
		Service: !service.Interactive(),
	})
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	defer closer.Close()
	for _, w := range config.PermissionWarnings(*configPath) {
		log.Warn(w)
	}
	svc, err := installer.New(installer.Options{ConfigPath: *configPath, DataDir: cfg.Store.Dir, Logger: log})
	if err != nil {
		return err
	}
	return svc.RunContext(ctx, func(ctx context.Context) (installer.Runner, error) {
		// The ports are taken before the agent creates anything (a store key, a
		// store file): a port another program holds stops the start first.
		ln, err := listenFirst(cfg)
		if err != nil {
			return nil, err
		}
		a, err := agent.New(cfg, &agent.Options{Logger: log, Version: installer.Version, Listener: ln})
		if err != nil {
			ln.Close()
			return nil, err
		}
		return a, nil
	})
}

// listenFirst opens [api] listen for the agent and checks that [hl7] listen is
// free, each refusal naming the key and how to find the other program.
func listenFirst(cfg *config.Config) (net.Listener, error) {
	taken := func(key, addr string, err error) error {
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Errorf("%s %s: %w; another program holds the port: find it ('ss -ltnp sport = :%s' on Linux, 'netstat -ano | findstr :%s' on Windows) and stop it, or change %s",
			key, addr, err, port, port, key)
	}
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return nil, taken("[api] listen", cfg.API.Listen, err)
	}
	if addr := cfg.HL7.Listen; addr != "" {
		hl7, err := net.Listen("tcp", addr)
		if err != nil {
			ln.Close()
			return nil, taken("[hl7] listen", addr, err)
		}
		hl7.Close() // the agent opens it again at once
	}
	return ln, nil
}

// tuneGC trades a little memory for CPU: the agent's live heap is small (15-20 MB), so
// the default GOGC=100 collects very often under load; 200 with a 96 MiB soft limit
// cut the agent's CPU per settlement markedly in bench e2e and keeps the heap bounded.
// GOGC and GOMEMLIMIT in the environment win.
func tuneGC(env *cmdEnv) {
	if env.getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if env.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(96 << 20)
	}
}

// serviceLogFile is where the agent logs: [log] file, or, for a service on a system
// whose service manager keeps no log (Windows: stderr goes nowhere), the installer's
// log file (C:\ProgramData\SettleAgent\logs\settle-agent.log), which `start` shows
// the last lines of when the agent does not come up. Warnings and errors also go to
// the Event Log there.
func serviceLogFile(file string, interactive bool) string {
	if file != "" || interactive {
		return file
	}
	return installer.DefaultPlaces().LogFile
}
