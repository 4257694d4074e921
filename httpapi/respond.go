package httpapi

import (
	"context"
	"errors"
	"net/http"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/workflow"
)

// This file is the one place where the engine's results and errors become HTTP
// status codes and bodies.

// statusOf is the status code of a successful result.
func statusOf(k workflow.ResultKind) int {
	switch k {
	case workflow.ResultCreated:
		return http.StatusCreated
	case workflow.ResultQueued:
		return http.StatusAccepted
	}
	return http.StatusOK
}

// writeResult answers a bill request: its result, or its error.
func (s *Server) writeResult(w http.ResponseWriter, res workflow.Result, err error) {
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, statusOf(res.Kind), billView(res.Bill))
}

// writeErr answers an error with the right status and a sentence.
func (s *Server) writeErr(w http.ResponseWriter, err error) {
	var ve *settle.ValidationError
	var ref *workflow.Refusal
	var se *workflow.StateError
	switch {
	case errors.As(err, &ref):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody(ref.Code, ref.Message, nil))
	case errors.As(err, &se):
		writeJSON(w, http.StatusConflict, errorBody(se.Code, se.Message, nil))
	case errors.Is(err, workflow.ErrOffline):
		writeJSON(w, http.StatusServiceUnavailable, errorBody("platform_offline", "the provincial platform cannot be reached now; no estimate is made for a stay: try again when it answers ("+err.Error()+")", nil))
	case errors.Is(err, workflow.ErrRefusedOffline):
		writeJSON(w, http.StatusServiceUnavailable, errorBody("offline_refused", workflow.ErrRefusedOffline.Error()+"; the patient may pay in full as self-pay", nil))
	case errors.Is(err, workflow.ErrUnmapped) && errors.As(err, &ve):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("unmapped_items", "item codes without a mapping to national codes (目录对照): fix the mapping file or the bill", ve.Fields))
	case errors.As(err, &ve) && ve.What == "bill":
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("invalid_bill", ve.Error(), ve.Fields))
	case errors.As(err, &ve):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("invalid_request", ve.Error(), ve.Fields))
	case errors.Is(err, settle.ErrConflict):
		writeJSON(w, http.StatusConflict, errorBody("conflict", err.Error(), nil))
	case errors.Is(err, queue.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody("not_found", err.Error(), nil))
	case errors.Is(err, queue.ErrWrongState), errors.Is(err, workflow.ErrJobMoved):
		writeJSON(w, http.StatusConflict, errorBody("wrong_state", err.Error(), nil))
	case errors.Is(err, queue.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, errorBody("bad_request", err.Error(), nil))
	case errors.Is(err, settle.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody("not_found", err.Error(), nil))
	case errors.Is(err, workflow.ErrClosed):
		writeJSON(w, http.StatusServiceUnavailable, errorBody("shutting_down", "the agent is stopping; retry in a moment", nil))
	case errors.Is(err, store.ErrSealKey):
		s.log.Error("store record unreadable", "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody("store_key_missing", "the store holds records sealed with a key the configuration lacks: add that key to [store] old_keys and restart; call hospital IT", nil))
	case errors.Is(err, workflow.ErrStore):
		s.log.Error("store failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody("store_failed", "the agent could not store the bill: do not collect money for it now; call hospital IT ("+err.Error()+")", nil))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusServiceUnavailable, errorBody("busy", "the bill is busy with another request; retry in a moment", nil))
	default:
		s.log.Error("request failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody("internal", "the agent could not complete the request: "+err.Error()+"; call hospital IT", nil))
	}
}

// writePersonErr answers a failed person lookup.
func (s *Server) writePersonErr(w http.ResponseWriter, err error) {
	if errors.Is(err, settle.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, errorBody("person_unknown", "the platform cannot be reached and this person was never seen here; take the bill as self-pay or wait for the network", nil))
		return
	}
	s.writeErr(w, err)
}

// billView is the API's JSON for a bill.
func billView(rec *workflow.Record) map[string]any {
	v := map[string]any{
		"bill_no":    rec.Bill.BillNo,
		"window":     rec.Bill.Window,
		"state":      rec.State,
		"total":      rec.Bill.Total,
		"med_type":   rec.Bill.MedType,
		"created_at": rec.CreatedAt,
		"updated_at": rec.UpdatedAt,
		"history":    rec.History,
	}
	if rec.Person != nil {
		v["person"] = rec.Person.Masked()
		v["person_source"] = rec.PersonSource
	}
	if rec.Presettle != nil {
		v["split"] = rec.Presettle
		v["estimate"] = rec.Estimate
	}
	if rec.Settlement != nil {
		v["settlement"] = rec.Settlement
	}
	if rec.State == workflow.StateQueued || rec.Offline {
		if rec.Provisional != nil {
			v["provisional"] = rec.Provisional
		}
		if rec.Collected != nil {
			v["collect_now"] = *rec.Collected
		}
	}
	if d, ok := workflow.DifferenceOf(rec); ok && rec.Offline {
		v["difference"] = d
	}
	if rec.Goal == workflow.GoalCancel && rec.State != workflow.StateCancelled {
		v["cancel_pending"] = true
	}
	if rec.ErrMsg != "" {
		v["error"] = map[string]string{"code": rec.ErrorCode(), "message": rec.ErrMsg}
	}
	if rec.MdtrtID != "" {
		v["mdtrt_id"] = rec.MdtrtID
	}
	if len(rec.Warnings) > 0 {
		v["warnings"] = rec.Warnings
	}
	if len(rec.Surprises) > 0 {
		v["surprises"] = rec.Surprises
	}
	return v
}
