package sim

import (
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

// Entry is one booking in the simulator's ledger: a registration (2201), its
// cancellation (2202), a fee upload (2204), a fee cancellation (2205), a settlement
// (2207), a settlement cancellation (2208) or a reversal (2601). Amounts of a
// cancellation or reversal are the negatives of what it undid.
type Entry struct {
	Msgid         string       `json:"msgid"`
	Infno         string       `json:"infno"`
	Time          time.Time    `json:"time"`
	Fixmedins     string       `json:"fixmedins_code,omitempty"`
	PsnNo         string       `json:"psn_no"`
	Insutype      string       `json:"insutype,omitempty"`
	MedType       string       `json:"med_type,omitempty"`
	MdtrtID       string       `json:"mdtrt_id,omitempty"`
	SetlID        string       `json:"setl_id,omitempty"`
	ChrgBchno     string       `json:"chrg_bchno,omitempty"`
	IptNo         string       `json:"ipt_no,omitempty"`   // the hospital's inpatient number (2301–2305, 2401–2405)
	ClrType       string       `json:"clr_type,omitempty"` // 21 for an inpatient settlement; "" is outpatient (11)
	MidSetl       bool         `json:"mid_setl,omitempty"` // a mid-stay inpatient settlement (中途结算)
	MedfeeSumamt  settle.Money `json:"medfee_sumamt"`
	FundPaySumamt settle.Money `json:"fund_pay_sumamt"`
	AcctPay       settle.Money `json:"acct_pay"`
	PsnCashPay    settle.Money `json:"psn_cash_pay"`
	// HospPartAmt is the hospital's share of a settlement (Faults.HospPartAmt).
	HospPartAmt settle.Money `json:"hosp_part_amt,omitempty"`
	// Target is the msgid this entry undoes (2202, 2205, 2208, 2601).
	Target string `json:"target,omitempty"`
	// Reversed is set when a 2601 undid this booking; ReversedBy is its msgid.
	Reversed   bool   `json:"reversed"`
	ReversedBy string `json:"reversed_by,omitempty"`
	// Cancelled is set when a 2202, 2205 or 2208 undid this booking; CancelledBy is its msgid.
	Cancelled   bool   `json:"cancelled"`
	CancelledBy string `json:"cancelled_by,omitempty"`
}

// Live reports whether the booking still stands: neither reversed nor cancelled.
func (e Entry) Live() bool { return !e.Reversed && !e.Cancelled }

// booking is a ledger entry with what a reversal (2601) must do to undo it.
type booking struct {
	Entry
	// undo reverses the effect; a business error refuses the reversal. nil: nothing to undo.
	undo func(s *state, by string) *bizError
	// seq is the booking's place in the ledger.
	seq int
}

// book appends an entry and indexes it by msgid (and a settlement by setl_id, visit and day).
func (s *state) book(b *booking) *booking {
	b.seq = len(s.ledger)
	s.ledger = append(s.ledger, b)
	s.byMsgid[b.Msgid] = append(s.byMsgid[b.Msgid], b)
	s.indexBooking(b)
	return b
}

// Ledger returns a copy of every booking, oldest first.
func (p *Platform) Ledger() []Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Entry, len(p.st.ledger))
	for i, b := range p.st.ledger {
		out[i] = b.Entry
	}
	return out
}

// Settled returns, per chrg_bchno, how many settlements (2207) stand: neither reversed
// nor cancelled. "Exactly once" means every bill maps to 1.
func (p *Platform) Settled() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int)
	for _, b := range p.st.ledger {
		if b.Infno == platform.InfnoSettle && b.Live() {
			out[b.ChrgBchno]++
		}
	}
	return out
}

// Balance returns a person's account balance now, and whether the person exists.
func (p *Platform) Balance(psnNo string) (settle.Money, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps, ok := p.st.persons[psnNo]
	if !ok {
		return 0, false
	}
	return ps.balance, true
}
