package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/offline"
	"github.com/settle-agent/settle-agent/platform"
)

// Learned policy is kept as documents of KindLearned: "i:<national code>" holds an
// item's class, "r:<insuplc|insutype|med_type>" a fund ratio.

// loadLearned reads the learned policy. It is a cache: what cannot be read (a key
// rotated away, a damaged entry) is logged and learned again.
func (e *Link) loadLearned() error {
	err := e.st.View(func(tx ReadTx) error {
		return tx.ForEach(KindLearned, func(id string, v []byte) error {
			switch {
			case strings.HasPrefix(id, "i:"):
				var c offline.ItemClass
				if err := json.Unmarshal(v, &c); err != nil {
					return fmt.Errorf("learned item %s: %w", id, err)
				}
				e.learned.SetItem(id[2:], c)
			case strings.HasPrefix(id, "r:"):
				d, err := decimal.NewFromString(string(v))
				if err != nil {
					return fmt.Errorf("learned ratio %s: %w", id, err)
				}
				e.learned.SetRatio(id[2:], d)
			}
			return nil
		})
	})
	if err != nil {
		e.log.Warn("learned policy not read; the offline estimate learns it again", "err", err)
	}
	return nil
}

// learnFees remembers each item's class from a 2204 answer, and the answer's amounts
// per line (the 2207 inputs come from them).
func (e *Link) learnFees(rec *Record, results []platform.FeeResult) {
	byLine := map[string]string{}
	for _, it := range rec.Bill.Items {
		byLine[FeedetlSn(rec, it.Line)] = it.MedListCodg
	}
	updates := map[string][]byte{}
	rec.FeeResults = rec.FeeResults[:0]
	for _, r := range results {
		rec.FeeResults = append(rec.FeeResults, FeeLine{FeedetlSn: r.FeedetlSn, FulamtOwnpayAmt: r.FulamtOwnpayAmt.Money(),
			OverlmtAmt: r.OverlmtAmt.Money(), PreselfpayAmt: r.PreselfpayAmt.Money(), InscpScpAmt: r.InscpScpAmt.Money()})
		code := byLine[r.FeedetlSn]
		if code == "" {
			continue
		}
		c := offline.ItemClass{SelfpayProp: r.SelfpayProp.String(), OwnPay: r.FulamtOwnpayAmt > 0 && r.FulamtOwnpayAmt == r.DetItemFeeSumamt}
		if e.learned.SetItem(code, c) {
			v, _ := json.Marshal(c)
			updates["i:"+code] = v
		}
	}
	e.persistLearned(rec, updates)
}

// learnSettlement remembers the fund ratio the platform applied, and what the
// settlement says of the patient: the account balance after it, and whether the
// deductible is still being paid off.
func (e *Link) learnSettlement(rec *Record) {
	s := rec.Settlement
	pt := rec.Bill.Patient
	if s.ActPayDedc > 0 || s.HifpPay > 0 || s.AcctPay > 0 {
		open := s.ActPayDedc > 0 && s.HifpPay == 0
		met := s.HifpPay > 0
		err := e.updateCachedPerson(context.Background(), rec, pt.MdtrtCertType, pt.MdtrtCertNo, func(cp *cachedPerson) {
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
			e.log.Warn("update cached person", "err", err)
		}
	}
	base := s.InscpScpAmt - s.ActPayDedc
	if base <= 0 || s.HifpPay <= 0 {
		return
	}
	ratio := s.HifpPay.Decimal().Div(base.Decimal()).Round(2)
	key := offline.RatioKey(rec.Insuplc, rec.Insutype, rec.Bill.MedType)
	if e.learned.SetRatio(key, ratio) {
		e.persistLearned(rec, map[string][]byte{"r:" + key: []byte(ratio.String())})
	}
}

func (e *Link) persistLearned(rec *Record, updates map[string][]byte) {
	if len(updates) == 0 {
		return
	}
	// Learned policy is a cache: it rides on the bill's next save.
	rec.ride(func(tx Tx) error {
		for k, v := range updates {
			enc, err := e.st.Encode(KindLearned, k, v)
			if err != nil {
				return err
			}
			if err := tx.Put(KindLearned, k, enc, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// estimate is the agent's own split of the bill (package offline).
func (e *Link) estimate(rec *Record) settle.Split { return e.estimateWith(rec, e.learned) }

// EstimateWith is the estimate of a stored bill made with l, what the engine had
// learned at some earlier moment (a Learned().Clone()): tests ask what the offline
// estimate would have said before the platform ever saw the bill.
func (e *Link) EstimateWith(rec *Record, l *offline.Learned) settle.Split {
	return e.estimateWith(rec, l)
}

func (e *Link) estimateWith(rec *Record, l *offline.Learned) settle.Split {
	in := offline.Input{Bill: &rec.Bill, PsnNo: rec.PsnNo, Insutype: rec.Insutype, Insuplc: rec.Insuplc, Known: true,
		UseAccount: rec.AcctUsedFlag != platform.AcctNotUsed, Catalogue: e.o.Catalogue, Day: rec.Bill.CreatedAt}
	if in.Day.IsZero() {
		in.Day = e.now()
	}
	pt := rec.Bill.Patient
	if cp, err := e.cachedPerson(pt.MdtrtCertType, pt.MdtrtCertNo); err == nil && cp != nil && cp.DedcOpen {
		in.DeductibleOpen = true
	}
	if rec.Person != nil {
		if pi, ok := rec.Person.Primary(); ok && pi.Insutype == settle.InsutypeEmployee {
			in.Balance = pi.Balc
		}
	}
	return offline.EstimateSplit(in, l, e.o.Policy)
}

// Estimate is the engine's offline estimate of a stored bill (tests compare it with
// the platform's pre-settlement).
func (e *Link) Estimate(rec *Record) settle.Split { return e.estimate(rec) }
