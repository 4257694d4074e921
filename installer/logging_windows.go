package installer

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/sys/windows/svc/eventlog"
)

// eventID is the one Event Log event ID settle-agent writes.
const eventID = 1

// serviceLogHandler sends WARN and above to the Windows Event Log under source
// (registered by install), as text without the time.
func serviceLogHandler(source string) (slog.Handler, io.Closer, error) {
	el, err := eventlog.Open(source)
	if err != nil {
		return nil, nil, fmt.Errorf("open the Event Log source %q: %w (install registers it: settle-agent install)", source, err)
	}
	w := &levelLineWriter{emit: func(l slog.Level, line []byte) error {
		msg := strings.TrimSpace(string(line))
		if l >= slog.LevelError {
			return el.Error(eventID, msg)
		}
		return el.Warning(eventID, msg)
	}}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: dropTime})
	return h, el, nil
}
