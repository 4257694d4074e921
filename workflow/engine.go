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

// Engine runs the workflows of bills against the platform and the store.
type Engine struct {
	o       Options
	st      Store
	pf      Platform
	msgids  Msgids
	log     *slog.Logger
	now     func() time.Time
	obs     Observer
	breaker *Breaker
	locker  Locker
	learned *offline.Learned

	pclock platformClock
	// hasten: the platform came back; the next drain makes every backed-off job due.
	hasten atomic.Bool

	sessionMu sync.Mutex

	mu            sync.Mutex
	outstanding   settle.Money
	closing       bool
	signInRefusal string
}

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
	e := &Engine{o: o, st: o.Store, pf: o.Platform, msgids: o.Msgids, log: o.Logger, now: o.Now, obs: o.Observer,
		locker: o.Locker, learned: offline.NewLearned()}
	if e.locker == nil {
		e.locker = newKeyLocks()
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.obs == nil {
		e.obs = nopObserver{}
	}
	e.breaker = NewBreaker(o.BreakerThreshold, e.now)
	e.breaker.OnChange = func(online bool) {
		if online {
			e.hasten.Store(true)
			e.log.Info("platform answers again: online; the queue syncs now")
		} else {
			e.log.Warn("platform unreachable: OFFLINE; windows keep working and bills are queued")
		}
	}
	if err := e.loadLearned(); err != nil {
		return nil, err
	}
	if err := e.loadOutstanding(); err != nil {
		return nil, err
	}
	return e, nil
}

type nopObserver struct{}

func (nopObserver) PlatformCall(string, platform.Outcome, time.Duration) {}
func (nopObserver) BillEvent(string, string)                             {}

// Breaker is the engine's view of whether the platform is online.
func (e *Engine) Breaker() *Breaker { return e.breaker }

// Outstanding is the fund share carried for bills collected by estimate.
func (e *Engine) Outstanding() settle.Money {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.outstanding
}

// SignedIn reports whether the engine holds a platform session.
func (e *Engine) SignedIn() bool { return e.pf.SignNo() != "" }

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.now() }

// Learned is the policy and catalogue learned from the platform's answers.
func (e *Engine) Learned() *offline.Learned { return e.learned }

// Policy is the offline policy.
func (e *Engine) Policy() offline.Policy { return e.o.Policy }

// Stop makes the engine refuse new work (ErrClosed); in-flight work goes on.
func (e *Engine) Stop() {
	e.mu.Lock()
	e.closing = true
	e.mu.Unlock()
}

func (e *Engine) isClosing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closing
}

// Run runs the engine's background work until ctx ends: the offline probe and the
// daily sign-in, the queue's drain and the retention sweep. It returns when all of
// it has stopped.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){e.probeLoop, e.syncLoop, e.retentionLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	wg.Wait()
}
