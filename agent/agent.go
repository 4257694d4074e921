// Package agent wires settle-agent together and holds its workflows: the cashier API,
// online and offline settlement with exactly-once delivery to the platform, the sync
// loop that drains the durable queue, reconciliation, the status page and metrics.
//
// The program is an *Agent: New opens the store and builds the parts, Run serves until
// its context ends (the service manager's Stop cancels it), Close releases what New took.
package agent

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/queue"
)

// Errors of the agent's workflows. The API turns each into a status and a sentence.
var (
	// ErrOffline means the platform cannot be reached now; the bill is queued or estimated.
	ErrOffline = errors.New("the provincial platform cannot be reached")
	// ErrRefusedOffline means the offline policy is "refuse".
	ErrRefusedOffline = errors.New("insured settlement is refused while the platform is offline (offline policy \"refuse\")")
	// ErrUnmapped means a bill holds item codes the mapping does not know.
	ErrUnmapped = errors.New("unmapped item codes")
	// ErrClosed means the agent is shutting down.
	ErrClosed = errors.New("the agent is shutting down")
)

// StoreFile is the name of the store in the data folder.
const StoreFile = "settle-agent.db"

// Options are what the caller of New may set beyond the configuration. A nil *Options
// means defaults.
type Options struct {
	Logger  *slog.Logger
	Now     func() time.Time
	Version string
	// Listener, when set, is used instead of listening on cfg.API.Listen (tests use :0).
	Listener net.Listener
	// OpenPort opens a reader's port; nil means the real serial port (tarm/serial).
	// The demo passes in-process simulated readers here.
	OpenPort func(cardreader.Config) (io.ReadWriteCloser, error)
}

