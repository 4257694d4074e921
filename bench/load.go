package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform/sim"
)

// billMaker makes the bills the windows post: the fixture's local and filed persons
// by social security card, two catalogue items each.
type billMaker struct {
	patients []settle.Patient
	items    []settle.Item
	total    settle.Money
}

func newBillMaker(fx *sim.Fixture) (*billMaker, error) {
	m := &billMaker{}
	cards := map[string]settle.Card{}
	for _, c := range fx.Cards() {
		if c.CertType == settle.CertSSCard {
			cards[c.CardNo] = c
		}
	}
	for _, p := range fx.Persons {
		if p.Probe || !(p.InsuplcAdmdvs == fx.TreatmentAdmdvs || p.Filed) {
			continue
		}
		if c, ok := cards[p.CardNo]; ok && len(m.patients) < 5 {
			m.patients = append(m.patients, c.Patient())
		}
	}
	want := map[string]bool{"ZL0001": true, "JY0001": true}
	for _, it := range fx.Catalogue() {
		if !want[it.MedinsListCodg] {
			continue
		}
		q, _ := settle.ParseQty("1")
		line := settle.Item{Line: len(m.items) + 1, HISCode: it.MedinsListCodg, Name: it.Name, Qty: q,
			UnitPrice: it.Price, Amount: settle.LineAmount(q, it.Price)}
		m.items = append(m.items, line)
		m.total += line.Amount
	}
	if len(m.patients) == 0 || len(m.items) != len(want) {
		return nil, fmt.Errorf("bench e2e: the demo fixture lacks local persons or items ZL0001, JY0001")
	}
	return m, nil
}

func (m *billMaker) body(billNo, window string, n int) []byte {
	b := settle.Bill{
		BillNo: billNo, Window: window, Patient: m.patients[n%len(m.patients)], MedType: settle.MedTypeOutpatient,
		Dept: settle.Code{Code: "0301", Name: "内科"}, Doctor: settle.Code{Code: "D0042", Name: "王医生"},
		Diagnoses: []settle.Code{{Code: "J06.900", Name: "急性上呼吸道感染"}}, Items: m.items, Total: m.total,
	}
	data, _ := json.Marshal(b)
	return data
}

// chainTimes is what one window measured.
type chainTimes struct {
	chain    []time.Duration // pre-settle + settle, client side
	agentReq []time.Duration // per request: latency minus platform time
	agentCh  []time.Duration // per chain: the same, summed over its two requests
	platform []time.Duration // per request: platform time
	untimed  int             // answers without Server-Timing
}

