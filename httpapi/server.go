// Package httpapi is the agent's local HTTP API (cashier-api.md) as a thin adapter
// over the settlement engine: routes, bearer-token auth, body and rate limits, the
// status page, metrics and the admin endpoints. Every domain result and sentinel
// error is mapped to a status code and a JSON body in one place (respond.go).
package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/recon"
	"github.com/settle-agent/settle-agent/workflow"
)

// Errors of this package.
var (
	// ErrNoEngine: a Server without its engine or queue.
	ErrNoEngine = errors.New("httpapi: Options.Engine and Options.Queue are required")
)

// MappingStatus says which item code mapping is in force.
type MappingStatus struct {
	Entries   int       `json:"entries"`
	LoadedAt  time.Time `json:"loaded_at"`
	LastError string    `json:"last_error,omitempty"`
}

// Options build a Server.
type Options struct {
	Config *config.Config
	Engine *workflow.Engine
	Queue  *queue.Store
	// Reconciler builds the day's reports.
	Reconciler *recon.Reconciler
	// Cards hands the readers' card reads to the windows' long polls.
	Cards *CardHub
	// Readers reports the readers' states; Mapping the mapping's (both may be nil).
	Readers func() []cardreader.State
	Mapping func() *MappingStatus
	// Demand is told when a window waits for a card (library and remote readers poll
	// only then); nil: nobody is told.
	Demand *cardreader.Demand
	// RemoteReaders serves the reader hosts on the cashier PCs (cardreader.RemoteHub),
	// mounted at /v1/windows/{window}/reader/; nil: not mounted.
	RemoteReaders http.Handler
	// DecodeVoucher turns a scanned e-voucher code into its card (ecToken) before a
	// lookup by e-voucher (ecvoucher.Stage.Decode); nil: the code is taken as the ecToken.
	DecodeVoucher func(ctx context.Context, code string) (settle.Card, error)
	// Closing reports whether the agent is stopping.
	Closing func() bool
	// Catalogue is the agent's catalogue (catalogue.go); nil: its endpoints answer 404.
	Catalogue Catalogue
	// Backup copies the store for `settle-agent backup` (backup.go); nil: not offered.
	Backup  StoreCopier
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Server is the HTTP API.
type Server struct {
	cfg     *config.Config
	eng     *workflow.Engine
	q       *queue.Store
	rec     *recon.Reconciler
	cards   *CardHub
	o       Options
	log     *slog.Logger
	now     func() time.Time
	started time.Time
	metrics *Metrics
	hard    *hardening // Host check, per-token and global limits, key budget (hardening.go)
	handler http.Handler
}

// New builds the API's handler.
func New(o Options) (*Server, error) {
	if o.Engine == nil || o.Queue == nil || o.Config == nil {
		return nil, ErrNoEngine
	}
	s := &Server{cfg: o.Config, eng: o.Engine, q: o.Queue, rec: o.Reconciler, cards: o.Cards, o: o, log: o.Logger, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cards == nil {
		s.cards = NewCardHub(s.now)
	}
	if s.o.Version == "" {
		s.o.Version = "dev"
	}
	if s.o.Readers == nil {
		s.o.Readers = func() []cardreader.State { return nil }
	}
	if s.o.Mapping == nil {
		s.o.Mapping = func() *MappingStatus { return nil }
	}
	if s.o.Closing == nil {
		s.o.Closing = func() bool { return false }
	}
	s.started = s.now()
	s.metrics = newMetrics(s)
	s.hard = newHardening(s.cfg, s.now)
	s.handler = s.routes()
	return s, nil
}

// Handler is the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics are the API's Prometheus metrics; the engine reports to them (Observer).
func (s *Server) Metrics() *Metrics { return s.metrics }

// HTTPServer is an http.Server for the API with the configured timeouts.
func (s *Server) HTTPServer() *http.Server {
	c := s.cfg.API
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       durOr(c.ReadTimeout, 15*time.Second),
		WriteTimeout:      durOr(c.WriteTimeout, 75*time.Second), // card long polls wait up to 60 s
		IdleTimeout:       durOr(c.IdleTimeout, 120*time.Second),
		MaxHeaderBytes:    64 << 10,
		// TLS handshake failures and the like go to the agent's log, not stderr.
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// Serve serves srv on ln (TLS when configured) until srv is shut down.
func (s *Server) Serve(srv *http.Server, ln net.Listener) error {
	c := s.cfg.API
	var err error
	if c.TLSCert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.ClientCA != "" {
			pem, rerr := os.ReadFile(c.ClientCA)
			if rerr != nil {
				return fmt.Errorf("api.client_ca: %w", rerr)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("api.client_ca %s: no PEM certificates", c.ClientCA)
			}
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
		srv.TLSConfig = tc
		err = srv.ServeTLS(ln, c.TLSCert, c.TLSKey)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func durOr(d config.Duration, def time.Duration) time.Duration {
	if d.Duration > 0 {
		return d.Duration
	}
	return def
}

var _ = context.Background