// Agent is the running program.
type Agent struct {
	cfg     *config.Config
	log     *slog.Logger
	now     func() time.Time
	version string
	opts    Options

	store   *queue.Store
	client  *platform.Client
	msgids  *platform.MsgidGenerator
	seal    *sealer
	breaker *breaker
	mapping *hisadapter.MappingFile
	cards   *cardHub
	readers []*cardreader.Reader
	metrics *metrics
	locks   *billLocks
	learned *learned
	api     http.Handler
	started time.Time

	defaultRatio decimal.Decimal

	mu          sync.Mutex
	listenAddr  string
	hl7Addr     string
	outstanding settle.Money // fund share of offline bills collected by estimate, not yet settled
	closing     bool
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

// New opens the store and builds every part from cfg; nothing is served until Run.
func New(cfg *config.Config, o *Options) (*Agent, error) {
	if o == nil {
		o = &Options{}
	}
	a := &Agent{cfg: cfg, opts: *o, log: o.Logger, now: o.Now, version: o.Version}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.version == "" {
		a.version = "dev"
	}
	a.started = a.now()
	var err error
	ratio := cfg.Offline.DefaultRatio
	if ratio == "" {
		ratio = "0.70"
	}
	if a.defaultRatio, err = decimal.NewFromString(ratio); err != nil {
		return nil, fmt.Errorf("offline.default_ratio %q: %w", ratio, err)
	}
	old := make([]string, len(cfg.Store.OldKeys))
	for i, k := range cfg.Store.OldKeys {
		old[i] = k.Value()
	}
	dir := cfg.Store.Dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data folder %s: %w (create it, or set [store] dir to a writable folder)", dir, err)
	}
	key := cfg.Store.Key.Value()
	if key == "" {
		if key, err = a.generatedStoreKey(dir); err != nil {
			return nil, err
		}
	}
	if a.seal, err = newSealer(key, old); err != nil {
		return nil, err
	}
	a.store, err = queue.Open(filepath.Join(dir, StoreFile), &queue.Options{
		Horizon:   cfg.Offline.RetryHorizon.Duration,
		Retention: cfg.Store.Retention.Duration,
		LeaseTime: 2*cfg.Platform.Timeout.Duration + 30*time.Second,
		// A queued bill is retried at least every 30 s: when a flaky line steadies,
		// no bill waits minutes in backoff.
		MinBackoff: time.Second,
		MaxBackoff: 30 * time.Second,
		Logger:     a.log,
		Now:        a.now,
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	// This process holds the store's file lock: leases left in it belong to a process
	// that died, so their bills sync now rather than after the lease time.
	if n, err := a.store.ReleaseLeases(context.Background()); err != nil {
		a.store.Close()
		return nil, fmt.Errorf("open store: %w", err)
	} else if n > 0 {
		a.log.Warn("resuming queued bills left in flight by a previous run", "count", n)
	}
	if err := a.init(); err != nil {
		a.store.Close()
		return nil, err
	}
	if err := a.recoverInFlight(context.Background()); err != nil {
		a.store.Close()
		return nil, err
	}
	return a, nil
}

// recoverInFlight queues the settlements a previous run left mid-call (state settling,
// not in the queue): their outcome is unknown until the sync worker reverses the
// pending message and settles them. Only in-flight bills are read, never the store.
func (a *Agent) recoverInFlight(ctx context.Context) error {
	recs, err := a.listBills(StateSettling, "", 1<<20, time.Time{})
	if err != nil {
		return fmt.Errorf("recover in-flight bills: %w", err)
	}
	for _, rec := range recs {
		if rec.QueueID != 0 {
			continue
		}
		if err := a.enqueue(ctx, rec); err != nil {
			return fmt.Errorf("recover in-flight bill %s: %w", rec.Bill.BillNo, err)
		}
		a.log.Warn("settlement interrupted by the last stop; queued to finish it", "bill_no", rec.Bill.BillNo)
	}
	return nil
}

// PlatformOptions are the platform client's options from the configuration (the
// agent's and doctor's client alike); the caller sets the clock and logger.
func PlatformOptions(cfg *config.Config) platform.Options {
	return platform.Options{
		BaseURL:            cfg.Platform.BaseURL,
		Path:               cfg.Platform.Path,
		Timeout:            cfg.Platform.Timeout.Duration,
		Paasid:             cfg.Platform.Paasid,
		Token:              cfg.Platform.Token.Value(),
		CAFile:             cfg.Platform.CAFile,
		CertFile:           cfg.Platform.CertFile,
		KeyFile:            cfg.Platform.KeyFile,
		InsecureSkipVerify: cfg.Platform.InsecureSkipVerify,
		FixmedinsCode:      cfg.Hospital.FixmedinsCode,
		FixmedinsName:      cfg.Hospital.FixmedinsName,
		MdtrtareaAdmvs:     cfg.Hospital.Admdvs,
		RecerSysCode:       cfg.Platform.RecerSysCode,
		Infver:             cfg.Platform.Infver,
	}
}

func (a *Agent) init() error {
	cfg := a.cfg
	po := PlatformOptions(cfg)
	po.Now, po.Logger = a.now, a.log
	client, err := platform.NewClient(po)
	if err != nil {
		return fmt.Errorf("platform client: %w", err)
	}
	a.client = client
	reserved, err := a.loadMsgidReservation()
	if err != nil {
		return err
	}
	a.msgids, err = platform.NewMsgidGenerator(platform.MsgidOptions{
		FixmedinsCode: cfg.Hospital.FixmedinsCode,
		Node:          cfg.Hospital.MsgidNode,
		Now:           a.now,
		Reserved:      reserved,
		Reserve:       a.reserveMsgids,
	})
	if err != nil {
		return fmt.Errorf("msgid generator: %w", err)
	}
	a.breaker = newBreaker(cfg.Platform.BreakerThreshold, a.now)
	a.breaker.onChange = func(online bool) {
		if online {
			a.log.Info("platform answers again: online; the queue syncs now")
		} else {
			a.log.Warn("platform unreachable: OFFLINE; windows keep working and bills are queued")
		}
	}
	if a.seal.current == nil {
		a.log.Warn("no [store] key: patients' data is stored unencrypted; set one (openssl rand -base64 32)", "setting", "store.key")
	}
	a.locks = newBillLocks()
	a.metrics = newMetrics(a)
	a.learned = newLearned()
	if err := a.loadLearned(); err != nil {
		return err
	}
	if err := a.loadOutstanding(); err != nil {
		return err
	}
	if cfg.Mapping.File != "" {
		a.mapping, err = hisadapter.OpenMappingFile(cfg.Mapping.File, &hisadapter.MappingOptions{Logger: a.log, Now: a.now})
		if err != nil {
			return fmt.Errorf("item code mapping: %w", err)
		}
	} else {
		a.log.Warn("no item code mapping configured: HIS item codes are sent as national codes unchanged", "setting", "mapping.file")
	}
	a.cards = newCardHub(a.now)
	for i := range cfg.Windows {
		w := &cfg.Windows[i]
		for _, p := range []*config.Port{w.Reader, w.Scanner} {
			if p == nil || p.Port == "" {
				continue
			}
			rc := cardreader.Config{Window: w.ID, Port: p.Port, Baud: p.Baud, DataBits: p.DataBits,
				Parity: p.Parity, StopBits: p.StopBits, Protocol: p.Protocol, ReadTimeout: p.ReadTimeout.Duration}
			r, err := cardreader.New(rc, &cardreader.Options{Open: a.opts.OpenPort, OnRead: a.cards.publish, Now: a.now, Logger: a.log})
			if err != nil {
				return fmt.Errorf("window %s reader %s: %w", w.ID, p.Port, err)
			}
			a.readers = append(a.readers, r)
		}
	}
	a.api = a.routes()
	return nil
}

// StoreKeyFile is the store key the agent generates in the data folder for a new store
// when the configuration names none.
const StoreKeyFile = "store.key"

// generatedStoreKey returns the key of a store that has no configured one: the key
// generated for it at its first start, or a new one for a new store. A store that
// already holds records without a key stays unsealed ("" and a warning at start):
// sealing it under a key nobody knows about would lock IT out of their own data.
func (a *Agent) generatedStoreKey(dir string) (string, error) {
	path := filepath.Join(dir, StoreKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	if _, err := os.Stat(filepath.Join(dir, StoreFile)); err == nil {
		return "", nil
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate a store key: %w", err)
	}
	key := base64.StdEncoding.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	_, werr := f.WriteString(key + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return "", fmt.Errorf("store key %s: %w", path, err)
	}
	a.log.Warn("generated a key for the new store; back it up with the data: without it the bills cannot be read",
		"file", path, "setting", "store.key")
	return key, nil
}

// Handler is the agent's HTTP API (tests may serve it themselves).
func (a *Agent) Handler() http.Handler { return a.api }

// Addr is the address the API listens on, once Run has started.
func (a *Agent) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.listenAddr
}

// Run serves until ctx ends, then stops taking bills, lets in-flight platform calls end
// or parks them in the queue, signs out and closes the store.
func (a *Agent) Run(ctx context.Context) error {
	defer a.Close()
	ln := a.opts.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", a.cfg.API.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w (another program uses the port? change [api] listen)", a.cfg.API.Listen, err)
		}
	}
	a.mu.Lock()
	a.listenAddr = ln.Addr().String()
	a.mu.Unlock()
	srv := a.newServer()

	workCtx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	// The HIS listeners open first, so that a taken port fails the start before the
	// API answers that the agent is up.
	if err := a.startHIS(workCtx); err != nil {
		stopWork()
		ln.Close()
		a.wg.Wait()
		return err
	}
	errc := make(chan error, 4)
	a.goRun(func() { errc <- a.serve(srv, ln) })
	a.signIn(ctx, false)
	a.goRun(func() { a.probeLoop(workCtx) })
	a.goRun(func() { a.syncLoop(workCtx) })
	a.goRun(func() { a.retentionLoop(workCtx) })
	if a.mapping != nil {
		a.goRun(func() { a.mapping.Run(workCtx) })
	}
	for _, r := range a.readers {
		r := r
		a.goRun(func() { r.Run(workCtx) })
	}
	a.log.Info("agent started", "listen", a.listenAddr, "version", a.version, "windows", len(a.cfg.Windows),
		"platform", a.cfg.Platform.BaseURL, "offline_policy", a.cfg.Offline.Policy)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.log.Info("agent stopping")
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	shutCtx, cancel := context.WithTimeout(context.Background(), a.cfg.Offline.Deadline.Duration+2*time.Second)
	_ = srv.Shutdown(shutCtx) // in-flight cashier calls end within their deadline (and park in the queue)
	cancel()
	stopWork()
	a.wg.Wait()
	a.signOut()
	a.log.Info("agent stopped")
	return runErr
}

func (a *Agent) goRun(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// Close releases the store. Run calls it on its way out; calling it again is harmless.
func (a *Agent) Close() error {
	var err error
	a.closeOnce.Do(func() { err = a.store.Close() })
	return err
}

func (a *Agent) isClosing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closing
}

// Store exposes the durable store (the queue commands and tests read it).
func (a *Agent) Store() *queue.Store { return a.store }
