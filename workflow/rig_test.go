package workflow_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/offline"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/platform/sim"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/workflow"
)

// Demo fixture cards (platform/sim/fixture/demo.json).
const (
	cardLocalEmployee = "A33010001" // 张伟, 330100, 310, balance 2000
	cardLocalResident = "A33010002" // 李娜, 390
	cardShanghaiFiled = "B31000003" // 王强, 310000, filed
	cardUnfiled       = "C32010004" // 刘芳, 320100, not filed
)

const fixmedins = "H33010200001"

// clock is a settable clock shared by the engine, its store and the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// errNotSent is the fault platform's refusal to send: the call never left.
var errNotSent = fmt.Errorf("fault: connection refused: %w", platform.ErrNotSent)

// errLost is the fault platform's lost answer: the call was (or was not) booked.
var errLost = fmt.Errorf("fault: connection reset after the request: %w", platform.ErrOutcomeUnknown)

// fault is what the fault platform does to one call.
type fault int

const (
	passThrough fault = iota
	notSent           // never leaves
	lostBefore        // outcome unknown, and not processed
	lostAfter         // processed and booked, the answer lost
	late              // outcome unknown now, processed later (Deliver)
	refused           // a business refusal, nothing booked
	surprised         // booked and answered, with a surprise the client noted
	unreadable        // booked and answered infcode 0, the answer lacking setl_id
)

// faultPlatform is the engine's Platform: the real client over loopback HTTP to the
// simulator, with faults decided per call by decide (nil: none). Calls made after a
// crash never leave. A "late" call is kept and sent by Deliver: booked after the
// agent gave up on it.
type faultPlatform struct {
	inner   *platform.Client
	decide  func(infno string) fault
	crashed *atomic.Bool
	// refuseMsg, when set, is the err_msg of a refused call (else a generic one).
	refuseMsg string

	mu    sync.Mutex
	later []lateCall
	calls []string // infno of every call that left
	// reached orders the calls as they reached the platform: msgid -> position
	// (a late call at its landing). The fake clock does not move between calls, so
	// "landed after the bill's last message" is told by this order, not by time.
	reached map[string]int
	seq     int
	// answered lists the msgids of writes the platform booked and answered infcode
	// 0 in a form the client could not read in full (unreadable): a success, never
	// to be reversed (platform.md).
	answered map[string]bool
	// restarts: where in the order of reached calls the agent restarted (a crash).
	restarts []int
}

// restartedBetween reports whether the agent restarted after msgid a reached the
// platform and before msgid b did (what it learned in between may be lost).
func (f *faultPlatform) restartedBetween(a, b string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	from, to := f.reached[a], f.reached[b]
	for _, at := range f.restarts {
		if at >= from && (to == 0 || at < to) {
			return true
		}
	}
	return false
}

// reachedLocked records that msgid reached the platform now; the caller holds f.mu.
func (f *faultPlatform) reachedLocked(msgid string) {
	if f.reached == nil {
		f.reached = map[string]int{}
	}
	f.seq++
	f.reached[msgid] = f.seq
}

// reachedAt is msgid's position in the order calls reached the platform (0: never).
func (f *faultPlatform) reachedAt(msgid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reached[msgid]
}

// landedAfterAll reports whether msgid reached the platform after every other
// message of history did: a late booking of a document whose work was over, which
// the agent cannot see (a person finds it with 5201 or the day's reconciliation).
func (f *faultPlatform) landedAfterAll(msgid string, history []workflow.Message) bool {
	landed := f.reachedAt(msgid)
	if landed == 0 {
		return false
	}
	for _, m := range history {
		if m.Msgid != msgid && f.reachedAt(m.Msgid) > landed {
			return false
		}
	}
	return true
}

type lateCall struct {
	infno string
	meta  platform.Meta
	in    any
}