// load runs the windows through full online chains (1101+2201+2204+2206, then 2207):
// first flat out for the load time (settle_per_s, settle_p99_ms: the windows never
// wait, so the agent is saturated and a request's latency is mostly its place in the
// line), then paced at Options.Pace chains per window per second for a third of the
// load time (overhead_p99_ms: the agent's own time when it is not saturated).
func (r *run) load(ctx context.Context) error {
	m, err := newBillMaker(sim.DemoFixture())
	if err != nil {
		return err
	}
	prof := r.startProfile(ctx, "load.pprof", r.opt.Load-r.opt.Load/10)
	cpu0 := r.cpuNow()
	all, elapsed, err := r.windows(ctx, m, "L", r.opt.Load, 0)
	cpu1 := r.cpuNow()
	r.res.LoadAvgLoad, _ = readLoadAvg()
	if err != nil {
		return err
	}
	if err := prof(); err != nil {
		return err
	}
	res := r.res
	res.Chains = len(all.chain)
	if res.Chains == 0 {
		return fmt.Errorf("bench e2e: no chain finished in %s", r.opt.Load)
	}
	res.SettlePerS = float64(res.Chains) / elapsed.Seconds()
	res.SettleP99Ms = ms(p99(all.chain))
	res.SaturatedOverheadP99Ms = ms(p99(all.agentReq))
	res.PlatformP99Ms = ms(p99(all.platform))
	r.say("settle          %8.0f /s   (%d full chains 1101+2201+2204+2206 then 2207 by %d windows in %.1f s; target >= 1000: %s)",
		res.SettlePerS, res.Chains, r.opt.Windows, elapsed.Seconds(), verdict(res.SettlePerS >= 1000))
	r.say("settle p99      %8.2f ms   (pre-settle + settle as a window sees them, windows never waiting)", res.SettleP99Ms)
	r.say("  saturated overhead p99 %.2f ms per request (latency minus Server-Timing platform time); platform p99 %.2f ms",
		res.SaturatedOverheadP99Ms, res.PlatformP99Ms)
	res.AgentCPUMsPerChain, res.SimCPUMsPerChain, res.ClientCPUMsPerChain = r.perUnit(cpu0, cpu1, res.Chains)
	r.say("agent CPU       %8.2f ms per chain (user + system of the agent's process; target <= 0.9: %s); platform %.2f ms, %s %.2f ms; load average %.1f",
		res.AgentCPUMsPerChain, verdict(res.AgentCPUMsPerChain <= 0.9), res.SimCPUMsPerChain, r.selfName(), res.ClientCPUMsPerChain, res.LoadAvgLoad)
	warnUntimed(r, all)

	period := time.Duration(float64(time.Second) / r.opt.Pace)
	paced, pelapsed, err := r.windows(ctx, m, "P", max(r.opt.Load/3, time.Second), period)
	if err != nil {
		return err
	}
	res.PacedChains = len(paced.chain)
	res.PacedPerS = float64(res.PacedChains) / pelapsed.Seconds()
	res.OverheadP99Ms = ms(p99(paced.agentReq))
	res.ChainOverheadP99 = ms(p99(paced.agentCh))
	r.say("overhead p99    %8.2f ms   (per request, latency minus platform time, at %.0f chains/s: each window one chain every %s; target <= 5: %s)",
		res.OverheadP99Ms, res.PacedPerS, period, verdict(res.OverheadP99Ms <= 5))
	res.OverheadP50Ms = ms(quantile(paced.agentReq, 0.5))
	r.say("  per chain     %8.2f ms   (the same summed over a chain's two requests; chain p99 %.2f ms); per request p50 %.2f ms",
		res.ChainOverheadP99, ms(p99(paced.chain)), res.OverheadP50Ms)
	warnUntimed(r, paced)
	return nil
}

func warnUntimed(r *run, t chainTimes) {
	if t.untimed > 0 {
		r.say("  WARNING: %d answers had no Server-Timing header: their whole latency counts as overhead", t.untimed)
	}
}

// windows runs every window through online chains for d, each starting a chain every
// period (0: at once after the last), and returns what they measured together.
func (r *run) windows(ctx context.Context, m *billMaker, prefix string, d, period time.Duration) (chainTimes, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first error of any window (a Pointer: errors of different types may come).
	var firstErr atomic.Pointer[error]
	fail := func(err error) { firstErr.CompareAndSwap(nil, &err); cancel() }
	times := make([]chainTimes, r.opt.Windows)
	var wg sync.WaitGroup
	start := time.Now()
	stopAt := start.Add(d)
	for w := range r.opt.Windows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, tok, t := windowID(w+1), windowToken(w+1), &times[w]
			next := start
			if period > 0 { // spread the windows over the period
				next = start.Add(period * time.Duration(w) / time.Duration(r.opt.Windows))
			}
			for n := 0; ctx.Err() == nil; n++ {
				if period > 0 {
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Until(next)):
					}
					next = next.Add(period)
				}
				if !time.Now().Before(stopAt) {
					return
				}
				no := fmt.Sprintf("%s%s%07d", prefix, id, n)
				pre, err := r.sysFor(w).do(ctx, "POST", "/v1/bills", tok, m.body(no, id, w+n))
				if err == nil && pre.status != 201 {
					err = fmt.Errorf("%w: POST /v1/bills %s: %d %s", ErrUnexpected, no, pre.status, pre.body)
				}
				if err != nil {
					fail(err)
					return
				}
				set, err := r.sysFor(w).do(ctx, "POST", "/v1/bills/"+no+"/settle", tok, []byte(`{}`))
				if err == nil && set.status != 200 {
					err = fmt.Errorf("%w: POST /v1/bills/%s/settle online: %d %s", ErrUnexpected, no, set.status, set.body)
				}
				if err != nil {
					fail(err)
					return
				}
				t.chain = append(t.chain, pre.latency+set.latency)
				var own time.Duration
				for _, a := range []answer{pre, set} {
					if !a.timed {
						t.untimed++
					}
					t.agentReq = append(t.agentReq, a.latency-a.platform)
					t.platform = append(t.platform, a.platform)
					own += a.latency - a.platform
				}
				t.agentCh = append(t.agentCh, own)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if p := firstErr.Load(); p != nil {
		err := *p
		return chainTimes{}, 0, fmt.Errorf("bench e2e: online load: %w", err)
	}
	var all chainTimes
	for _, t := range times {
		all.chain = append(all.chain, t.chain...)
		all.agentReq = append(all.agentReq, t.agentReq...)
		all.agentCh = append(all.agentCh, t.agentCh...)
		all.platform = append(all.platform, t.platform...)
		all.untimed += t.untimed
	}
	return all, elapsed, nil
}

