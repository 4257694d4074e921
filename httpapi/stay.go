package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/workflow"
)

// The inpatient stays' endpoints (cashier-api.md "Inpatient stays"): the same rules as
// bills — idempotent by ipt_no (and batch_no for fees), decimal strings, 422 naming
// every bad field, the platform's err_msg verbatim on a business error.

func (s *Server) handleCreateStay(w http.ResponseWriter, r *http.Request) {
	var a settle.Admission
	if !decodeBody(w, r, &a) {
		return
	}
	c := callerOf(r)
	// An admission without a window is invalid (422 naming it), not another window's.
	if !c.admin && a.Window != "" && a.Window != c.window {
		writeJSON(w, http.StatusForbidden, errorBody("forbidden", fmt.Sprintf("the token of window %s may not admit for window %q", c.window, a.Window), nil))
		return
	}
	res, err := s.o.Stays.SubmitAdmission(r.Context(), a, "api")
	s.writeStayResult(w, res, err)
}

// stayFor loads a stay and checks the caller may act on it (its admission's window,
// or the admin).
func (s *Server) stayFor(w http.ResponseWriter, r *http.Request) (*workflow.StayRecord, bool) {
	if !settle.ValidIdentifier(r.PathValue("ipt_no")) {
		// No stay can have such a number: not looked up, and not repeated back.
		writeJSON(w, http.StatusNotFound, errorBody("not_found", "no such stay: an inpatient number is 1 to 30 letters, digits, '.', '_' or '-'", nil))
		return nil, false
	}
	rec, err := s.o.Stays.Stay(r.PathValue("ipt_no"))
	if errors.Is(err, settle.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, errorBody("not_found", fmt.Sprintf("stay %s: not found", r.PathValue("ipt_no")), nil))
		return nil, false
	}
	if err != nil {
		s.writeErr(w, err)
		return nil, false
	}
	if c := callerOf(r); !c.admin && rec.Admission.Window != c.window {
		writeJSON(w, http.StatusForbidden, errorBody("forbidden", fmt.Sprintf("stay %s belongs to window %s", rec.Admission.IptNo, rec.Admission.Window), nil))
		return nil, false
	}
	return rec, true
}

func (s *Server) handleGetStay(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.stayFor(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, stayView(rec))
}

func (s *Server) handleStayFees(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.stayFor(w, r); !ok {
		return
	}
	var b settle.FeeBatch
	if !decodeBody(w, r, &b) {
		return
	}
	if b.IptNo != "" && b.IptNo != r.PathValue("ipt_no") {
		s.writeErr(w, fieldErr("fee batch", "ipt_no", fmt.Sprintf("%q is not the stay of the path (%s); leave it out", b.IptNo, r.PathValue("ipt_no"))))
		return
	}
	res, err := s.o.Stays.SubmitStayFees(r.Context(), r.PathValue("ipt_no"), b, "api")
	s.writeStayResult(w, res, err)
}

func (s *Server) handleCancelStayFees(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.stayFor(w, r); !ok {
		return
	}
	res, err := s.o.Stays.CancelStayFees(r.Context(), r.PathValue("ipt_no"), r.PathValue("batch_no"))
	s.writeStayResult(w, res, err)
}

func (s *Server) handleDischarge(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.stayFor(w, r); !ok {
		return
	}
	var d settle.Discharge
	if !decodeBody(w, r, &d) {
		return
	}
	if d.IptNo != "" && d.IptNo != r.PathValue("ipt_no") {
		s.writeErr(w, fieldErr("discharge", "ipt_no", fmt.Sprintf("%q is not the stay of the path (%s); leave it out", d.IptNo, r.PathValue("ipt_no"))))
		return
	}
	res, err := s.o.Stays.SubmitDischarge(r.Context(), r.PathValue("ipt_no"), d, "api")
	s.writeStayResult(w, res, err)
}

