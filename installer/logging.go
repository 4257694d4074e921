package installer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/natefinch/lumberjack.v2"
)

// LogOptions configure the process logger. The zero value logs text at info
// level to stderr.
type LogOptions struct {
	// Level is debug, info, warn or error; empty means info.
	Level string
	// Format is text or json; empty means text.
	Format string
	// File is the log file, rotated by size; empty means stderr.
	File string
	// MaxSizeMB is the size at which File is rotated; default 50.
	MaxSizeMB int
	// MaxBackups is how many rotated files are kept; default 10.
	MaxBackups int
	// MaxAgeDays removes rotated files older than this; 0 keeps them by count only.
	MaxAgeDays int
	// Service is true when the process runs under the service manager: on Linux
	// under systemd (JOURNAL_STREAM set) and without File it logs plain text with
	// the journal's priority prefix and no time (journald adds it); on Windows it
	// also sends WARN and above to the Event Log.
	Service bool
	// Source is the Event Log source; default "settle-agent" (install registers it).
	Source string

	stderr io.Writer               // tests only; nil means os.Stderr
	getenv func(key string) string // tests only; nil means os.Getenv
}

// NewLogger builds the process logger described by o, with MaskPII applied, and
// the Closer that flushes and closes its file or Event Log handle (close it last).
func NewLogger(o LogOptions) (*slog.Logger, io.Closer, error) {
	level, err := parseLevel(o.Level)
	if err != nil {
		return nil, nil, err
	}
	switch o.Format {
	case "", "text", "json":
	default:
		return nil, nil, fmt.Errorf("log format %q: use text or json", o.Format)
	}
	if o.stderr == nil {
		o.stderr = os.Stderr
	}
	if o.getenv == nil {
		o.getenv = os.Getenv
	}
	if o.Source == "" {
		o.Source = DefaultName
	}
	var closers closerList
	w := o.stderr
	if o.File != "" {
		if err := os.MkdirAll(filepath.Dir(o.File), 0o750); err != nil {
			return nil, nil, fmt.Errorf("log folder for %s: %w", o.File, err)
		}
		lj := &lumberjack.Logger{
			Filename:   o.File,
			MaxSize:    defaultInt(o.MaxSizeMB, 50),
			MaxBackups: defaultInt(o.MaxBackups, 10),
			MaxAge:     o.MaxAgeDays,
		}
		// Open now, so a folder the account cannot write fails here, not silently later.
		if _, err := lj.Write(nil); err != nil {
			return nil, nil, fmt.Errorf("open log file %s: %w", o.File, err)
		}
		w = lj
		closers = append(closers, lj)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch {
	case o.Service && o.File == "" && o.getenv("JOURNAL_STREAM") != "":
		h = slog.NewTextHandler(&levelLineWriter{emit: journalLine(w)},
			&slog.HandlerOptions{Level: level, ReplaceAttr: dropTime})
	case o.Format == "json":
		h = slog.NewJSONHandler(w, hopts)
	default:
		h = slog.NewTextHandler(w, hopts)
	}
	if o.Service {
		extra, c, err := serviceLogHandler(o.Source)
		if err != nil {
			closers.Close()
			return nil, nil, err
		}
		if extra != nil {
			h = slog.NewMultiHandler(h, extra)
			closers = append(closers, c)
		}
	}
	return slog.New(MaskPII(h)), closers, nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: use debug, info, warn or error", s)
}

func defaultInt(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// dropTime removes the top-level time attribute; the journal and the Event Log
// stamp each entry themselves.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// levelLineWriter receives one text-handler line per Write ("level=WARN msg=..."
// because the time is dropped) and hands it on with its level.
type levelLineWriter struct {
	emit func(level slog.Level, line []byte) error
}

func (w *levelLineWriter) Write(p []byte) (int, error) {
	return len(p), w.emit(lineLevel(p), p)
}

// lineLevel reads the level a text-handler line without time starts with.
func lineLevel(line []byte) slog.Level {
	rest, ok := bytes.CutPrefix(line, []byte("level="))
	if !ok {
		return slog.LevelInfo
	}
	for _, l := range []slog.Level{slog.LevelError, slog.LevelWarn, slog.LevelInfo, slog.LevelDebug} {
		if bytes.HasPrefix(rest, []byte(l.String())) {
			return l
		}
	}
	return slog.LevelInfo
}

// journalLine writes a line with the sd-daemon priority prefix journald reads
// from a service's stderr: <3> error, <4> warning, <6> info, <7> debug.
func journalLine(w io.Writer) func(slog.Level, []byte) error {
	return func(l slog.Level, line []byte) error {
		prio := "<6>"
		switch {
		case l >= slog.LevelError:
			prio = "<3>"
		case l >= slog.LevelWarn:
			prio = "<4>"
		case l < slog.LevelInfo:
			prio = "<7>"
		}
		_, err := w.Write(append([]byte(prio), line...))
		return err
	}
}

// closerList closes everything in it, last opened first.
type closerList []io.Closer

func (cs closerList) Close() error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		errs = append(errs, cs[i].Close())
	}
	return errors.Join(errs...)
}
