package installer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/kardianos/service"
)

// Run runs the agent until the service manager stops it or, in the foreground,
// until SIGINT/SIGTERM (Ctrl-C). It is RunContext with context.Background().
func (s *Service) Run(newRunner func(ctx context.Context) (Runner, error)) error {
	return s.RunContext(context.Background(), newRunner)
}

// RunContext is what `settle-agent run` calls, under the service manager
// (kardianos Interactive() false) and in the foreground alike. It builds the
// runner with newRunner and runs it in a goroutine; a stop (service manager,
// signal, or ctx cancelled) cancels the runner's context and waits up to
// StopTimeout for Run to return, else it returns an error wrapping ErrStopTimeout.
//
// When the runner fails on its own, RunContext returns its error so the process
// exits non-zero and the service manager restarts it (on Windows, where the
// service manager owns the main loop, the process exits with status 1 instead).
// A runner that returns nil or context.Canceled after being stopped is a clean stop.
func (s *Service) RunContext(ctx context.Context, newRunner func(ctx context.Context) (Runner, error)) error {
	p := &program{
		parent:      ctx,
		newRunner:   newRunner,
		stopTimeout: s.o.StopTimeout,
		log:         s.o.Logger.With("service", s.o.Name),
		done:        make(chan struct{}),
	}
	interactive := service.Interactive()
	if s.o.interactive != nil {
		interactive = s.o.interactive()
	}
	if interactive || !runWaitHonoured() {
		// kardianos's Windows Run, outside the service manager, ignores RunWait and
		// waits for Ctrl-C alone (a cancelled ctx or a failed runner would hang it):
		// there the foreground loop is the one that honours every way to stop.
		return p.foreground()
	}
	c, err := s.config()
	if err != nil {
		return fmt.Errorf("run under the service manager: %w", err)
	}
	c.Option["RunWait"] = func() { p.wait() }
	svc, err := s.kardianosWith(p, c)
	if err != nil {
		return fmt.Errorf("run under the service manager: %w", err)
	}
	p.managed = true
	if err := svc.Run(); err != nil {
		return err
	}
	return p.result()
}

// program adapts a Runner to kardianos's Start/Stop and to the foreground.
type program struct {
	parent      context.Context
	newRunner   func(ctx context.Context) (Runner, error)
	stopTimeout time.Duration
	log         *slog.Logger
	managed     bool // run by the service manager (kardianos Run)

	mu       sync.Mutex
	cancel   context.CancelFunc
	stopping bool
	started  bool
	done     chan struct{} // closed when the runner's Run returned
	err      error         // the runner's result, read after done
}

// Start builds the runner and launches it; it does not block.
func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	r, err := p.newRunner(ctx)
	if err != nil {
		cancel()
		p.log.Error("agent did not start", "err", err)
		return fmt.Errorf("start the agent: %w", err)
	}
	p.mu.Lock()
	p.cancel, p.started = cancel, true
	p.mu.Unlock()
	// The runner logs its own start, with what it listens on: no second line here.
	go func() {
		err := r.Run(ctx)
		p.mu.Lock()
		p.err = err
		stopping := p.stopping
		p.mu.Unlock()
		close(p.done)
		if !stopping {
			if err != nil {
				p.log.Error("agent stopped on its own", "err", err)
			} else {
				p.log.Warn("agent stopped on its own without an error")
			}
			if p.managed {
				runnerExited(err)
			}
		}
	}()
	return nil
}

// Stop cancels the runner's context and waits up to stopTimeout for it.
func (p *program) Stop(service.Service) error {
	p.mu.Lock()
	if !p.started {
		p.mu.Unlock()
		return nil
	}
	p.stopping = true
	cancel := p.cancel
	p.mu.Unlock()
	select {
	case <-p.done:
		// The runner already ended on its own; result() reports it.
		return nil
	default:
	}
	p.log.Info("stopping agent", "timeout", p.stopTimeout.String())
	cancel()
	t := time.NewTimer(p.stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.log.Error("agent did not stop in time; exiting anyway", "timeout", p.stopTimeout.String())
		return fmt.Errorf("%w: still running %s after the stop request", ErrStopTimeout, p.stopTimeout)
	}
	// The runner logs its own stop; a failed one is returned.
	return p.result()
}

// result is the runner's error, with a stop-caused context.Canceled made nil.
func (p *program) result() error {
	select {
	case <-p.done:
	default:
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil || (p.stopping && errors.Is(p.err, context.Canceled)) {
		return nil
	}
	return fmt.Errorf("agent: %w", p.err)
}

// wait blocks until a stop signal, the parent context ends, or the runner ends.
func (p *program) wait() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case s := <-sig:
		p.log.Info("stop signal", "signal", s.String())
	case <-p.parent.Done():
	case <-p.done:
	}
}

// foreground runs the program without a service manager.
func (p *program) foreground() error {
	if err := p.Start(nil); err != nil {
		return err
	}
	p.wait()
	if err := p.Stop(nil); err != nil {
		return err
	}
	return p.result()
}