func (s *Server) stayRequest(w http.ResponseWriter, r *http.Request) (settle.StaySettle, bool) {
	var req settle.StaySettle
	if _, ok := s.stayFor(w, r); !ok {
		return req, false
	}
	if r.ContentLength != 0 && !decodeBody(w, r, &req) {
		return req, false
	}
	if err := req.Validate(); err != nil {
		s.writeErr(w, err)
		return req, false
	}
	return req, true
}

func (s *Server) handlePresettleStay(w http.ResponseWriter, r *http.Request) {
	req, ok := s.stayRequest(w, r)
	if !ok {
		return
	}
	res, err := s.o.Stays.PresettleStay(r.Context(), r.PathValue("ipt_no"), req)
	s.writeStayResult(w, res, err)
}

func (s *Server) handleSettleStay(w http.ResponseWriter, r *http.Request) {
	req, ok := s.stayRequest(w, r)
	if !ok {
		return
	}
	res, err := s.o.Stays.SettleStay(r.Context(), r.PathValue("ipt_no"), req)
	s.writeStayResult(w, res, err)
}

func (s *Server) handleCancelStaySettlement(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.stayFor(w, r); !ok {
		return
	}
	var req settle.StayCancelSettlement
	if !decodeBody(w, r, &req) {
		return
	}
	if err := req.Validate(); err != nil {
		s.writeErr(w, err)
		return
	}
	res, err := s.o.Stays.CancelStaySettlement(r.Context(), r.PathValue("ipt_no"), req.SetlID)
	s.writeStayResult(w, res, err)
}

func (s *Server) handleCancelStay(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.stayFor(w, r); !ok {
		return
	}
	res, err := s.o.Stays.CancelStay(r.Context(), r.PathValue("ipt_no"), "api")
	s.writeStayResult(w, res, err)
}

func fieldErr(what, field, reason string) error {
	v := &settle.ValidationError{What: what}
	v.Add(field, "%s", reason)
	return v
}

// writeStayResult answers a stay request: the stay as it stands, with the part the
// request was about (batch, settlement, split), or the error.
func (s *Server) writeStayResult(w http.ResponseWriter, res workflow.StayResult, err error) {
	if err != nil {
		s.writeErr(w, err)
		return
	}
	v := stayView(res.Stay)
	if res.Batch != nil {
		v["batch"] = batchView(res.Stay, res.Batch)
	}
	if res.Settlement != nil {
		v["settlement"] = settlementView(res.Settlement)
	}
	if res.Split != nil {
		v["split"] = res.Split
		v["fund_pay_sumamt"], v["psn_cash_pay"], v["acct_pay"], v["medfee_sumamt"] =
			res.Split.FundPaySumamt, res.Split.PsnCashPay, res.Split.AcctPay, res.Split.MedfeeSumamt
	}
	writeJSON(w, statusOf(res.Kind), v)
}

// batchState is where one fee batch stands.
func batchState(rec *workflow.StayRecord, b *workflow.StayBatch) string {
	switch {
	case b.Cancelled:
		return "cancelled"
	case b.Refused != "":
		return "refused"
	case b.SettledBy != "":
		return "settled"
	case b.Uploaded:
		return "uploaded"
	}
	return "queued"
}

func batchView(rec *workflow.StayRecord, b *workflow.StayBatch) map[string]any {
	v := map[string]any{
		"batch_no": b.Batch.BatchNo, "items": len(b.Batch.Items), "total": b.Batch.Total(),
		"state": batchState(rec, b), "received_at": b.At,
	}
	if b.SettledBy != "" {
		v["settled_by"] = b.SettledBy
	}
	if b.Refused != "" {
		v["error"] = map[string]string{"code": "platform_refused", "message": b.Refused}
	}
	return v
}

func settlementView(st *workflow.StaySettlement) map[string]any {
	v := map[string]any{}
	for k, x := range splitMap(st.Split) {
		v[k] = x
	}
	v["mid_setl"], v["cancelled"], v["settled_at"], v["fee_batches"] = st.Mid, st.Cancelled, st.SettledAt, st.Batches
	if st.Offline {
		v["offline"] = true
	}
	return v
}

