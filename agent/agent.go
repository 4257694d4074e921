// Package agent wires settle-agent together: it opens the store, builds the platform
// client, the settlement engine (package workflow), the HTTP API (package httpapi),
// reconciliation (package recon), the card readers and the HIS inputs from the
// configuration, and runs them. It holds no workflow of its own.
//
// The program is an *Agent: New opens the store and builds the parts, Run serves until
// its context ends (the service manager's Stop cancels it), Close releases what New took.
package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/httpapi"
	"github.com/settle-agent/settle-agent/offline"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/recon"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/workflow"
)

// Errors of the agent's wiring; the workflows' own are in package workflow.
var (
	// ErrClosed means the agent is shutting down (workflow.ErrClosed).
	ErrClosed = workflow.ErrClosed

	// ErrNotSignedIn: a catalogue call waits for a session (9001) the platform did
	// not give; the catalogue sync tries again later.
	ErrNotSignedIn = errors.New("not signed in to the platform (9001): catalogue calls need a session; the sync tries again later")
)

// StoreFile is the name of the store in the data folder.
const StoreFile = store.File

// StoreKeyFile is the store key the agent generates in the data folder for a new store
// when the configuration names none.
const StoreKeyFile = store.KeyFile

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
	// ReaderHostArgs and ReaderHostEnv start the reader-host child of a vendor library
	// reader; nil means `reader-host --stdio` of this program (tests re-execute theirs).
	ReaderHostArgs, ReaderHostEnv []string
}

