//go:build !windows

package installer

import (
	"io"
	"log/slog"
)

// serviceLogHandler: outside Windows the service manager collects stderr (or
// the log file does); there is no second destination.
func serviceLogHandler(source string) (slog.Handler, io.Closer, error) { return nil, nil, nil }
