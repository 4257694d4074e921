package installer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/kardianos/service"
)

// DefaultStartTimeout bounds how long start and restart wait for the agent to
// answer Options.Ready.
const DefaultStartTimeout = 30 * time.Second

// startPoll is how often start asks the agent and the service manager.
const startPoll = 200 * time.Millisecond

// logTailLines is how many of the log's last lines a failed start shows.
const logTailLines = 15

// waitStarted waits after the service manager started the service until
// Options.Ready answers, the service stops (the agent died: a port taken, a
// broken configuration, ...), or StartTimeout passes. Without a Ready it only
// checks that the service still runs after one poll.
func (s *Service) waitStarted(ctx context.Context, svc service.Service) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.StartTimeout)
	defer cancel()
	t := time.NewTicker(startPoll)
	defer t.Stop()
	var lastErr error
	for polls := 0; ; polls++ {
		if s.o.Ready != nil {
			if lastErr = s.o.Ready(ctx); lastErr == nil {
				return nil
			}
		}
		if st, err := statusOf(svc); polls > 0 && err == nil && st == StatusStopped {
			return fmt.Errorf("%w: the service stopped right after it started; %s", ErrStartFailed, s.logTail(svc.Platform()))
		}
		if s.o.Ready == nil && polls > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			why := "it did not answer in time"
			if lastErr != nil {
				why = "it did not answer in " + s.o.StartTimeout.String() + ": " + lastErr.Error()
			}
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			return fmt.Errorf("%w: the service runs, but the agent is not up: %s; %s", ErrStartFailed, why, s.logTail(svc.Platform()))
		case <-t.C:
		}
	}
}

// logTail is the last lines of the agent's log, for a failed start.
func (s *Service) logTail(platform string) string {
	text, where := "", ""
	if s.o.LogFile != "" {
		text, where = fileTail(s.o.LogFile, logTailLines), s.o.LogFile
	} else {
		text, where = serviceLogTail(s.o.Name, platform, logTailLines)
	}
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return "nothing in " + where + " says why; " + logHint(s.o.Name)
	}
	return "the last lines of " + where + ":\n" + text
}

// fileTail is the last n lines of the file at p ("" when it cannot be read).
func fileTail(p string, n int) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > window {
		if _, err := f.Seek(-window, io.SeekEnd); err != nil {
			return ""
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, window))
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
