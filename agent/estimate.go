package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/shopspring/decimal"
	bolt "go.etcd.io/bbolt"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/queue"
)

// Offline policies (offline.md).
const (
	policyFull     = "full"
	policyEstimate = "estimate"
	policyRefuse   = "refuse"
)

// learned is the policy and catalogue the agent has seen the platform apply: the
// self-pay share of each national item code (from 2204 answers) and the fund ratio per
// insured place, insurance type and medical type (from 2207 answers). The offline
// estimate uses it; nothing here is ever sent to the platform.
type learned struct {
	mu     sync.RWMutex
	items  map[string]itemClass       // med_list_codg -> class
	ratios map[string]decimal.Decimal // insuplc|insutype|med_type -> fund ratio
}

// itemClass is what the platform said of one catalogue item.
type itemClass struct {
	SelfpayProp string `json:"selfpay_prop"` // share the patient pays first (乙类)
	OwnPay      bool   `json:"own_pay"`      // wholly self-paid (丙类)
}

func newLearned() *learned {
	return &learned{items: map[string]itemClass{}, ratios: map[string]decimal.Decimal{}}
}

func ratioKey(insuplc, insutype, medType string) string {
	return insuplc + "|" + insutype + "|" + medType
}

func (a *Agent) loadLearned() error {
	return a.store.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLearned)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			key := string(k)
			switch {
			case len(key) > 2 && key[:2] == "i:":
				var c itemClass
				if err := json.Unmarshal(v, &c); err != nil {
					return fmt.Errorf("learned item %s: %w", key, err)
				}
				a.learned.items[key[2:]] = c
			case len(key) > 2 && key[:2] == "r:":
				d, err := decimal.NewFromString(string(v))
				if err != nil {
					return fmt.Errorf("learned ratio %s: %w", key, err)
				}
				a.learned.ratios[key[2:]] = d
			}
			return nil
		})
	})
}

// learnFees remembers each item's class from a 2204 answer.
func (a *Agent) learnFees(rec *billRecord, results []platform.FeeResult) {
	byLine := map[string]string{}
	for _, it := range rec.Bill.Items {
		byLine[fmt.Sprint(it.Line)] = it.MedListCodg
	}
	updates := map[string][]byte{}
	a.learned.mu.Lock()
	for _, r := range results {
		code := byLine[r.FeedetlSn]
		if code == "" {
			continue
		}
		c := itemClass{SelfpayProp: r.SelfpayProp.String(), OwnPay: r.FulamtOwnpayAmt > 0 && r.FulamtOwnpayAmt == r.DetItemFeeSumamt}
		if old, ok := a.learned.items[code]; ok && old == c {
			continue
		}
		a.learned.items[code] = c
		v, _ := json.Marshal(c)
		updates["i:"+code] = v
	}
	a.learned.mu.Unlock()
	a.persistLearned(rec, updates)
}

// learnSettlement remembers the fund ratio the platform applied, and what the
// settlement says of the patient: the account balance after it, and whether the
// deductible is still being paid off.
func (a *Agent) learnSettlement(rec *billRecord) {
	s := rec.Settlement
	pt := rec.Bill.Patient
	if s.ActPayDedc > 0 || s.HifpPay > 0 || s.AcctPay > 0 {
		open := s.ActPayDedc > 0 && s.HifpPay == 0
		met := s.HifpPay > 0
		err := a.updateCachedPerson(context.Background(), rec, pt.MdtrtCertType, pt.MdtrtCertNo, func(cp *cachedPerson) {
			if open {
				cp.DedcOpen = true
			} else if met {
				cp.DedcOpen = false
			}
			for i := range cp.Person.Insuinfo {
				if cp.Person.Insuinfo[i].Insutype == rec.Insutype && s.AcctPay > 0 {
					cp.Person.Insuinfo[i].Balc = s.Balc
				}
			}
		})
		if err != nil {
			a.log.Warn("update cached person", "err", err)
		}
	}
	base := s.InscpScpAmt - s.ActPayDedc
	if base <= 0 || s.HifpPay <= 0 {
		return
	}
	ratio := s.HifpPay.Decimal().Div(base.Decimal()).Round(2)
	key := ratioKey(rec.Insuplc, rec.Insutype, rec.Bill.MedType)
	a.learned.mu.Lock()
	old, ok := a.learned.ratios[key]
	a.learned.ratios[key] = ratio
	a.learned.mu.Unlock()
	if !ok || !old.Equal(ratio) {
		a.persistLearned(rec, map[string][]byte{"r:" + key: []byte(ratio.String())})
	}
}

