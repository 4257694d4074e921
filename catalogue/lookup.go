package catalogue

import (
	"fmt"

	"github.com/shopspring/decimal"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/hisadapter"
	"github.com/settle-agent/settle-agent/platform"
)

// Terms is what the catalogue says of one national code in one region on one day:
// the item's class, the share a 乙 item's patient pays first, and the unit price cap.
type Terms struct {
	Code       string // the national code asked for (med_list_codg)
	HilistCode string // its 医保目录 code (1316; the same code when no match is kept)
	Item       Item   // the downloaded row (Found)
	Found      bool   // a downloaded catalogue holds the code

	Class       string          // 甲, 乙 or 丙; "" when no catalogue says
	SelfpayProp decimal.Decimal // 1319 (乙); zero when HasSelfpay is false
	HasSelfpay  bool
	Cap         settle.Price // 1318: the unit price cap
	HasCap      bool
}

// Known reports whether the catalogue gives the item's class.
func (t Terms) Known() bool { return t.Class != "" }

// Terms looks up a national code for a fee of day in region admdvs (the treatment
// area: 就医地目录) for a person type (selfpay_prop_psn_type; "" for any).
func (s *Store) Terms(code, admdvs, psnType string, on hisadapter.Date) (Terms, error) {
	t := Terms{Code: code, HilistCode: code}
	var err error
	if t.Item, t.Found, err = s.Item(code); err != nil {
		return t, err
	}
	matches, err := s.Rules(platform.InfnoListMatchQuery, code)
	if err != nil {
		return t, err
	}
	if m, ok := pick(matches, admdvs, "", on); ok && m.HilistCode != "" {
		t.HilistCode = m.HilistCode
	}
	classes, err := s.Rules(platform.InfnoHilistQuery, t.HilistCode)
	if err != nil {
		return t, err
	}
	if r, ok := pick(classes, admdvs, "", on); ok && r.Class != "" {
		t.Class = r.Class
	} else if t.Found && t.Item.Class != "" {
		t.Class = t.Item.Class
	}
	caps, err := s.Rules(platform.InfnoLimitPriceQuery, t.HilistCode)
	if err != nil {
		return t, err
	}
	if r, ok := pick(caps, admdvs, "", on); ok && r.Cap > 0 {
		t.Cap, t.HasCap = r.Cap, true
	}
	props, err := s.Rules(platform.InfnoSelfpayQuery, t.HilistCode)
	if err != nil {
		return t, err
	}
	if r, ok := pick(props, admdvs, psnType, on); ok && r.Prop != "" {
		d, perr := decimal.NewFromString(r.Prop)
		if perr != nil {
			return t, fmt.Errorf("catalogue 1319 rid %s selfpay_prop %q: %w", r.Rid, r.Prop, perr)
		}
		t.SelfpayProp, t.HasSelfpay = d, true
	}
	return t, nil
}

// LineSplit is how one fee line divides by the catalogue, the platform's 2204
// arithmetic: a 丙 item is wholly own pay; the part of a price above the cap is over
// the limit; of the rest a 乙 item's self-pay share is paid first.
type LineSplit struct {
	Fulamt  settle.Money // fulamt_ownpay_amt
	Overlmt settle.Money // overlmt_amt
	Preself settle.Money // preselfpay_amt
}

// Split divides a fee line of amount (cnt × pric) by the terms. ok is false when the
// class is unknown.
func (t Terms) Split(amount settle.Money, cnt settle.Qty, pric settle.Price) (LineSplit, bool) {
	var s LineSplit
	switch t.Class {
	case "":
		return s, false
	case "丙":
		s.Fulamt = amount
		return s, true
	}
	within := amount
	if t.HasCap && pric > t.Cap {
		if w := settle.LineAmount(cnt, t.Cap); w < amount {
			s.Overlmt, within = amount-w, w
		}
	}
	if t.Class == "乙" && t.HasSelfpay {
		s.Preself = within.MulRatio(t.SelfpayProp)
	}
	return s, true
}