func (f *faultPlatform) Call(ctx context.Context, infno string, m platform.Meta, in, out any) (*platform.Response, error) {
	if f.crashed != nil && f.crashed.Load() {
		return nil, errNotSent
	}
	d := passThrough
	if f.decide != nil {
		d = f.decide(infno)
	}
	switch d {
	case notSent:
		return nil, errNotSent
	case lostBefore:
		return nil, errLost
	case refused:
		msg := "fault: 业务校验不通过"
		if f.refuseMsg != "" {
			msg = f.refuseMsg
		}
		// Classified as the real client does (the default phrases).
		return nil, &platform.BusinessError{Infno: infno, Infcode: -2, ErrMsg: msg, Kind: platform.DefaultPhrases.Kind(infno, msg)}
	case late:
		f.mu.Lock()
		f.later = append(f.later, lateCall{infno, m, in})
		f.mu.Unlock()
		return nil, errLost
	}
	f.mu.Lock()
	f.calls = append(f.calls, infno)
	f.reachedLocked(m.Msgid)
	f.mu.Unlock()
	resp, err := f.inner.Call(ctx, infno, m, in, out)
	if d == lostAfter {
		return nil, errLost
	}
	if so, ok := out.(*platform.SettleOutput); ok && d == unreadable && err == nil {
		// The client's own check of the answer, as it runs on an answer without
		// setl_id (an unreadable success: ErrBadResponse).
		so.Setlinfo.SetlID = ""
		return resp, fmt.Errorf("call %s %s: %w", infno, m.Msgid, so.ValidateFor(infno))
	}
	if d == unreadable && err == nil {
		f.mu.Lock()
		if f.answered == nil {
			f.answered = map[string]bool{}
		}
		f.answered[m.Msgid] = true
		f.mu.Unlock()
	}
	if so, ok := out.(*platform.InpatientSettleOutput); ok && d == unreadable && err == nil {
		// The same for a stay's 2304.
		so.Setlinfo.SetlID = ""
		return resp, fmt.Errorf("call %s %s: %w", infno, m.Msgid, so.ValidateFor(infno))
	}
	if d == surprised && resp != nil {
		resp.Surprises = append(resp.Surprises, platform.Surprise{Kind: platform.SurpriseIdentity, Field: "setlinfo.medfee_sumamt", Detail: "fault: amounts do not add up"})
	}
	return resp, err
}

// Deliver sends the late calls now (they are booked if the platform takes them).
func (f *faultPlatform) Deliver(ctx context.Context) {
	f.DeliverWhere(ctx, func(string) bool { return true })
}

// DeliverWhere sends now the late calls of the infnos for which land says so; the
// others stay late.
func (f *faultPlatform) DeliverWhere(ctx context.Context, land func(infno string) bool) {
	f.mu.Lock()
	var now, kept []lateCall
	for _, c := range f.later {
		if land(c.infno) {
			now = append(now, c)
		} else {
			kept = append(kept, c)
		}
	}
	f.later = kept
	f.mu.Unlock()
	for _, c := range now {
		f.mu.Lock()
		f.reachedLocked(c.meta.Msgid)
		f.mu.Unlock()
		_, _ = f.inner.Call(ctx, c.infno, c.meta, c.in, nil)
	}
}

// DeliverSome sends now some of the late calls, in an order of their own: pick
// gets how many there are and says which to send, in the order to send them (lost
// messages land neither together nor in order).
func (f *faultPlatform) DeliverSome(ctx context.Context, pick func(n int) []int) {
	f.mu.Lock()
	idx := pick(len(f.later))
	send := make([]lateCall, 0, len(idx))
	taken := map[int]bool{}
	for _, i := range idx {
		if i >= 0 && i < len(f.later) && !taken[i] {
			taken[i] = true
			send = append(send, f.later[i])
		}
	}
	var kept []lateCall
	for i, c := range f.later {
		if !taken[i] {
			kept = append(kept, c)
		}
	}
	f.later = kept
	f.mu.Unlock()
	for _, c := range send {
		f.mu.Lock()
		f.reachedLocked(c.meta.Msgid)
		f.mu.Unlock()
		_, _ = f.inner.Call(ctx, c.infno, c.meta, c.in, nil)
	}
}

func (f *faultPlatform) SignNo() string     { return f.inner.SignNo() }
func (f *faultPlatform) SetSignNo(s string) { f.inner.SetSignNo(s) }

// rig is an engine with a real store on disk and the real simulator over loopback.
type rig struct {
	t      testing.TB
	dir    string
	clock  *clock // the platform's clock
	skew   time.Duration
	sim    *sim.Platform
	simURL string
	client *platform.Client
	pf     *faultPlatform
	st     *store.Store
	eng    *workflow.Engine
	opts   workflow.Options
	qopts  queue.Options
	rng    *rand.Rand
	mapper workflow.Mapper

	billSeq  atomic.Int64
	billBase int64

	crashed atomic.Bool
	// failCommit, when set, fails every commit (a full disk); crashAt counts down
	// commits to a crash (0: none).
	failCommit atomic.Bool
	crashAt    atomic.Int64
	crashAfter bool // the crash comes after the commit's fsync
}

