package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/recon"
	"github.com/settle-agent/settle-agent/workflow"
)

// The API sees the agent through the small interfaces below, which it declares and
// the agent fills (the engine, the queue, the reconciler); tests fill them with
// hand-written fakes. Each is what one group of endpoints needs, nothing more.

// Bills is what the bill endpoints, the status page and the metrics need of the
// engine (a *workflow.Engine).
type Bills interface {
	SubmitBill(ctx context.Context, b settle.Bill, key, source string) (workflow.Result, error)
	Bill(billNo string) (*workflow.Record, error)
	SettleBill(ctx context.Context, billNo, acctUsed, setlway string) (workflow.Result, error)
	CancelBill(ctx context.Context, billNo string) (workflow.Result, error)
	Bills(state workflow.State, after string, limit int, since time.Time) ([]*workflow.Record, error)
	BillCounts() map[workflow.State]int
	BillsOfDay(day string) ([]*workflow.Record, error)
	RecentBills(n int) []*workflow.Record
	SurprisedBills(n int) []*workflow.Record
	// Outstanding is the fund share carried for bills collected by estimate.
	Outstanding() settle.Money
}

// Stays is what the inpatient stay endpoints and the status page need of the engine.
type Stays interface {
	SubmitAdmission(ctx context.Context, a settle.Admission, source string) (workflow.StayResult, error)
	Stay(iptNo string) (*workflow.StayRecord, error)
	// Stays lists up to limit stays in state after ipt_no `after` (the status page).
	Stays(state workflow.State, after string, limit int) ([]*workflow.StayRecord, error)
	SubmitStayFees(ctx context.Context, iptNo string, b settle.FeeBatch, source string) (workflow.StayResult, error)
	CancelStayFees(ctx context.Context, iptNo, batchNo string) (workflow.StayResult, error)
	SubmitDischarge(ctx context.Context, iptNo string, d settle.Discharge, source string) (workflow.StayResult, error)
	PresettleStay(ctx context.Context, iptNo string, req settle.StaySettle) (workflow.StayResult, error)
	SettleStay(ctx context.Context, iptNo string, req settle.StaySettle) (workflow.StayResult, error)
	CancelStaySettlement(ctx context.Context, iptNo, setlID string) (workflow.StayResult, error)
	CancelStay(ctx context.Context, iptNo, source string) (workflow.StayResult, error)
	StaySummary() workflow.StaySummary
}

// Persons looks up an insured person (1101, or the cache while offline) for the
// card and lookup endpoints.
type Persons interface {
	FindPerson(ctx context.Context, pt settle.Patient) (p *settle.Person, source string, cachedAt time.Time, err error)
}

// Link is the state of the link to the platform, for the status page, /readyz and
// the metrics.
type Link interface {
	Breaker() *workflow.Breaker
	SignedIn() bool
	SignInRefusal() string
}

// Queue is what the admin endpoints and the status page read of the durable queue
// (a *queue.Store).
type Queue interface {
	List(f queue.Filter) ([]*queue.Record, error)
	Get(id uint64) (*queue.Record, error)
	Stats() (queue.Stats, error)
}

// Jobs moves a queue record by hand together with its document (the engine's
// RetryJob and KillJob).
type Jobs interface {
	RetryJob(ctx context.Context, id uint64) error
	KillJob(ctx context.Context, id uint64) error
}

// Reconciler builds the day's reconciliation (a *recon.Reconciler).
type Reconciler interface {
	Reconcile(ctx context.Context, day string, check bool) (*recon.Reconciliation, error)
}

// Window is one cashier window as the API knows it: its id and its bearer token.
type Window struct {
	ID    string
	Token string
}

// tokenEqual compares a configured token with one a request sent in constant time;
// an empty configured token matches nothing.
func tokenEqual(configured, sent string) bool {
	a, b := sha256.Sum256([]byte(configured)), sha256.Sum256([]byte(sent))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && configured != ""
}

// windowByToken is the window whose token is tok. Every window is compared, so the
// time taken does not tell which one matched.
func (s *Server) windowByToken(tok string) (Window, bool) {
	found := -1
	for i, w := range s.o.Windows {
		if tokenEqual(w.Token, tok) && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return Window{}, false
	}
	return s.o.Windows[found], true
}

// window reports whether id is a configured window.
func (s *Server) window(id string) bool {
	for _, w := range s.o.Windows {
		if w.ID == id {
			return true
		}
	}
	return false
}