// splitMap flattens a split into its JSON fields.
func splitMap(s settle.Split) map[string]any {
	return map[string]any{
		"setl_id": s.SetlID, "mdtrt_id": s.MdtrtID, "psn_no": s.PsnNo, "medfee_sumamt": s.MedfeeSumamt,
		"fulamt_ownpay_amt": s.FulamtOwnpayAmt, "overlmt_selfpay": s.OverlmtSelfpay, "preselfpay_amt": s.PreselfpayAmt,
		"inscp_scp_amt": s.InscpScpAmt, "act_pay_dedc": s.ActPayDedc, "hifp_pay": s.HifpPay,
		"pool_prop_selfpay": s.PoolPropSelfpay, "fund_pay_sumamt": s.FundPaySumamt, "psn_part_amt": s.PsnPartAmt,
		"acct_pay": s.AcctPay, "psn_cash_pay": s.PsnCashPay, "balc": s.Balc, "medins_setl_id": s.MedinsSetlID,
		"clr_optins": s.ClrOptins, "clr_way": s.ClrWay, "clr_type": s.ClrType, "insutype": s.Insutype,
	}
}

// stayView is the API's JSON for a stay (GET /v1/stays/{ipt_no}).
func stayView(rec *workflow.StayRecord) map[string]any {
	a := rec.Admission
	v := map[string]any{
		"ipt_no": a.IptNo, "window": a.Window, "state": rec.State, "admitted_at": a.AdmittedAt,
		"dept": a.Dept, "bed": a.Bed, "total": rec.Total(), "history": rec.History,
		"created_at": rec.CreatedAt, "updated_at": rec.UpdatedAt,
	}
	if v["history"] == nil {
		v["history"] = []workflow.Message{}
	}
	if rec.MdtrtID != "" {
		v["mdtrt_id"] = rec.MdtrtID
	}
	if rec.Person != nil {
		v["person"] = rec.Person.Masked()
		v["person_source"] = rec.PersonSource
	}
	batches := make([]map[string]any, 0, len(rec.Batches))
	var unsettled settle.Money
	for i := range rec.Batches {
		b := &rec.Batches[i]
		batches = append(batches, batchView(rec, b))
		if !b.Cancelled && b.Refused == "" && b.SettledBy == "" {
			unsettled += b.Batch.Total()
		}
	}
	v["fee_batches"], v["unsettled"] = batches, unsettled
	if rec.Discharge != nil {
		v["discharge"] = rec.Discharge
	}
	v["discharged"] = rec.Discharged
	setls := make([]map[string]any, 0, len(rec.Settlements))
	for i := range rec.Settlements {
		setls = append(setls, settlementView(&rec.Settlements[i]))
	}
	v["settlements"] = setls
	if len(rec.Settlements) > 0 {
		v["settlement"] = setls[len(setls)-1]
	}
	if len(rec.Ops) > 0 {
		ops := make([]string, len(rec.Ops))
		for i, op := range rec.Ops {
			ops[i] = string(op.Kind)
			if op.Kind == workflow.OpSettle && op.Offline {
				// [offline] inpatient = defer: the deposit (押金) covers the patient
				// until the real settlement comes.
				v["settlement_deferred"] = true
			}
		}
		v["queued_ops"] = ops
	}
	if len(rec.Refusals) > 0 {
		v["refusals"] = rec.Refusals
	}
	if rec.ErrMsg != "" {
		v["error"] = map[string]string{"code": rec.ErrCode, "message": rec.ErrMsg}
	}
	if len(rec.Warnings) > 0 {
		v["warnings"] = rec.Warnings
	}
	if len(rec.Surprises) > 0 {
		v["surprises"] = rec.Surprises
	}
	return v
}