// mapper maps HIS item codes with the fixture's mapping.
type mapper struct{ m *hisadapter.Mapping }

func (m mapper) MapItems(b *settle.Bill) error { return m.m.Map(b, b.CreatedAt) }

var errCrashed = errors.New("the process crashed")

type rigOptions struct {
	fixture *sim.Fixture
	mut     func(*workflow.Options)
	qmut    func(*queue.Options)
	seed    uint64
	dir     string
}

func newRig(tb testing.TB, ro rigOptions) *rig {
	tb.Helper()
	if ro.fixture == nil {
		ro.fixture = sim.DemoFixture()
	}
	r := &rig{t: tb, dir: ro.dir, clock: newClock(time.Date(2026, 11, 23, 9, 0, 0, 0, settle.Beijing)),
		rng: rand.New(rand.NewPCG(ro.seed, 7))}
	if r.dir == "" {
		r.dir = tb.TempDir()
	}
	if ro.seed == 0 {
		r.billBase = billSeq.Add(1000) // distinct numbers across the rigs of one test binary
	}
	r.sim = sim.New(ro.fixture, &sim.Options{Seed: 1, Now: r.clock.Now})
	url, stop, err := sim.Start(context.Background(), "", r.sim)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = stop() })
	r.simURL = url
	tb.Cleanup(func() {
		if rep := r.sim.RepeatedMsgids(); len(rep) > 0 {
			tb.Errorf("msgids sent twice to the platform: %v", rep)
		}
	})
	r.client, err = platform.NewClient(platform.Options{BaseURL: url, FixmedinsCode: fixmedins, FixmedinsName: "T",
		MdtrtareaAdmvs: "330100", Timeout: 5 * time.Second, Now: r.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.client.Close)
	r.pf = &faultPlatform{inner: r.client, crashed: &r.crashed}
	m, err := hisadapter.ParseMapping(bytes.NewReader(ro.fixture.MappingCSV()))
	if err != nil {
		tb.Fatal(err)
	}
	r.mapper = mapper{m}
	r.qopts = queue.Options{Now: r.now, MinBackoff: time.Second, MaxBackoff: 30 * time.Second, Horizon: 7 * 24 * time.Hour,
		Retention: 30 * 24 * time.Hour, NoSweep: true,
		Jitter: func(n time.Duration) time.Duration { return time.Duration(r.rng.Int64N(int64(n))) }}
	if ro.qmut != nil {
		ro.qmut(&r.qopts)
	}
	r.qopts.BeforeCommit = r.beforeCommit
	r.qopts.AfterCommit = r.afterCommit
	policy, _ := offline.ParsePolicy("full", "", 0, 0)
	r.opts = workflow.Options{Admdvs: "330100", Deadline: 3 * time.Second, CallTimeout: 5 * time.Second,
		Policy: policy, Retention: 30 * 24 * time.Hour, BreakerThreshold: 3}
	if ro.mut != nil {
		ro.mut(&r.opts)
	}
	r.open()
	return r
}

// now is the agent's clock: the platform's plus the skew.
func (r *rig) now() time.Time { return r.clock.Now().Add(r.skew) }

func (r *rig) beforeCommit() error {
	if r.crashed.Load() {
		return errCrashed
	}
	if r.failCommit.Load() {
		return errors.New("no space left on device")
	}
	if n := r.crashAt.Load(); !r.crashAfter && n > 0 && r.crashAt.Add(-1) == 0 {
		r.crashed.Store(true)
		return errCrashed
	}
	return nil
}

func (r *rig) afterCommit() {
	if n := r.crashAt.Load(); r.crashAfter && n > 0 && r.crashAt.Add(-1) == 0 {
		r.crashed.Store(true)
	}
}

// open opens the store and builds the engine (as agent.New does).
func (r *rig) open() {
	r.t.Helper()
	st, err := store.Open(r.dir, &store.Options{Queue: r.qopts})
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
	reserved, err := st.MsgidReservation()
	if err != nil {
		r.t.Fatal(err)
	}
	gen, err := platform.NewMsgidGenerator(platform.MsgidOptions{FixmedinsCode: fixmedins, Node: -1, Now: r.now,
		Reserved: reserved, Reserve: st.ReserveMsgids})
	if err != nil {
		r.t.Fatal(err)
	}
	o := r.opts
	o.Store, o.Platform, o.Msgids, o.Now = st, r.pf, gen, r.now
	if o.Mapper == nil {
		o.Mapper = r.mapper
	}
	if r.eng, err = workflow.New(o); err != nil {
		r.t.Fatal(err)
	}
	if err := r.eng.Queue.Recover(context.Background()); err != nil && !r.crashed.Load() {
		r.t.Fatal(err)
	}
	r.eng.Link.SignIn(context.Background(), true)
	r.t.Cleanup(func() { _ = st.Close() })
}

