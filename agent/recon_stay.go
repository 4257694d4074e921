package agent

import (
	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/recon"
	"github.com/settle-agent/settle-agent/workflow"
)

// reconStays is the day's inpatient settlements as reconciliation sees them: one
// row per settlement booked that day (clr_type 21; cancelled ones flagged), and one
// pending row per settlement deferred that day while offline and not sent yet.
func (a *Agent) reconStays(day string) ([]recon.Bill, error) {
	recs, err := a.engine.Stays.StaysOfDay(day)
	if err != nil {
		return nil, err
	}
	var out []recon.Bill
	for _, r := range recs {
		out = append(out, ReconStay(r, day)...)
	}
	return out, nil
}

// ReconStay is a stay's settlements of day as package recon sees them.
func ReconStay(r *workflow.StayRecord, day string) []recon.Bill {
	var out []recon.Bill
	for i := range r.Settlements {
		s := &r.Settlements[i]
		if s.SettleDay != day {
			continue
		}
		split := s.Split
		out = append(out, recon.Bill{BillNo: r.Admission.IptNo, Window: r.Admission.Window, State: string(r.State),
			Total: split.MedfeeSumamt, Offline: s.Offline, Settlement: &split, SettleMsgid: s.Msgid,
			MdtrtID: r.MdtrtID, PsnNo: r.PsnNo, Insutype: r.Insutype, Cancelled: s.Cancelled, ClrType: platform.ClrTypeInpatient, Deposit: s.Offline})
	}
	for _, op := range r.Ops {
		if op.Kind == workflow.OpSettle && op.Offline && settle.Day(op.At) == day {
			out = append(out, recon.Bill{BillNo: r.Admission.IptNo, Window: r.Admission.Window, State: string(r.State),
				Total: r.Total(), Insutype: r.Insutype, ClrType: platform.ClrTypeInpatient, Pending: true})
		}
	}
	return out
}
