// Package storetest is the contract of workflow.Store: one suite of tests that every
// implementation passes (store.Store on bbolt, etcdstore.Store on etcd), so that the
// stores cannot drift apart in what the engine relies on — documents and their index
// entries kept in line, the order and limits of every listing, the atomicity of
// Update, and the durable queue's semantics (one job per key at a time, in order;
// backoff, horizon, postpone, fail, dead, retry, withdraw, lease expiry, hasten).
//
// An implementation's test calls Run with a function that opens a new, empty store
// on the queue options it is given (its clock, backoff and horizon):
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, q queue.Options) workflow.Store { ... })
//	}
package storetest

import (
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/workflow"
)

// Open opens a new, empty store with these queue options; it closes the store when
// the test ends (t.Cleanup).
type Open func(t *testing.T, q queue.Options) workflow.Store

// Run runs the whole contract against the stores open makes, one new store per test.
func Run(t *testing.T, open Open) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := NewClock()
			c.test(t, &rig{t: t, clock: clock, open: open})
		})
	}
}

// Cases is how many behaviours the contract proves (for reports).
func Cases() int { return len(cases) }

type contractCase struct {
	name string
	test func(t *testing.T, r *rig)
}

var cases []contractCase

// add registers a case of the contract (from the init functions of the case files).
func add(name string, test func(t *testing.T, r *rig)) {
	cases = append(cases, contractCase{name, test})
}

// rig opens the store under test on a controlled clock.
type rig struct {
	t     *testing.T
	clock *Clock
	open  Open
}

// Queue settings of the contract: a first backoff of 10 s doubling to 1 min, a lease
// of 30 s and a horizon of one hour, the jitter fixed at its largest.
const (
	minBackoff = 10 * time.Second
	maxBackoff = time.Minute
	leaseTime  = 30 * time.Second
	horizon    = time.Hour
)

func (r *rig) store() workflow.Store {
	return r.open(r.t, queue.Options{
		Now: r.clock.Now, MinBackoff: minBackoff, MaxBackoff: maxBackoff,
		LeaseTime: leaseTime, Horizon: horizon, NoSweep: true,
		Jitter: func(n time.Duration) time.Duration { return n - 1 },
	})
}