// Agent is the running program.
type Agent struct {
	cfg  *config.Config
	log  *slog.Logger
	now  func() time.Time
	opts Options
	// st is where the engine keeps its documents: the bbolt file of one machine
	// (bolt) or the group's etcd (storage.go, cluster.go); node is this machine's
	// place in its group (nil on a single machine).
	st      storage
	bolt    *store.Store
	node    *cluster.Node
	client  *platform.Client
	engine  *workflow.Engine
	api     *httpapi.Server
	mapping *hisadapter.MappingFile
	rd      readerSet
	// catalogue is the local copy of the platform's catalogue (catalogue.go).
	catalogue *catalogue.Service
	catStore  *catalogue.Store

	mu         sync.Mutex
	listenAddr string
	hl7Addr    string
	// intake paces every HIS input together (startHIS makes it; the drop folder,
	// started later, shares it).
	intake    *hisadapter.Intake
	closing   bool
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New opens the store and builds every part from cfg; nothing is served until Run.
func New(cfg *config.Config, o *Options) (*Agent, error) {
	if o == nil {
		o = &Options{}
	}
	a := &Agent{cfg: cfg, opts: *o, log: o.Logger, now: o.Now}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.opts.Version == "" {
		a.opts.Version = "dev"
	}
	policy, err := offline.ParsePolicy(cfg.Offline.Policy, cfg.Offline.DefaultRatio, cfg.Offline.MaxBillAmount, cfg.Offline.MaxOutstandingAmount)
	if err != nil {
		return nil, fmt.Errorf("[offline]: %w", err)
	}
	if cfg.Cluster != nil {
		err = a.openGroup()
	} else {
		err = a.openBolt()
	}
	if err != nil {
		return nil, err
	}
	if err := a.init(policy); err != nil {
		a.Close()
		return nil, err
	}
	if a.node == nil {
		// One machine: what the last run left half done is queued now. In a group
		// the leader does it (workflow.Engine.RunLeader), under its fence.
		if err := a.engine.Queue.Recover(context.Background()); err != nil {
			a.Close()
			return nil, fmt.Errorf("recover in-flight bills: %w", err)
		}
	}
	return a, nil
}

// QueueOptions are the durable queue's settings from the configuration, the same
// for the bbolt file and the group's etcd.
func QueueOptions(cfg *config.Config, now func() time.Time) queue.Options {
	return queue.Options{
		Horizon:   cfg.Offline.RetryHorizon.Duration,
		Retention: cfg.Store.Retention.Duration,
		LeaseTime: 2*cfg.Platform.Timeout.Duration + 30*time.Second,
		// A queued bill is retried at least every 30 s: when a flaky line steadies,
		// no bill waits minutes in backoff.
		MinBackoff: time.Second,
		MaxBackoff: 30 * time.Second,
		Now:        now,
	}
}

// PlatformOptions are the platform client's options from the configuration (the
// agent's and doctor's client alike); the caller sets the clock and logger.
func PlatformOptions(cfg *config.Config) platform.Options {
	return platform.Options{
		BaseURL:            cfg.Platform.BaseURL,
		Path:               cfg.Platform.Path,
		Paths:              cfg.Platform.Paths,
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
		FileInArray:        cfg.Platform.FileInArray,
		Phrases: platform.Phrases{
			OriginalNotFound:  cfg.Platform.Phrases.OriginalNotFound,
			AlreadySettled:    cfg.Platform.Phrases.AlreadySettled,
			SessionExpired:    cfg.Platform.Phrases.SessionExpired,
			NothingToCancel:   cfg.Platform.Phrases.NothingToCancel,
			AlreadyRegistered: cfg.Platform.Phrases.AlreadyRegistered,
			EnvelopeRefused:   cfg.Platform.Phrases.EnvelopeRefused,
			AlreadyDischarged: cfg.Platform.Phrases.AlreadyDischarged,
			NotDischarged:     cfg.Platform.Phrases.NotDischarged,
			LinesDiffer:       cfg.Platform.Phrases.LinesDiffer,
		},
		Crypto: cfg.Platform.Crypto.Settings(),
	}
}

// mapper adapts the reloading mapping file to the engine's Mapper.
type mapper struct{ f *hisadapter.MappingFile }

func (m mapper) MapItems(b *settle.Bill) error { return m.f.Current().Map(b, b.CreatedAt) }

func (a *Agent) init(policy offline.Policy) error {
	cfg := a.cfg
	po := PlatformOptions(cfg)
	po.Now, po.Logger = a.now, a.log
	client, err := platform.NewClient(po)
	if err != nil {
		return fmt.Errorf("platform client: %w", err)
	}
	a.client = client
	reserved, err := a.st.msgids.Reserved()
	if err != nil {
		return err
	}
	node := cfg.Hospital.MsgidNode
	if cfg.Cluster != nil {
		node = cfg.Cluster.NodeDigit
	}
	msgids, err := platform.NewMsgidGenerator(platform.MsgidOptions{
		FixmedinsCode: cfg.Hospital.FixmedinsCode,
		Node:          node,
		Now:           a.now,
		Reserved:      reserved,
		Reserve:       a.st.msgids.Reserve,
	})
	if err != nil {
		return fmt.Errorf("msgid generator: %w", err)
	}
	if !a.st.sealed {
		a.log.Warn("no [store] key: patients' data is stored unencrypted; set one (openssl rand -base64 32)", "setting", "store.key")
	}
	if err := a.openCatalogue(client, msgids); err != nil {
		return err
	}
	var mapItems workflow.Mapper
	if cfg.Mapping.File != "" {
		a.mapping, err = hisadapter.OpenMappingFile(cfg.Mapping.File, &hisadapter.MappingOptions{Logger: a.log, Now: a.now,
			Check: a.catalogue.ReloadCheck()})
		if err != nil {
			return fmt.Errorf("item code mapping: %w", err)
		}
		mapItems = mapper{a.mapping}
	} else {
		a.log.Warn("no item code mapping configured: HIS item codes are sent as national codes unchanged", "setting", "mapping.file")
	}
	obs := &observer{}
	a.engine, err = workflow.New(workflow.Options{
		Store: a.st.docs, Locker: a.st.locker, Platform: client, Msgids: msgids, Mapper: mapItems, Observer: obs,
		Logger: a.log, Now: a.now,
		Admdvs: cfg.Hospital.Admdvs,
		Windows: func(id string) bool {
			_, ok := cfg.Window(id)
			return ok
		},
		Deadline:         cfg.Offline.Deadline.Duration,
		CallTimeout:      cfg.Platform.Timeout.Duration,
		Policy:           policy,
		StayOffline:      workflow.StayOffline(cfg.Offline.Inpatient),
		BreakerThreshold: cfg.Platform.BreakerThreshold,
		Retention:        cfg.Store.Retention.Duration,
		ProbeInterval:    cfg.Platform.ProbeInterval.Duration,
		ProbeCertType:    cfg.Platform.ProbeCertType,
		ProbeCertNo:      cfg.Platform.ProbeCertNo,
		SyncConcurrency:  cfg.Sync.Concurrency,
		SyncRate:         cfg.Sync.RatePerSecond,
		SignInMac:        macAddress(),
		SignInIP:         hostIP(),
		Catalogue:        catalogue.Estimator{Store: a.catStore, Admdvs: cfg.Hospital.Admdvs},
	})
	if err != nil {
		return err
	}
	cards := httpapi.NewCardHub(a.now)
	if err := a.buildReaders(cards.Publish); err != nil {
		return err
	}
	rec := &recon.Reconciler{Bills: a.reconBills, Call: a.engine.Link.Call, DetailRecon: client.DetailReconByFile, Meta: a.engine.Link.Meta,
		Online: a.engine.Link.Breaker().Online, SetlOptins: cfg.Hospital.Admdvs}
	a.api, err = httpapi.New(httpapi.Options{
		Bills: a.engine.Bills, Stays: a.engine.Stays, Persons: a.engine.Link, Link: a.engine.Link, Jobs: a.engine.Queue,
		Queue: a.st.queue, Reconciler: rec, Cards: cards, Cluster: a.apiCluster(),
		Listen: cfg.API.Listen, HostNames: cfg.API.HostNames, AdminToken: cfg.API.AdminToken.Value(), Windows: apiWindows(cfg),
		TLSCert: cfg.API.TLSCert, TLSKey: cfg.API.TLSKey, ClientCA: cfg.API.ClientCA,
		MaxBodyBytes: cfg.API.MaxBodyBytes, RateLimit: cfg.API.RateLimit,
		ReadTimeout: cfg.API.ReadTimeout.Duration, WriteTimeout: cfg.API.WriteTimeout.Duration, IdleTimeout: cfg.API.IdleTimeout.Duration,
		Language: cfg.API.Language, Hospital: cfg.Hospital.FixmedinsName + " (" + cfg.Hospital.FixmedinsCode + ")",
		Readers: a.readerStates, Mapping: a.mappingStatus, Closing: a.isClosing, Catalogue: a.catalogue, Backup: a.st.backup,
		Demand: a.rd.demand, RemoteReaders: a.remoteHandler(), DecodeVoucher: a.decodeVoucher,
		Version: a.opts.Version, Logger: a.log, Now: a.now,
	})
	if err != nil {
		return err
	}
	obs.m = a.api.Metrics()
	return nil
}

// apiWindows are the configured windows with their tokens, as the API checks them.
func apiWindows(cfg *config.Config) []httpapi.Window {
	out := make([]httpapi.Window, 0, len(cfg.Windows))
	for _, w := range cfg.Windows {
		out = append(out, httpapi.Window{ID: w.ID, Token: w.Token.Value()})
	}
	return out
}

// observer forwards the engine's events to the API's metrics (built after it).
type observer struct{ m *httpapi.Metrics }

func (o *observer) PlatformCall(infno string, out platform.Outcome, d time.Duration) {
	if o.m != nil {
		o.m.PlatformCall(infno, out, d)
	}
}

func (o *observer) BillEvent(event, via string) {
	if o.m != nil {
		o.m.BillEvent(event, via)
	}
}

func (a *Agent) mappingStatus() *httpapi.MappingStatus {
	if a.mapping == nil {
		return nil
	}
	m := &httpapi.MappingStatus{LoadedAt: a.mapping.LoadedAt()}
	if cur := a.mapping.Current(); cur != nil {
		m.Entries = cur.Len()
	}
	if err := a.mapping.LastError(); err != nil {
		m.LastError = err.Error()
	}
	return m
}

// reconBills is the day's bills as reconciliation sees them.
func (a *Agent) reconBills(day string) ([]recon.Bill, error) {
	recs, err := a.engine.Bills.BillsOfDay(day)
	if err != nil {
		return nil, err
	}
	out := make([]recon.Bill, 0, len(recs))
	for _, r := range recs {
		out = append(out, ReconBill(r))
	}
	stays, err := a.reconStays(day)
	return append(out, stays...), err
}

// ReconBill is a bill as package recon sees it.
func ReconBill(r *workflow.Record) recon.Bill {
	return recon.Bill{BillNo: r.Bill.BillNo, Window: r.Bill.Window, State: string(r.State), Total: r.Bill.Total,
		Offline: r.Offline, Collected: r.Collected, Settlement: r.Settlement, SettleMsgid: r.SettleMsgid,
		MdtrtID: r.MdtrtID, PsnNo: r.PsnNo,
		Insutype: r.Insutype, Cancelled: r.Cancelled,
		Pending:     r.State == workflow.StateQueued || r.State == workflow.StateSettling,
		NeedsPerson: r.State == workflow.StateFailed || r.State == workflow.StateDead}
}

// Handler is the agent's HTTP API (tests may serve it themselves).
func (a *Agent) Handler() http.Handler { return a.api.Handler() }

// Engine is the settlement engine (tests drive it directly).
func (a *Agent) Engine() *workflow.Engine { return a.engine }

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
	srv := a.api.HTTPServer()

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
	a.goRun(func() { errc <- a.api.Serve(srv, ln) })
	a.goRun(func() { a.api.SampleDay(workCtx) })
	a.engine.Link.SignIn(ctx, false)
	if a.node == nil {
		a.goRun(func() { a.engine.Run(workCtx) })
		a.goRun(func() { a.runDropFolder(workCtx) })
	} else {
		// Each node probes and signs in on its own session; the leader alone drains
		// the queue, sweeps retention and reads the drop folder (cluster.go).
		a.goRun(func() { a.engine.RunNode(workCtx) })
		a.goRun(func() { a.lead(workCtx) })
	}
	if a.mapping != nil {
		a.goRun(func() { _ = a.mapping.Run(workCtx) })
	}
	a.goRun(func() { _ = a.catalogue.Run(workCtx) })
	a.runReaders(workCtx)
	a.log.Info("agent started", "listen", a.listenAddr, "version", a.opts.Version, "windows", len(a.cfg.Windows),
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
	a.engine.Stop()
	shutCtx, cancel := context.WithTimeout(context.Background(), a.cfg.Offline.Deadline.Duration+2*time.Second)
	_ = srv.Shutdown(shutCtx) // in-flight cashier calls end within their deadline (and park in the queue)
	cancel()
	stopWork()
	a.wg.Wait()
	a.engine.Link.SignOut()
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
	a.closeOnce.Do(func() {
		if a.client != nil {
			a.client.Close()
		}
		if a.catStore != nil {
			a.catStore.Close()
		}
		err = a.st.close()
	})
	return err
}

func (a *Agent) isClosing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closing
}

// Store exposes the durable store's queue (the queue commands and tests read it);
// nil in a group, whose queue is in etcd.
func (a *Agent) Store() *queue.Store {
	if a.bolt == nil {
		return nil
	}
	return a.bolt.Queue()
}

func macAddress() string {
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 && len(i.HardwareAddr) > 0 {
			return strings.ToUpper(i.HardwareAddr.String())
		}
	}
	return ""
}

func hostIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}
