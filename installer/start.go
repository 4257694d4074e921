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
func (s *Service) waitStarted(ctx context.Context, svc service.Service, mark logMark) error {
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
			return fmt.Errorf("%w: the service stopped right after it started; %s", ErrStartFailed, s.logTail(mark))
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
			return fmt.Errorf("%w: the service runs, but the agent is not up: %s; %s", ErrStartFailed, why, s.logTail(mark))
		case <-t.C:
		}
	}
}

// logMark is where the agent's log stood before a start, so that a failed start
// shows what this start wrote, not an older failure.
type logMark struct {
	at     time.Time
	file   string // "" when the log is the journal
	offset int64
}

// markLog notes the log's end before a start.
func (s *Service) markLog(platform string) logMark {
	m := logMark{at: time.Now(), file: s.o.LogFile}
	if m.file == "" {
		m.file = serviceLogFile(s.o.Name, platform)
	}
	if m.file != "" {
		if fi, err := os.Stat(m.file); err == nil {
			m.offset = fi.Size()
		}
	}
	return m
}

// logTail is the last lines the agent logged since m, for a failed start.
func (s *Service) logTail(m logMark) string {
	var text, where string
	if m.file != "" {
		text, where = fileTail(m.file, m.offset, logTailLines), m.file
	} else {
		text, where = journalTail(s.o.Name, m.at, logTailLines)
	}
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return "nothing in " + where + " says why; " + logHint(s.o.Name)
	}
	return "the last lines of " + where + ":\n" + text
}

// fileTail is the last n lines of the file at p written after offset ("" when it
// cannot be read). A file shorter than offset was rotated: all of it counts.
func fileTail(p string, offset int64, n int) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	if fi.Size() < offset {
		offset = 0
	}
	start := max(offset, fi.Size()-window)
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return ""
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
