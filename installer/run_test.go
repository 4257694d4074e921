package installer

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// runnerFunc adapts a function to Runner.
type runnerFunc func(ctx context.Context) error

func (f runnerFunc) Run(ctx context.Context) error { return f(ctx) }

// runModes runs each test in the foreground and under kardianos's Run (on this
// machine's service system, with RunWait as the wait), as `settle-agent run` does.
var runModes = []struct {
	name        string
	interactive bool
}{{"Foreground", true}, {"Managed", false}}

func newRunService(t *testing.T, interactive bool, stop time.Duration) *Service {
	t.Helper()
	s, err := New(Options{Name: testName, StopTimeout: stop})
	if err != nil {
		t.Fatal(err)
	}
	s.o.interactive = func() bool { return interactive }
	return s
}

func TestRun_StopsOnCancel(t *testing.T) {
	for _, m := range runModes {
		t.Run(m.name, func(t *testing.T) {
			s := newRunService(t, m.interactive, time.Minute)
			ctx, cancel := context.WithCancel(context.Background())
			var sawCancel atomic.Bool
			started := make(chan struct{})
			go func() { <-started; cancel() }()
			err := s.RunContext(ctx, func(rctx context.Context) (Runner, error) {
				return runnerFunc(func(rctx context.Context) error {
					close(started)
					<-rctx.Done()
					sawCancel.Store(true)
					return rctx.Err() // context.Canceled after a stop is a clean stop
				}), nil
			})
			if err != nil {
				t.Errorf("RunContext = %v; want nil", err)
			}
			if !sawCancel.Load() {
				t.Errorf("runner's context was not cancelled")
			}
		})
	}
}

func TestRun_RunnerFails(t *testing.T) {
	boom := errors.New("store corrupted")
	for _, m := range runModes {
		t.Run(m.name, func(t *testing.T) {
			s := newRunService(t, m.interactive, time.Minute)
			err := s.RunContext(context.Background(), func(context.Context) (Runner, error) {
				return runnerFunc(func(context.Context) error { return boom }), nil
			})
			if !errors.Is(err, boom) {
				t.Errorf("RunContext = %v; want %v", err, boom)
			}
		})
	}
}

func TestRun_NewRunnerFails(t *testing.T) {
	bad := errors.New("bad configuration")
	for _, m := range runModes {
		t.Run(m.name, func(t *testing.T) {
			s := newRunService(t, m.interactive, time.Minute)
			err := s.RunContext(context.Background(), func(context.Context) (Runner, error) { return nil, bad })
			if !errors.Is(err, bad) {
				t.Errorf("RunContext = %v; want %v", err, bad)
			}
		})
	}
}

func TestRun_ErrStopTimeout(t *testing.T) {
	for _, m := range runModes {
		t.Run(m.name, func(t *testing.T) {
			// The runner ignores its context; it is released when the test ends.
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			s := newRunService(t, m.interactive, 10*time.Millisecond)
			ctx, cancel := context.WithCancel(context.Background())
			err := s.RunContext(ctx, func(context.Context) (Runner, error) {
				return runnerFunc(func(context.Context) error {
					cancel()
					<-release
					return nil
				}), nil
			})
			if !errors.Is(err, ErrStopTimeout) {
				t.Errorf("RunContext = %v; want ErrStopTimeout", err)
			}
		})
	}
}

func TestRun_ErrorDuringStop(t *testing.T) {
	flush := errors.New("flush failed")
	s := newRunService(t, true, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	err := s.RunContext(ctx, func(context.Context) (Runner, error) {
		return runnerFunc(func(rctx context.Context) error {
			cancel()
			<-rctx.Done()
			return flush
		}), nil
	})
	if !errors.Is(err, flush) {
		t.Errorf("RunContext = %v; want %v", err, flush)
	}
}