func p99(d []time.Duration) time.Duration { return quantile(d, 0.99) }

// quantile sorts d and returns its q quantile (0 for none).
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(int(float64(len(d))*q), len(d)-1)]
}

// backlog cuts the platform, has the windows queue r.opt.Backlog bills (pre-settled
// by estimate, settle answered 202), brings the platform back and times the drain.
func (r *run) backlog(ctx context.Context) error {
	m, err := newBillMaker(sim.DemoFixture())
	if err != nil {
		return err
	}
	// The agent notices the outage on the first bills' calls (its breaker opens); those
	// bills wait out the platform timeout before their estimate, as at a real window.
	if err := r.plat.setDown(ctx, true); err != nil {
		return err
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	// The first error of any window (a Pointer: errors of different types may come).
	var firstErr atomic.Pointer[error]
	fail := func(err error) { firstErr.CompareAndSwap(nil, &err); cancel() }
	var wg sync.WaitGroup
	start := time.Now()
	for w := range r.opt.Windows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, tok := windowID(w+1), windowToken(w+1)
			for ctx2.Err() == nil {
				n := int(next.Add(1)) - 1
				if n >= r.opt.Backlog {
					return
				}
				no := fmt.Sprintf("Q%s%07d", id, n)
				pre, err := r.sysFor(w).do(ctx2, "POST", "/v1/bills", tok, m.body(no, id, n))
				if err == nil && pre.status != 201 {
					err = fmt.Errorf("%w: POST /v1/bills %s offline: %d %s", ErrUnexpected, no, pre.status, pre.body)
				}
				if err != nil {
					fail(err)
					return
				}
				set, err := r.sysFor(w).do(ctx2, "POST", "/v1/bills/"+no+"/settle", tok, []byte(`{}`))
				if err == nil && set.status != 202 {
					err = fmt.Errorf("%w: POST /v1/bills/%s/settle offline: %d %s", ErrUnexpected, no, set.status, set.body)
				}
				if err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		err := *p
		return fmt.Errorf("bench e2e: queue the backlog: %w", err)
	}
	fill := time.Since(start)
	r.res.BacklogFillPerS = float64(r.opt.Backlog) / fill.Seconds()
	z, err := r.sys.readyz(ctx)
	if err != nil {
		return err
	}
	r.say("backlog queued  %8d bills in %.1f s offline (%.0f bills/s, 202 after fsync); queue ready %d",
		r.opt.Backlog, fill.Seconds(), r.res.BacklogFillPerS, z.Queue.Ready)
	if z.Queue.Ready != r.opt.Backlog {
		return fmt.Errorf("%w: %d bills queued, the queue holds %d ready", ErrUnexpected, r.opt.Backlog, z.Queue.Ready)
	}

	wins := make([]*rssWindow, len(r.procs))
	for i, p := range r.procs {
		wins[i] = p.rss.open()
	}
	t0 := time.Now()
	cpu0 := r.cpuNow()
	if err := r.plat.setDown(ctx, false); err != nil {
		return err
	}
	prof := r.startProfile(ctx, "drain.pprof", 5*time.Second)
	lastSay := t0
	err = poll(ctx, 30*time.Minute, 100*time.Millisecond, "the queue to drain", func() (bool, error) {
		if p := r.exited(); p != nil {
			return false, fmt.Errorf("%w while draining: %v (see %s)", ErrAgentExited, p.waitErr(), p.outPath)
		}
		z, err := r.sys.readyz(ctx)
		if err != nil {
			return false, nil
		}
		if z.Queue.Failed+z.Queue.Dead > 0 {
			return false, fmt.Errorf("%w: %d queued bills failed and %d died while draining (see %s)", ErrUnexpected, z.Queue.Failed, z.Queue.Dead, r.sys.dir)
		}
		if time.Since(lastSay) >= 10*time.Second {
			lastSay = time.Now()
			peak, _ := r.rssMax()
			r.say("  draining: %d left after %.0f s, RSS %.1f MB", z.Queue.Ready+z.Queue.Leased, time.Since(t0).Seconds(), mb(peak))
		}
		return z.Queue.Ready+z.Queue.Leased == 0, nil
	})
	drain := time.Since(t0)
	cpu1 := r.cpuNow()
	var w rssWindow // the largest node's
	for i, p := range r.procs {
		x := p.rss.done(wins[i])
		w.first, w.last, w.peak = max(w.first, x.first), max(w.last, x.last), max(w.peak, x.peak)
	}
	if err != nil {
		return err
	}
	if err := prof(); err != nil {
		return err
	}
	res := r.res
	res.DrainPerS = float64(r.opt.Backlog) / drain.Seconds()
	res.DrainRSSStartMB, res.DrainRSSEndMB, res.DrainRSSMaxMB = mb(w.first), mb(w.last), mb(w.peak)
	r.say("drain           %8.0f /s   (%d bills in %.1f s, concurrency %d; target >= 1000: %s)",
		res.DrainPerS, r.opt.Backlog, drain.Seconds(), r.opt.SyncConcurrency, verdict(res.DrainPerS >= 1000))
	res.DrainAgentCPUMsPerBill, res.DrainSimCPUMsPerBill, _ = r.perUnit(cpu0, cpu1, r.opt.Backlog)
	r.say("  CPU while draining: agent %.2f ms per bill, platform %.2f ms per bill", res.DrainAgentCPUMsPerBill, res.DrainSimCPUMsPerBill)
	r.say("  RSS while draining: %.1f MB at start, %.1f MB at most, %.1f MB at the end", res.DrainRSSStartMB, res.DrainRSSMaxMB, res.DrainRSSEndMB)
	st, err := r.sys.status(ctx)
	if err != nil {
		return err
	}
	if got, want := st.Bills["settled"], res.Chains+res.PacedChains+r.opt.Backlog; got != want || st.Queue.Queued+st.Queue.Inflight != 0 {
		return fmt.Errorf("%w: after the drain the agent holds %d settled bills and %d queued; want %d and 0",
			ErrUnexpected, got, st.Queue.Queued+st.Queue.Inflight, want)
	}
	return nil
}

// startProfile takes a CPU profile of the agent into Options.ProfileDir/name, when set.
func (r *run) startProfile(ctx context.Context, name string, d time.Duration) func() error {
	if r.opt.ProfileDir == "" {
		return func() error { return nil }
	}
	path := filepath.Join(r.opt.ProfileDir, name)
	wait := r.sys.profile(ctx, path, d)
	return func() error {
		if err := wait(); err != nil {
			return fmt.Errorf("bench e2e: profile %s: %w", name, err)
		}
		r.say("  CPU profile of the agent: %s", path)
		return nil
	}
}

// selfName says what this process's CPU covers.
func (r *run) selfName() string {
	if r.plat.proc != nil {
		return "windows' clients"
	}
	return "windows' clients + platform (in process)"
}
