// Package offline holds what the agent decides on its own while the provincial
// platform cannot be reached (offline.md): the typed offline policy, what a window
// collects under it, and the local estimate of a bill's split from the policy and
// catalogue learned from the platform's earlier answers. Everything here is a pure
// function of its inputs: no clock, no store, no platform.
package offline

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
)

// Errors of this package.
var (
	// ErrPolicy: an offline policy that is not full, estimate or refuse, or a bad ratio.
	ErrPolicy = errors.New("invalid offline policy")
)

// Mode is what a window collects while offline.
type Mode string

// The offline modes (offline.md).
const (
	// Full: the patient pays the whole bill now; the fund's share is refunded after sync.
	Full Mode = "full"
	// Estimate: the patient pays the estimated own share now; the hospital carries the
	// fund's share, bounded by MaxBill and MaxOutstanding.
	Estimate Mode = "estimate"
	// Refuse: insured settlement is refused while offline.
	Refuse Mode = "refuse"
)

// Policy is a hospital's offline policy.
type Policy struct {
	Mode Mode
	// MaxBill: a bill over it falls back to Full (Estimate only).
	MaxBill settle.Money
	// MaxOutstanding bounds the fund share carried for every bill collected by
	// estimate and not settled yet; past it a bill falls back to Full.
	MaxOutstanding settle.Money
	// DefaultRatio is the fund ratio of an insured place nothing was learned of.
	DefaultRatio decimal.Decimal
}

// ParsePolicy builds a Policy from the configuration's words; an empty mode is Full
// and an empty ratio 0.70.
func ParsePolicy(mode, defaultRatio string, maxBill, maxOutstanding settle.Money) (Policy, error) {
	p := Policy{Mode: Mode(mode), MaxBill: maxBill, MaxOutstanding: maxOutstanding}
	switch p.Mode {
	case "":
		p.Mode = Full
	case Full, Estimate, Refuse:
	default:
		return p, fmt.Errorf("%w: mode %q is not full, estimate or refuse", ErrPolicy, mode)
	}
	if defaultRatio == "" {
		defaultRatio = "0.70"
	}
	r, err := decimal.NewFromString(defaultRatio)
	if err != nil || r.IsNegative() || r.GreaterThan(decimal.NewFromInt(1)) {
		return p, fmt.Errorf("%w: default_ratio %q is not a ratio between 0 and 1", ErrPolicy, defaultRatio)
	}
	p.DefaultRatio = r
	return p, nil
}

// Collect decides what the window collects now for a queued bill of total whose
// estimated cash share is own, with outstanding already carried: it returns what to
// collect and how much fund share the hospital carries for the bill.
func (p Policy) Collect(total, own, outstanding settle.Money) (collect, carried settle.Money) {
	if p.Mode != Estimate {
		return total, 0
	}
	own = min(max(own, 0), total)
	carry := total - own
	if total > p.MaxBill || outstanding+carry > p.MaxOutstanding {
		return total, 0
	}
	return own, carry
}

// ItemClass is what the platform said of one catalogue item (from 2204 answers).
type ItemClass struct {
	SelfpayProp string `json:"selfpay_prop"` // share the patient pays first (乙类)
	OwnPay      bool   `json:"own_pay"`      // wholly self-paid (丙类)
}

// Learned is the policy and catalogue the agent has seen the platform apply: each
// national item code's class and the fund ratio per insured place, insurance type
// and medical type. Safe for concurrent use.
type Learned struct {
	mu     sync.RWMutex
	items  map[string]ItemClass
	ratios map[string]decimal.Decimal
}

// NewLearned is an empty table.
func NewLearned() *Learned {
	return &Learned{items: map[string]ItemClass{}, ratios: map[string]decimal.Decimal{}}
}

// RatioKey names one ratio.
func RatioKey(insuplc, insutype, medType string) string {
	return insuplc + "|" + insutype + "|" + medType
}

// SetItem records an item's class; it reports whether that changed anything.
func (l *Learned) SetItem(code string, c ItemClass) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.items[code]; ok && old == c {
		return false
	}
	l.items[code] = c
	return true
}

// SetRatio records a ratio; it reports whether that changed anything.
func (l *Learned) SetRatio(key string, r decimal.Decimal) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.ratios[key]; ok && old.Equal(r) {
		return false
	}
	l.ratios[key] = r
	return true
}