// restart ends this run (a crash when crashed is set) and starts a new one on the same
// store file.
func (r *rig) restart() {
	r.t.Helper()
	_ = r.st.Close()
	r.crashed.Store(false)
	r.crashAt.Store(0)
	r.pf.mu.Lock()
	r.pf.restarts = append(r.pf.restarts, r.pf.seq)
	r.pf.mu.Unlock()
	r.open()
}

var billSeq atomic.Int64

// bill is a valid two-line bill for a fixture person. Bill numbers are unique per
// rig and per process (a seeded simulation numbers its bills the same every run).
func (r *rig) bill(card string) settle.Bill {
	n := r.billSeq.Add(1) + r.billBase
	q1, _ := settle.ParseQty("1")
	p1, _ := settle.ParsePrice("25.00")
	q2, _ := settle.ParseQty("14")
	p2, _ := settle.ParsePrice("1.50")
	return settle.Bill{
		BillNo: fmt.Sprintf("MZ%08d", n), Window: "W01",
		Patient: settle.Patient{MdtrtCertType: settle.CertSSCard, MdtrtCertNo: card},
		MedType: settle.MedTypeOutpatient, Dept: settle.Code{Code: "0301", Name: "内科"},
		Doctor: settle.Code{Code: "D0042", Name: "王医生"},
		Items: []settle.Item{
			{Line: 1, HISCode: "ZL0001", Name: "普通门诊诊查费", Qty: q1, UnitPrice: p1, Amount: settle.MustMoney("25.00")},
			{Line: 2, HISCode: "YP0003", Name: "厄贝沙坦片", Qty: q2, UnitPrice: p2, Amount: settle.MustMoney("21.00")},
		},
		Total: settle.MustMoney("46.00"), CreatedAt: r.now(),
	}
}

func (r *rig) mustSubmit(b settle.Bill) *workflow.Record {
	r.t.Helper()
	res, err := r.eng.Bills.SubmitBill(context.Background(), b, b.BillNo, "test")
	if err != nil {
		r.t.Fatalf("submit %s: %v", b.BillNo, err)
	}
	return res.Bill
}

func (r *rig) mustSettle(billNo string) workflow.Result {
	r.t.Helper()
	res, err := r.eng.Bills.SettleBill(context.Background(), billNo, "", "")
	if err != nil {
		r.t.Fatalf("settle %s: %v", billNo, err)
	}
	return res
}

func (r *rig) mustBill(billNo string) *workflow.Record {
	r.t.Helper()
	rec, err := r.eng.Bills.Bill(billNo)
	if err != nil {
		r.t.Fatalf("bill %s: %v", billNo, err)
	}
	return rec
}

// drain syncs due jobs until none is due (at most rounds rounds), advancing the
// clock by step between rounds so backoffs come due.
func (r *rig) drain(rounds int, step time.Duration) {
	r.t.Helper()
	for i := 0; i < rounds; i++ {
		if !r.eng.Link.Breaker().Online() {
			r.eng.Link.Probe(context.Background())
		}
		n, err := r.eng.Queue.SyncOnce(context.Background(), 64)
		if err != nil {
			r.t.Fatalf("sync: %v", err)
		}
		st, _ := r.st.Stats()
		if n == 0 && st.Ready == 0 && st.Leased == 0 {
			return
		}
		r.clock.Advance(step)
	}
}

// liveSettlements counts the platform's live 2207 bookings per visit (mdtrt_id).
func (r *rig) liveSettlements() map[string][]sim.Entry {
	out := map[string][]sim.Entry{}
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoSettle && e.Live() {
			out[e.MdtrtID] = append(out[e.MdtrtID], e)
		}
	}
	return out
}

// checkNoDouble fails when any visit holds more than one live settlement.
func (r *rig) checkNoDouble() {
	r.t.Helper()
	for mdtrt, es := range r.liveSettlements() {
		if len(es) > 1 {
			r.t.Errorf("visit %s holds %d live settlements at the platform; want at most 1", mdtrt, len(es))
		}
	}
}
