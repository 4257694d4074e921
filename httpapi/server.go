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
)

// Errors of this package.
var (
	// ErrNoEngine: a Server without what it serves (Bills, Stays, Persons, Link,
	// Queue, Jobs).
	ErrNoEngine = errors.New("httpapi: Options.Bills, Stays, Persons, Link, Queue and Jobs are required")
)

// MappingStatus says which item code mapping is in force.
type MappingStatus struct {
	Entries   int       `json:"entries"`
	LoadedAt  time.Time `json:"loaded_at"`
	LastError string    `json:"last_error,omitempty"`
}

// Options build a Server.
type Options struct {
	// What the API serves, through the interfaces of ports.go (the agent passes its
	// engine for Bills, Stays, Persons, Link and Jobs, and its queue for Queue).
	Bills   Bills
	Stays   Stays
	Persons Persons
	Link    Link
	Queue   Queue
	Jobs    Jobs
	// Reconciler builds the day's reports; nil: the reconciliation endpoint answers 503.
	Reconciler Reconciler

	// Listen is the address the API listens on; HostNames more names it answers
	// under (the Host check against DNS rebinding).
	Listen    string
	HostNames []string
	// AdminToken reaches every endpoint (empty: admin endpoints refuse every call);
	// Windows are the cashier windows with their tokens.
	AdminToken string
	Windows    []Window
	// TLSCert and TLSKey serve HTTPS; ClientCA then requires client certificates.
	TLSCert, TLSKey, ClientCA string
	// MaxBodyBytes limits a request body (0: 1 MiB); RateLimit is requests per
	// second per client and per token (0: no limit).
	MaxBodyBytes int64
	RateLimit    float64
	// Timeouts of the HTTP server (0: 15 s, 75 s, 120 s).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Language of the status page and messages unless a request asks otherwise
	// ("zh" or "en"); Hospital is the name the status page shows.
	Language string
	Hospital string

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
	// Cluster is this node's group (cluster.go); nil on a single machine.
	Cluster Cluster
	// Backup copies the store for `settle-agent backup` (backup.go); nil: not offered.
	Backup  StoreCopier
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Server is the HTTP API.
type Server struct {
	cards   *CardHub
	o       Options
	log     *slog.Logger
	now     func() time.Time
	started time.Time
	metrics *Metrics
	day     dayChart   // samples the status page draws
	hard    *hardening // Host check, per-token and global limits, key budget (hardening.go)
	handler http.Handler
}

// New builds the API's handler.
func New(o Options) (*Server, error) {
	if o.Bills == nil || o.Stays == nil || o.Persons == nil || o.Link == nil || o.Queue == nil || o.Jobs == nil {
		return nil, ErrNoEngine
	}
	s := &Server{cards: o.Cards, o: o, log: o.Logger, now: o.Now}
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
	s.hard = newHardening(o.Listen, o.HostNames, o.RateLimit, s.now)
	s.handler = s.routes()
	return s, nil
}

// Handler is the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics are the API's Prometheus metrics; the engine reports to them (Observer).
func (s *Server) Metrics() *Metrics { return s.metrics }

// HTTPServer is an http.Server for the API with the configured timeouts.
func (s *Server) HTTPServer() *http.Server {
	c := s.o
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
	c := s.o
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

func durOr(d time.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
