package workflow

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/offline"
	"github.com/settle-agent/settle-agent/platform"
)

// Msgids hands out message ids, each unique forever (platform.MsgidGenerator).
type Msgids interface {
	Next() (string, error)
}

// Options build an Engine. Store, Platform and Msgids are required; a zero duration
// or count means its default.
type Options struct {
	Store Store
	// Locker serialises the work on one bill or stay; nil means this process's own
	// locks (one machine). A group of machines passes etcdstore.NewLocker.
	Locker   Locker
	Platform Platform
	Msgids   Msgids
	// Mapper maps HIS item codes; nil sends them as national codes unchanged.
	Mapper   Mapper
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time

	// Admdvs is the treatment area (the hospital's region code).
	Admdvs string
	// Windows reports whether a window is configured; nil accepts every window.
	Windows func(id string) bool
	// Deadline is how long a cashier waits for the platform (default 3 s).
	Deadline time.Duration
	// CallTimeout bounds one platform call outside a cashier request (default 10 s).
	CallTimeout time.Duration
	// Policy is the offline policy.
	Policy offline.Policy
	// StayOffline is what a stay's settlement asked while offline does (StayDefer when
	// empty); the estimate of Policy never applies to stays.
	StayOffline StayOffline
	// BreakerThreshold: calls without a definite answer in a row before offline (3).
	BreakerThreshold int
	// Retention: settled and cancelled bills are removed this long after their day
	// (0: never).
	Retention time.Duration
	// ProbeInterval: how often the offline probe asks the platform (5 s).
	ProbeInterval time.Duration
	// ProbeCertType, ProbeCertNo: a test person for a 1101 probe; empty means 9001.
	ProbeCertType, ProbeCertNo string
	// SyncConcurrency bounds the bills synced at once (8); SyncRate bounds how many
	// start per second (0: no bound).
	SyncConcurrency int
	SyncRate        float64
	// SignIn is what 9001 says of this machine (operator, MAC, IP).
	SignInOpter, SignInMac, SignInIP string
	// Catalogue gives the offline estimate the class, cap and self-pay share of items
	// never seen settled (a catalogue.Estimator); nil: such items count as own pay.
	Catalogue offline.Catalogue
}

// Engine runs the workflows of bills and inpatient stays against the platform and
// the store. It holds its parts and runs their background work:
//
//   - Link, the link to the platform: sign-in and session, the offline probe and
//     breaker, the platform's clock, msgids, the person cache and the learned policy;
//   - Bills, the outpatient bill workflow;
//   - Stays, the inpatient stay workflow;
//   - Queue, the durable queue's drain, its administration, recovery and the
//     retention sweep.
type Engine struct {
	Link  *Link
	Bills *Bills
	Stays *Stays
	Queue *Queue
	c     *core
}

// core is what every part of the engine shares: its options, the store, the clock,
// the log, the locks and the other parts.
type core struct {
	o      Options
	st     Store
	log    *slog.Logger
	now    func() time.Time
	obs    Observer
	locker Locker

	link  *Link
	bills *Bills
	stays *Stays
	queue *Queue

	mu      sync.Mutex
	closing bool
}

// Link is the engine's link to the platform: the session (9001/9002), the offline
// probe and breaker, the platform's clock, msgids, the person cache and the policy
// learned from the platform's answers.
type Link struct {
	*core
	pf      Platform
	msgids  Msgids
	breaker *Breaker
	learned *offline.Learned
	pclock  platformClock
	// hasten: the platform came back; the next drain makes every backed-off job due.
	hasten atomic.Bool

	sessionMu sync.Mutex

	refusalMu     sync.Mutex
	signInRefusal string
}

// Bills is the outpatient bill workflow: submit, settle and cancel a bill, resolve
// its unknown outcomes, and the bills as the status page and reports read them.
type Bills struct {
	*core
	mu          sync.Mutex
	outstanding settle.Money
}

// Stays is the inpatient stay workflow: admission, fee batches, discharge, mid-stay
// and final settlements, their cancellations and the resolution of their unknown
// outcomes.
type Stays struct{ *core }

// Queue drains the durable queue (bills and stays synced when the platform answers),
// moves jobs by hand, recovers documents left mid-step and sweeps old ones.
type Queue struct{ *core }

// New builds an engine and loads what it learned before (policy, outstanding amount).
func New(o Options) (*Engine, error) {
	if o.Store == nil || o.Platform == nil || o.Msgids == nil {
		return nil, fmt.Errorf("workflow: Store, Platform and Msgids are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Deadline, 3*time.Second)
	def(&o.CallTimeout, 10*time.Second)
	def(&o.ProbeInterval, 5*time.Second)
	if o.SyncConcurrency <= 0 {
		o.SyncConcurrency = 8
	}
	if o.Policy.Mode == "" {
		o.Policy.Mode = offline.Full
	}
	c := &core{o: o, st: o.Store, log: o.Logger, now: o.Now, obs: o.Observer, locker: o.Locker}
	if c.locker == nil {
		c.locker = newKeyLocks()
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.obs == nil {
		c.obs = nopObserver{}
	}
	c.link = &Link{core: c, pf: o.Platform, msgids: o.Msgids, learned: offline.NewLearned()}
	c.bills = &Bills{core: c}
	c.stays = &Stays{core: c}
	c.queue = &Queue{core: c}
	link := c.link
	link.breaker = NewBreaker(o.BreakerThreshold, c.now)
	link.breaker.OnChange = func(online bool) {
		if online {
			link.hasten.Store(true)
			c.log.Info("platform answers again: online; the queue syncs now")
		} else {
			c.log.Warn("platform unreachable: OFFLINE; windows keep working and bills are queued")
		}
	}
	if err := link.loadLearned(); err != nil {
		return nil, err
	}
	if err := c.bills.loadOutstanding(); err != nil {
		return nil, err
	}
	return &Engine{Link: c.link, Bills: c.bills, Stays: c.stays, Queue: c.queue, c: c}, nil
}

type nopObserver struct{}

func (nopObserver) PlatformCall(string, platform.Outcome, time.Duration) {}
func (nopObserver) BillEvent(string, string)                             {}

// Breaker is the engine's view of whether the platform is online.
func (e *Link) Breaker() *Breaker { return e.breaker }

// Outstanding is the fund share carried for bills collected by estimate.
func (e *Bills) Outstanding() settle.Money {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.outstanding
}

// SignedIn reports whether the engine holds a platform session.
func (e *Link) SignedIn() bool { return e.pf.SignNo() != "" }

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.c.now() }

// Learned is the policy and catalogue learned from the platform's answers.
func (e *Link) Learned() *offline.Learned { return e.learned }

// Policy is the offline policy.
func (e *Link) Policy() offline.Policy { return e.o.Policy }

// Stop makes the engine refuse new work (ErrClosed); in-flight work goes on.
func (e *Engine) Stop() {
	e.c.mu.Lock()
	e.c.closing = true
	e.c.mu.Unlock()
}

func (e *core) isClosing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closing
}

// Run runs the engine's background work until ctx ends: the offline probe and the
// daily sign-in, the queue's drain and the retention sweep. It returns when all of
// it has stopped.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){e.Link.probeLoop, e.Queue.syncLoop, e.Queue.retentionLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	wg.Wait()
}
