package hisadapter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// MappingOptions tunes a MappingFile; the zero value (or nil) means defaults.
type MappingOptions struct {
	Logger       *slog.Logger     // nil: discard
	Now          func() time.Time // nil: time.Now
	PollInterval time.Duration    // how often the file is looked at; 0: 2s
	// Check, when set, is asked about a changed file that parses: an error keeps the
	// old mapping in force, as a broken file does (the catalogue's check).
	Check func(raw []byte) error
}

// MappingFile is the item code mapping the hospital maintains on disk, reloaded when
// it changes without a restart. A broken file never replaces a good mapping: the old
// one stays in force, the problem is logged at ERROR and LastError says what it is.
type MappingFile struct {
	path  string
	log   *slog.Logger
	now   func() time.Time
	poll  time.Duration
	check func([]byte) error

	cur atomic.Pointer[Mapping]

	mu       sync.Mutex
	loadedAt time.Time
	lastErr  error
	sum      [sha256.Size]byte // of the content last looked at (good or bad)
}

// OpenMappingFile loads the mapping at path. A missing or broken file is an error
// (listing every problem): the agent must not start settling without a mapping.
func OpenMappingFile(path string, o *MappingOptions) (*MappingFile, error) {
	if o == nil {
		o = &MappingOptions{}
	}
	f := &MappingFile{path: path, log: o.Logger, now: o.Now, poll: o.PollInterval, check: o.Check}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.poll <= 0 {
		f.poll = 2 * time.Second
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open item code mapping: %w", err)
	}
	m, err := ParseMapping(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("item code mapping %s: %w", path, err)
	}
	f.cur.Store(m)
	f.sum = sha256.Sum256(raw)
	f.loadedAt = f.now()
	f.log.Info("item code mapping loaded", "path", path, "rows", m.Len(), "codes", m.Codes())
	return f, nil
}

// Current is the mapping in force; never nil after OpenMappingFile succeeded.
func (f *MappingFile) Current() *Mapping { return f.cur.Load() }

// LastError is why the file on disk is not the mapping in force (nil when it is).
func (f *MappingFile) LastError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// LoadedAt is when the mapping in force was loaded.
func (f *MappingFile) LoadedAt() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loadedAt
}

// Path is the file's path.
func (f *MappingFile) Path() string { return f.path }

// Run looks at the file every PollInterval until ctx ends and reloads it when its
// content changed. It returns nil when ctx ends.
func (f *MappingFile) Run(ctx context.Context) error {
	t := time.NewTicker(f.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f.Reload()
		}
	}
}

// Reload reads the file now and swaps the mapping in when the content changed and is
// good. It returns the problem that keeps the file on disk from being in force.
func (f *MappingFile) Reload() error {
	raw, err := os.ReadFile(f.path)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if f.lastErr == nil || errors.Is(f.lastErr, ErrMapping) {
			f.log.Error("item code mapping file cannot be read; the previous mapping stays in force",
				"path", f.path, "err", err, "loaded_at", f.loadedAt)
		}
		f.lastErr = fmt.Errorf("read item code mapping: %w", err)
		f.sum = [sha256.Size]byte{}
		return f.lastErr
	}
	sum := sha256.Sum256(raw)
	if sum == f.sum {
		return f.lastErr
	}
	f.sum = sum
	m, err := ParseMapping(bytes.NewReader(raw))
	if err == nil && f.check != nil {
		err = f.check(raw)
	}
	if err != nil {
		f.lastErr = err
		attrs := []any{"path", f.path, "err", err, "loaded_at", f.loadedAt,
			"hint", "run 'settle-agent mapping check " + f.path + "' for every problem"}
		f.log.Error("item code mapping file is BROKEN; the previous mapping stays in force", attrs...)
		return err
	}
	f.cur.Store(m)
	f.lastErr = nil
	f.loadedAt = f.now()
	f.log.Info("item code mapping reloaded", "path", f.path, "rows", m.Len(), "codes", m.Codes())
	return nil
}
