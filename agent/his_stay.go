package agent

import (
	"context"
	"errors"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/workflow"
)

// The inpatient side of hisSink (hisadapter.StaySink): admissions, fee batches,
// discharges and their cancellations from HL7 and the drop folder end in the engine's
// stay workflow. nil means durably stored; a platform refusal is an answer stored with
// the stay (GET /v1/stays/{ipt_no} shows it), so it is acknowledged too.

func stayStored(_ workflow.StayResult, err error) error {
	var se *workflow.StateError
	switch {
	case errors.Is(err, workflow.ErrRefused) || errors.Is(err, workflow.ErrRefusedOffline):
		return nil
	case errors.As(err, &se):
		// The stay's state does not allow it (settled, cancelled): final, not a
		// temporary failure to resend.
		v := &settle.ValidationError{What: "stay"}
		v.Add("ipt_no", "%s", se.Message)
		return v
	}
	return err
}

// SubmitAdmission stores and admits a stay (ADT^A01).
func (s hisSink) SubmitAdmission(ctx context.Context, a settle.Admission, source string) error {
	return stayStored(s.a.engine.Stays.SubmitAdmission(ctx, a, source))
}

// SubmitStayFees stores one fee batch (DFT^P03 with PV1-2 "I", a drop folder file).
func (s hisSink) SubmitStayFees(ctx context.Context, b settle.FeeBatch, source string) error {
	return stayStored(s.a.engine.Stays.SubmitStayFees(ctx, b.IptNo, b, source))
}

// SubmitDischarge stores the discharge (ADT^A03).
func (s hisSink) SubmitDischarge(ctx context.Context, d settle.Discharge, source string) error {
	return stayStored(s.a.engine.Stays.SubmitDischarge(ctx, d.IptNo, d, source))
}

// CancelAdmission cancels the stay (ADT^A11).
func (s hisSink) CancelAdmission(ctx context.Context, iptNo, source string) error {
	return stayStored(s.a.engine.Stays.CancelStay(ctx, iptNo, source))
}

// CancelDischarge takes the discharge back (ADT^A13).
func (s hisSink) CancelDischarge(ctx context.Context, iptNo, source string) error {
	return stayStored(s.a.engine.Stays.CancelDischarge(ctx, iptNo, source))
}

// ChangeAdmission changes the bed, department or doctor of a stay (ADT^A08, 2403).
func (s hisSink) ChangeAdmission(ctx context.Context, c settle.AdmissionChange, source string) error {
	return stayStored(s.a.engine.Stays.ChangeAdmission(ctx, c.IptNo, c, source))
}

// inpatientWindow is the window HL7 inpatient messages are booked under: [hl7]
// inpatient_window, else default_window, else the first [[window]].
func (a *Agent) inpatientWindow() string {
	switch {
	case a.cfg.HL7.InpatientWindow != "":
		return a.cfg.HL7.InpatientWindow
	case a.cfg.HL7.DefaultWindow != "":
		return a.cfg.HL7.DefaultWindow
	case len(a.cfg.Windows) > 0:
		return a.cfg.Windows[0].ID
	}
	return ""
}