func (a *Agent) persistLearned(rec *billRecord, updates map[string][]byte) {
	if len(updates) == 0 {
		return
	}
	// Learned policy is a cache: it rides on the bill's next save.
	rec.ride(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketLearned)
		if err != nil {
			return err
		}
		for k, v := range updates {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// estimate is the agent's own split of a bill from the learned policy and catalogue:
// 丙 items wholly own pay, 乙 items their self-pay share first, the fund ratio of the
// patient's insured place on the rest, the account (employees) before cash. Items the
// agent has never seen are counted as own pay, so an estimate errs towards the patient
// paying more now and being refunded later.
func (a *Agent) estimate(rec *billRecord) settle.Split {
	b := &rec.Bill
	s := settle.Split{MedfeeSumamt: b.Total, PsnNo: rec.PsnNo, Insutype: rec.Insutype, InsuplcAdmdvs: rec.Insuplc}
	a.learned.mu.RLock()
	for _, it := range b.Items {
		c, ok := a.learned.items[it.MedListCodg]
		switch {
		case !ok || c.OwnPay:
			s.FulamtOwnpayAmt += it.Amount
		case c.SelfpayProp != "" && c.SelfpayProp != "0":
			if p, err := decimal.NewFromString(c.SelfpayProp); err == nil {
				s.PreselfpayAmt += it.Amount.MulRatio(p)
			}
		}
	}
	ratio, ok := a.learned.ratios[ratioKey(rec.Insuplc, rec.Insutype, b.MedType)]
	a.learned.mu.RUnlock()
	if !ok {
		ratio = a.defaultRatio
	}
	if rec.Insutype == "" || a.deductibleOpen(rec) {
		// Never seen this patient, or their deductible (起付线) was not met at their last
		// settlement: estimate no fund share rather than promise one.
		ratio = decimal.Zero
	}
	s.InscpScpAmt = s.MedfeeSumamt - s.FulamtOwnpayAmt - s.PreselfpayAmt
	s.HifpPay = s.InscpScpAmt.MulRatio(ratio)
	s.FundPaySumamt = s.HifpPay
	s.PsnPartAmt = s.MedfeeSumamt - s.FundPaySumamt
	s.PsnCashPay = s.PsnPartAmt
	if rec.AcctUsedFlag != platform.AcctNotUsed && rec.Person != nil {
		if in, ok := rec.Person.Primary(); ok && in.Insutype == settle.InsutypeEmployee && in.Balc > 0 {
			s.AcctPay = min(in.Balc, s.PsnPartAmt)
			s.PsnCashPay = s.PsnPartAmt - s.AcctPay
			s.Balc = in.Balc - s.AcctPay
		}
	}
	return s
}

// deductibleOpen reports whether the patient's last settlement here left the
// deductible unmet.
func (a *Agent) deductibleOpen(rec *billRecord) bool {
	pt := rec.Bill.Patient
	cp, err := a.cachedPerson(pt.MdtrtCertType, pt.MdtrtCertNo)
	return err == nil && cp != nil && cp.DedcOpen
}

// collectNow decides what the window collects from the patient for a queued bill under
// the offline policy, and how much fund share the hospital carries for it.
func (a *Agent) collectNow(rec *billRecord, prov *settle.Split) (collect, carried settle.Money) {
	total := rec.Bill.Total
	if a.cfg.Offline.Policy != policyEstimate {
		return total, 0
	}
	own := prov.PsnCashPay
	carry := total - own
	if total > a.cfg.Offline.MaxBillAmount {
		return total, 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outstanding+carry > a.cfg.Offline.MaxOutstandingAmount {
		return total, 0
	}
	return own, carry
}

// addOutstanding adds m to the persisted total of fund share the hospital carries for
// bills collected by estimate. It runs inside a Batch transaction and may run twice: it
// reads and writes the stored value, and the in-memory copy is refreshed after commit.
func (a *Agent) addOutstanding(tx *queue.Tx, m settle.Money) error {
	if m == 0 {
		return nil
	}
	b, err := tx.Bolt().CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	var cur settle.Money
	if v := b.Get(keyOutstanding); v != nil {
		if cur, err = settle.ParseMoney(string(v)); err != nil {
			return fmt.Errorf("outstanding amount %q: %w", v, err)
		}
	}
	cur = max(cur+m, 0)
	return b.Put(keyOutstanding, []byte(cur.String()))
}

// releaseOutstanding removes a bill's carried share once it is settled or cancelled.
func (a *Agent) releaseOutstanding(tx *queue.Tx, rec *billRecord) error {
	if rec.Collected == nil || rec.Provisional == nil {
		return nil
	}
	if carried := rec.Bill.Total - *rec.Collected; carried > 0 {
		return a.addOutstanding(tx, -carried)
	}
	return nil
}

var keyOutstanding = []byte("outstanding")

func (a *Agent) loadOutstanding() error {
	return a.store.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return nil
		}
		if v := b.Get(keyOutstanding); v != nil {
			m, err := settle.ParseMoney(string(v))
			if err != nil {
				return fmt.Errorf("outstanding amount %q: %w", v, err)
			}
			a.mu.Lock()
			a.outstanding = m
			a.mu.Unlock()
		}
		return nil
	})
}
