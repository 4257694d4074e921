package catalogue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/settle-agent/settle-agent/platform"
)

// ServiceOptions wire the catalogue into a running agent.
type ServiceOptions struct {
	Store    *Store
	Syncer   *Syncer
	Uploader Uploader
	// Meta returns the envelope fields of the next call, with a fresh msgid.
	Meta func() (platform.Meta, error)
	// MappingFile is the agent's [mapping] file, which UploadMapping sends.
	MappingFile string
	// Check says where and when the mapping is checked (asked each time: today moves).
	Check func() CheckOptions
	// Shape and Batch are 3301's envelope ([catalogue] upload_shape, upload_batch).
	Shape string
	Batch int
	// MaxAge is how old the catalogue may be before the status warns.
	MaxAge time.Duration
	// Daily, when set, runs the daily sync (Hour, Minute, Location; Now, After for tests).
	Daily *DailyOptions
	Now   func() time.Time
	// Logger gets a line per sync and upload (nil: discard).
	Logger *slog.Logger
}

// Service is the catalogue of a running agent: status, syncs started by the admin
// API or the daily clock, the mapping check and upload. Its goroutines belong to Run.
type Service struct {
	o    ServiceOptions
	log  *slog.Logger
	kick chan struct{}

	mu      sync.Mutex
	pending bool // a sync was asked for and has not ended
	last    Report
	lastErr error
}

// NewService checks o.
func NewService(o ServiceOptions) (*Service, error) {
	if o.Store == nil || o.Syncer == nil || o.Uploader == nil || o.Meta == nil || o.Check == nil {
		return nil, errors.New("catalogue service needs Store, Syncer, Uploader, Meta and Check")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, log: o.Logger, kick: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Store is the catalogue file.
func (s *Service) Store() *Store { return s.o.Store }

// Run serves sync requests and the daily sync until ctx ends; it returns nil then,
// after every sync it started has stopped.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if d := s.o.Daily; d != nil {
		o := *d
		o.Stale = func() bool {
			st, err := s.o.Store.Status(s.o.Now(), s.o.MaxAge, Progress{})
			return err == nil && st.Stale
		}
		o.OnDone = s.done
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.o.Syncer.RunDaily(ctx, o)
		}()
	}
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
			rep, err := s.o.Syncer.Sync(ctx)
			if errors.Is(err, ErrBusy) {
				// The daily sync is running: the request is answered by it.
				err = nil
			}
			s.done(rep, err)
			s.mu.Lock()
			s.pending = false
			s.mu.Unlock()
		}
	}
}

func (s *Service) done(rep Report, err error) {
	s.mu.Lock()
	s.last, s.lastErr = rep, err
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("catalogue sync did not finish; the next one resumes", "err", err)
	} else {
		s.log.Info("catalogue synced", "took", rep.Took)
	}
}

// StartSync asks Run for a sync; ErrBusy when one is running or asked for.
func (s *Service) StartSync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending || s.o.Syncer.Progress().Running {
		return ErrBusy
	}
	select {
	case s.kick <- struct{}{}:
		s.pending = true
		return nil
	default:
		return ErrBusy
	}
}

// Status is the catalogue's state; a sync asked for and not started yet shows as
// running.
func (s *Service) Status() (Status, error) {
	p := s.o.Syncer.Progress()
	s.mu.Lock()
	if s.pending {
		p.Running = true
	}
	s.mu.Unlock()
	return s.o.Store.Status(s.o.Now(), s.o.MaxAge, p)
}

// CheckMapping checks a mapping file's bytes against the catalogue.
func (s *Service) CheckMapping(raw []byte) (*CheckReport, error) {
	return CheckMapping(raw, s.o.Store, s.o.Check())
}

// ReloadCheck is the hot reload's check (hisadapter.MappingOptions.Check).
func (s *Service) ReloadCheck() func([]byte) error { return s.o.Store.ReloadCheck(s.o.Check) }

// UploadMapping sends the agent's mapping file (3301/3302), or says what it would
// send (dryRun).
func (s *Service) UploadMapping(ctx context.Context, dryRun bool) (*UploadReport, error) {
	if s.o.MappingFile == "" {
		return nil, fmt.Errorf("upload the mapping: the agent has no [mapping] file: %w", ErrNotSynced)
	}
	raw, err := os.ReadFile(s.o.MappingFile)
	if err != nil {
		return nil, fmt.Errorf("read the mapping file: %w", err)
	}
	rep, err := Upload(ctx, raw, s.o.Store, s.o.Syncer, s.o.Uploader, UploadOptions{Shape: s.o.Shape, Batch: s.o.Batch,
		DryRun: dryRun, Check: s.o.Check(), Meta: s.o.Meta})
	if rep != nil {
		s.log.Info("item mapping upload", "dry_run", dryRun, "sent", rep.Sent, "refused", rep.Refused, "failed", rep.Failed, "unchanged", rep.Unchanged)
	}
	return rep, err
}

// SyncNow syncs at once in the caller's goroutine (tests, and a caller that wants
// the report); ErrBusy when a sync runs.
func (s *Service) SyncNow(ctx context.Context) (Report, error) { return s.o.Syncer.Sync(ctx) }
