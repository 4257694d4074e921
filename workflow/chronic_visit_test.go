package workflow_test

import (
	"context"
	"testing"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
)

const cardChronic = "A33010006" // 陈秀英, 330100, 310, filed for I10.x00 and E11.900

// chronicBill is a 14 (门诊慢特病) bill for hypertension.
func (r *rig) chronicBill() settle.Bill {
	b := r.bill(cardChronic)
	b.MedType = settle.MedTypeChronic
	b.Diagnoses = []settle.Code{{Code: "I10.x00", Name: "高血压"}}
	return b
}

// liveRegistrations counts the platform's live 2201 bookings of a person.
func (r *rig) liveRegistrations(psnNo string) int {
	n := 0
	for _, e := range r.sim.Ledger() {
		if e.Infno == platform.InfnoRegister && e.PsnNo == psnNo && e.Live() {
			n++
		}
	}
	return n
}

// E2: a chronic (14) bill whose 2201 was booked but its answer lost: before 2203 the
// platform holds the visit as 11, so 5201 must not filter by the bill's med_type.
func TestBill_Chronic_Lost2201_FoundBy5201(t *testing.T) {
	r := newRig(t, rigOptions{})
	b := r.chronicBill()
	r.pf.decide = faultOnce(platform.InfnoRegister, lostAfter)
	r.mustSubmit(b)
	r.settleOneVisit(b)
}

// settleOneVisit settles the submitted bill b with the faults in force, syncs what
// was queued without them, and checks the platform holds its one settlement and one
// live registration (the lost one adopted, not a second).
func (r *rig) settleOneVisit(b settle.Bill) {
	r.t.Helper()
	if _, err := r.eng.Bills.SettleBill(context.Background(), b.BillNo, "", ""); err != nil {
		r.t.Fatalf("settle %s: %v", b.BillNo, err)
	}
	r.pf.decide = nil
	r.drain(10, time.Minute)
	rec := r.mustSettledOnce(b.BillNo)
	if n := r.liveRegistrations(rec.PsnNo); n != 1 {
		r.t.Errorf("live registrations: %d; want 1 (the lost one adopted)", n)
	}
}
