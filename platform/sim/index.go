package sim

import (
	"slices"
	"sort"
)

// The simulator's indexes: every lookup a call makes goes through one of them, so the
// cost of a call stays flat however many visits and bookings the platform holds (a
// drain of 100,000 bills must measure the agent, not a scan of the ledger). Each index
// lists every candidate and the caller applies the same conditions as before, so an
// index makes nothing kinder: it only avoids looking at what cannot match.

// iptKey is a hospital's visit number: ipt_otp_no is unique per hospital.
type iptKey struct{ fixmedins, iptOtpNo string }

// addVisit stores a registration and indexes it.
func (s *state) addVisit(v *visit) {
	s.visits[v.id] = v
	k := iptKey{v.fixmedins, v.iptOtpNo}
	s.byIptOtpNo[k] = append(s.byIptOtpNo[k], v)
	s.visitsByPsn[v.psnNo] = append(s.visitsByPsn[v.psnNo], v)
}

// indexBooking indexes a settlement booking by setl_id, visit and Beijing date; the
// booking's fields are final when it is booked.
func (s *state) indexBooking(b *booking) {
	if !isSettlement(b) {
		return
	}
	s.setlsBySetl[b.SetlID] = append(s.setlsBySetl[b.SetlID], b)
	s.setlsByVisit[b.MdtrtID] = append(s.setlsByVisit[b.MdtrtID], b)
	day := b.Time.In(beijing).Format("2006-01-02")
	s.setlsByDay[day] = append(s.setlsByDay[day], b)
}

// visitsOf lists psnNo's visits in registration order (mdtrt_id order, as before); only
// the visit mdtrtID when one is given.
func (s *state) visitsOf(psnNo, mdtrtID string) []*visit {
	if mdtrtID != "" {
		if v, ok := s.visits[mdtrtID]; ok && v.psnNo == psnNo {
			return []*visit{v}
		}
		return nil
	}
	vs := slices.Clone(s.visitsByPsn[psnNo])
	sort.Slice(vs, func(i, j int) bool { return vs[i].id < vs[j].id })
	return vs
}

// settlementBookings lists the settlement bookings of setl_id or, without one, of the
// visit mdtrt_id, in ledger order.
func (s *state) settlementBookings(setlID, mdtrtID string) []*booking {
	if setlID != "" {
		return s.setlsBySetl[setlID]
	}
	return s.setlsByVisit[mdtrtID]
}

// settlementsIn lists the settlement bookings whose Beijing date is within [beg, end]
// (yyyy-MM-dd, an empty bound open), in ledger order.
func (s *state) settlementsIn(beg, end string) []*booking {
	var out []*booking
	for day, bs := range s.setlsByDay {
		if (beg == "" || day >= beg) && (end == "" || day <= end) {
			out = append(out, bs...)
		}
	}
	slices.SortFunc(out, func(a, b *booking) int { return a.seq - b.seq })
	return out
}