// Clone is a copy of what was learned so far (to ask later what an estimate made
// now would have said).
func (l *Learned) Clone() *Learned {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c := NewLearned()
	for k, v := range l.items {
		c.items[k] = v
	}
	for k, v := range l.ratios {
		c.ratios[k] = v
	}
	return c
}

// Item returns an item's class.
func (l *Learned) Item(code string) (ItemClass, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	c, ok := l.items[code]
	return c, ok
}

// Ratio returns a learned ratio.
func (l *Learned) Ratio(key string) (decimal.Decimal, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r, ok := l.ratios[key]
	return r, ok
}

// Input is what an estimate is made from.
type Input struct {
	Bill     *settle.Bill
	PsnNo    string
	Insutype string
	Insuplc  string
	// Known: the patient's insurance is known (from the platform or the cache).
	Known bool
	// DeductibleOpen: at the patient's last settlement here the deductible took the
	// whole insured amount, so the year's deductible may not be met yet.
	DeductibleOpen bool
	// UseAccount: the personal account pays first (employees), up to Balance.
	UseAccount bool
	Balance    settle.Money
	// Catalogue splits the lines of items never seen settled by the treatment area's
	// catalogue (package catalogue); nil: such items count as own pay.
	Catalogue Catalogue
	// Day is the fee's day the catalogue is read for.
	Day time.Time
}

// Catalogue is what the synced catalogue says of one bill line (catalogue.Estimator):
// own (丙), over the price cap, and a 乙 item's share paid first; ok false when it
// does not know the item's class.
type Catalogue interface {
	SplitItem(it settle.Item, insutype string, day time.Time) (own, overlimit, preself settle.Money, ok bool)
}

// EstimateSplit is the agent's own split of a bill: 丙 items wholly own pay, 乙 items
// their self-pay share first, the fund ratio of the patient's insured place on the
// rest, the account before cash. Items never seen settled take the catalogue's class,
// cap and self-pay share (Input.Catalogue); items neither seen nor in the catalogue
// count as own pay, and an unknown
// patient or an open deductible gets no fund share: an estimate errs towards the
// patient paying more now and being refunded later.
func EstimateSplit(in Input, l *Learned, p Policy) settle.Split {
	b := in.Bill
	s := settle.Split{MedfeeSumamt: b.Total, PsnNo: in.PsnNo, Insutype: in.Insutype, InsuplcAdmdvs: in.Insuplc}
	for _, it := range b.Items {
		c, ok := l.Item(it.MedListCodg)
		if !ok && in.Catalogue != nil {
			if own, over, pre, known := in.Catalogue.SplitItem(it, in.Insutype, in.Day); known {
				s.FulamtOwnpayAmt += own
				s.OverlmtSelfpay += over
				s.PreselfpayAmt += pre
				continue
			}
		}
		switch {
		case !ok || c.OwnPay:
			s.FulamtOwnpayAmt += it.Amount
		case c.SelfpayProp != "" && c.SelfpayProp != "0":
			if pr, err := decimal.NewFromString(c.SelfpayProp); err == nil {
				s.PreselfpayAmt += it.Amount.MulRatio(pr)
			}
		}
	}
	ratio, ok := l.Ratio(RatioKey(in.Insuplc, in.Insutype, b.MedType))
	if !ok {
		ratio = p.DefaultRatio
	}
	if !in.Known || in.Insutype == "" || in.DeductibleOpen {
		ratio = decimal.Zero
	}
	s.InscpScpAmt = max(s.MedfeeSumamt-s.FulamtOwnpayAmt-s.OverlmtSelfpay-s.PreselfpayAmt, 0)
	s.HifpPay = s.InscpScpAmt.MulRatio(ratio)
	s.FundPaySumamt = s.HifpPay
	s.PsnPartAmt = s.MedfeeSumamt - s.FundPaySumamt
	s.PsnCashPay = s.PsnPartAmt
	if in.UseAccount && in.Insutype == settle.InsutypeEmployee && in.Balance > 0 {
		s.AcctPay = min(in.Balance, s.PsnPartAmt)
		s.PsnCashPay = s.PsnPartAmt - s.AcctPay
		s.Balc = in.Balance - s.AcctPay
	}
	return s
}
