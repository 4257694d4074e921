package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// agentProc is the agent's child process and the sampler of its resident memory.
type agentProc struct {
	cmd     *exec.Cmd
	outPath string
	out     *os.File
	done    chan struct{}
	err     error // Wait's error, valid after done
	rss     *rssSampler
}

// startAgent starts cmd with its output in outPath and samples its RSS every 100 ms.
func startAgent(ctx context.Context, cmd *exec.Cmd, outPath string) (*agentProc, error) {
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("bench e2e: start the agent (%s): %w", cmd.Path, err)
	}
	p := &agentProc{cmd: cmd, outPath: outPath, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	p.rss = newRSSSampler(p.pid(), 100*time.Millisecond, p.done)
	return p, nil
}

func (p *agentProc) pid() int { return p.cmd.Process.Pid }

func (p *agentProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *agentProc) waitErr() error {
	<-p.done
	return p.err
}

// stop asks the agent to stop (SIGTERM; on Windows the process is killed) and waits
// up to grace before killing it.
func (p *agentProc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	if err := terminate(p.cmd.Process); err != nil {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
		return terminated(p.err)
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("the agent did not stop within %s after SIGTERM; killed", grace)
	}
}

// rssSampler reads a process's resident set every interval until done closes.
type rssSampler struct {
	mu      sync.Mutex
	peak    int64
	last    int64
	anon    int64 // highest RssAnon
	samples int
	watch   []*rssWindow
}

// rssWindow tracks the first, last and highest sample while it is open.
type rssWindow struct {
	first, last, peak int64
	n                 int
}

func newRSSSampler(pid int, interval time.Duration, done <-chan struct{}) *rssSampler {
	s := &rssSampler{}
	if _, _, ok := readRSS(pid); !ok {
		return s
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if v, anon, ok := readRSS(pid); ok {
				s.add(v, anon)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) add(v, anon int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = v
	s.anon = max(s.anon, anon)
	s.peak = max(s.peak, v)
	s.samples++
	for _, w := range s.watch {
		if w.n == 0 {
			w.first = v
		}
		w.last, w.peak = v, max(w.peak, v)
		w.n++
	}
}

func (s *rssSampler) max() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// anonMax is the highest anonymous resident memory seen (no mapped files).
func (s *rssSampler) anonMax() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.anon
}

// open starts a window of samples; close it with done.
func (s *rssSampler) open() *rssWindow {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &rssWindow{}
	s.watch = append(s.watch, w)
	return w
}

func (s *rssSampler) done(w *rssWindow) rssWindow {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.watch {
		if x == w {
			s.watch = append(s.watch[:i], s.watch[i+1:]...)
			break
		}
	}
	return *w
}

// settle waits d (the process settles after start: sign-in, first GC) and returns the
// last sample.
func (s *rssSampler) settle(ctx context.Context, d time.Duration) int64 {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}
