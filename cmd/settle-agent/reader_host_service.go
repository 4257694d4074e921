package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/kardianos/service"
)

// readerHostServiceName is the service of one window's reader host on a cashier PC.
func readerHostServiceName(window string) string { return "settle-agent-reader-" + window }

// readerHostService runs `reader-host install [flags]` and `reader-host uninstall
// --window W`: a small system service on the cashier PC (a Windows service or a
// systemd unit) that runs `settle-agent reader-host [flags]` at boot and again after
// a failure.
func readerHostService(ctx context.Context, env *cmdEnv, action string, args []string) error {
	window := ""
	if action == "uninstall" {
		fs := newFlags(env, "reader-host uninstall", "reader-host uninstall --window W")
		fs.StringVar(&window, "window", "", "the window whose reader-host service to remove")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if window == "" {
			return fmt.Errorf("%w: --window is required", errUsage)
		}
	} else {
		// The flags are the service's own command line: check them as it will read them.
		if err := runReaderHost(ctx, env, append(append([]string{}, args...), "--check")); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("the service's flags do not work: %w", err)
		}
		window = flagValue(args, "window")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cfg := &service.Config{
		Name:        readerHostServiceName(window),
		DisplayName: "settle-agent reader host " + window,
		Description: "Drives window " + window + "'s card reader and delivers its reads to the settle-agent on the front-end machine.",
		Executable:  exe,
		Arguments:   append([]string{"reader-host"}, args...),
		Option:      service.KeyValue{"Restart": "always", "OnFailure": "restart"},
	}
	svc, err := service.New(&hostProgram{}, cfg)
	if err != nil {
		return fmt.Errorf("reader-host %s: %w", action, err)
	}
	if action == "uninstall" {
		_ = svc.Stop()
		if err := svc.Uninstall(); err != nil {
			return fmt.Errorf("reader-host uninstall %s: %w", cfg.Name, err)
		}
		fmt.Fprintf(env.stdout, "removed service %s\n", cfg.Name)
		return nil
	}
	if err := svc.Install(); err != nil {
		return fmt.Errorf("reader-host install %s (needs Administrator or root): %w", cfg.Name, err)
	}
	if err := svc.Start(); err != nil {
		return fmt.Errorf("reader-host: installed %s but it does not start: %w", cfg.Name, err)
	}
	fmt.Fprintf(env.stdout, "installed and started service %s: %s %v\n", cfg.Name, exe, cfg.Arguments)
	return nil
}

// flagValue is the value of --name (or -name, --name=v) in args, or "".
func flagValue(args []string, name string) string {
	for i, a := range args {
		for _, p := range []string{"--" + name, "-" + name} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := cutPrefix(a, p+"="); ok {
				return v
			}
		}
	}
	return ""
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// runHostService runs the reader host under the service manager until it stops it.
func runHostService(window string, run func(context.Context) error, log *slog.Logger) error {
	p := &hostProgram{run: run, log: log}
	svc, err := service.New(p, &service.Config{Name: readerHostServiceName(window)})
	if err != nil {
		return err
	}
	return svc.Run()
}

// hostProgram adapts the reader host to kardianos's Start and Stop.
type hostProgram struct {
	run    func(context.Context) error
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
}

func (p *hostProgram) Start(service.Service) error {
	if p.run == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() { // owned by the program: Stop cancels it and waits
		defer close(p.done)
		_ = p.run(ctx)
	}()
	return nil
}

func (p *hostProgram) Stop(service.Service) error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.log.Warn("reader host did not stop within 10 s")
	}
	return nil
}
