package hisadapter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	settle "github.com/settle-agent/settle-agent"
)

// processStay answers an inpatient message (IsStayMessage): ADT^A01/A03/A11/A13 or a
// DFT^P03 with PV1-2 "I". It is stored through the Sink's StaySink side; AA only after
// that returned nil, AE naming the fields for a bad message, a conflict or an unknown
// stay, AE (to resend later) for a temporary failure, AR for an ADT trigger the agent
// does not take or when the Sink takes no inpatient messages.
func (s *MLLPServer) processStay(ctx context.Context, m *Message, remote string) (ack []byte, final bool) {
	ctrl := m.Get("MSH-10")
	typ := m.Get("MSH-9.1") + "^" + m.Get("MSH-9.2")
	ss, ok := s.Sink.(StaySink)
	if !ok {
		s.log.Warn("hl7 inpatient message refused: inpatient input is not enabled", "remote", remote, "control_id", ctrl, "type", typ)
		return buildACK(m, AckReject, s.Now(), []FieldError{{Segment: "MSH", Seq: 1, Field: 9, Code: hl7UnsupportedType,
			Reason: fmt.Sprintf("message type %s is not supported: this agent takes no inpatient messages; send bills as DFT^P03", typ)}}), true
	}
	sm, err := StayMessageOf(m, s.Defaults)
	if errors.Is(err, ErrUnsupported) {
		s.log.Warn("hl7 inpatient message refused: unsupported type", "remote", remote, "control_id", ctrl, "type", typ)
		return buildACK(m, AckReject, s.Now(), []FieldError{{Segment: "MSH", Seq: 1, Field: 9, Code: hl7UnsupportedType, Reason: err.Error()}}), true
	}
	if err == nil && sm.Kind == StayAdmit && len(s.Windows) > 0 && !slices.Contains(s.Windows, sm.Admission.Window) {
		s.log.Warn("hl7 admission refused: window not served by this listener", "remote", remote, "control_id", ctrl, "ipt_no", sm.IptNo, "window", sm.Admission.Window)
		return buildACK(m, AckError, s.Now(), []FieldError{{Segment: "PV1", Seq: 1, Field: 3, Path: "window", Code: hl7TableValue,
			Reason: fmt.Sprintf("the inpatient window %q is not one this HL7 listener takes messages for (%s)", truncate(sm.Admission.Window, 30), strings.Join(s.Windows, ", "))}}), true
	}
	what := "stay message stored"
	if err == nil {
		source := "hl7 " + remote + " MSH-10 " + ctrl
		sctx, cancel := context.WithTimeout(ctx, s.SinkTimeout)
		switch sm.Kind {
		case StayAdmit:
			err, what = ss.SubmitAdmission(sctx, *sm.Admission, source), "admission stored"
		case StayDischarge:
			err, what = ss.SubmitDischarge(sctx, *sm.Discharge, source), "discharge stored"
		case StayCancelAdmit:
			err, what = ss.CancelAdmission(sctx, sm.IptNo, source), "admission cancellation stored"
		case StayCancelDischarge:
			err, what = ss.CancelDischarge(sctx, sm.IptNo, source), "discharge cancellation stored"
		case StayFees:
			err, what = ss.SubmitStayFees(sctx, *sm.Fees, source), "fee batch stored"
		case StayChange:
			err, what = ss.ChangeAdmission(sctx, *sm.Change, source), "admission change stored"
		}
		cancel()
	}
	var ve *settle.ValidationError
	switch {
	case err == nil:
		s.log.Info("hl7 inpatient message stored", "remote", remote, "control_id", ctrl, "kind", string(sm.Kind), "ipt_no", sm.IptNo)
		return buildACKNote(m, AckAccept, s.Now(), nil, what), true
	case errors.As(err, &ve):
		errs := StayFieldErrorsOf(ve)
		texts := make([]string, len(errs))
		for i, e := range errs {
			texts[i] = e.Text()
		}
		s.log.Warn("hl7 inpatient message refused", "remote", remote, "control_id", ctrl, "kind", string(sm.Kind), "ipt_no", sm.IptNo, "problems", texts)
		return buildACK(m, AckError, s.Now(), errs), true
	case errors.Is(err, settle.ErrConflict):
		s.log.Warn("hl7 inpatient message refused: reused with other content", "remote", remote, "control_id", ctrl, "kind", string(sm.Kind), "ipt_no", sm.IptNo)
		fe := FieldError{Segment: "PV1", Seq: 1, Field: 19, Path: "ipt_no", Code: hl7Internal,
			Reason: fmt.Sprintf("ipt_no %s was received before with different content; a changed admission needs a new inpatient number (or cancel the old one first)", sm.IptNo)}
		if sm.Kind == StayFees {
			fe = FieldError{Segment: "FT1", Seq: 1, Field: 3, Path: "batch_no", Code: hl7Internal,
				Reason: fmt.Sprintf("fee batch %s of stay %s was received before with different content; changed fees need a new batch number", sm.Fees.BatchNo, sm.IptNo)}
		}
		return buildACK(m, AckError, s.Now(), []FieldError{fe}), true
	case errors.Is(err, settle.ErrNotFound):
		s.log.Warn("hl7 inpatient message refused: unknown stay", "remote", remote, "control_id", ctrl, "kind", string(sm.Kind), "ipt_no", sm.IptNo)
		return buildACK(m, AckError, s.Now(), []FieldError{{Segment: "PV1", Seq: 1, Field: 19, Path: "ipt_no", Code: hl7TableValue,
			Reason: fmt.Sprintf("no stay with ipt_no %s was admitted (send ADT^A01 first)", sm.IptNo)}}), true
	}
	s.log.Error("hl7 inpatient message NOT stored: temporary failure, the sender must resend", "remote", remote, "control_id", ctrl, "ipt_no", sm.IptNo, "err", err)
	return buildACK(m, AckError, s.Now(), []FieldError{temporaryStay(err.Error())}), false
}

func temporaryStay(why string) FieldError {
	return FieldError{Code: hl7Internal, Reason: "the message was NOT stored (" + why + "); resend this message later"}
}
