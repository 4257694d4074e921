package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/ecvoucher"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/workflow"
)

func (s *Server) handleCreateBill(w http.ResponseWriter, r *http.Request) {
	var b settle.Bill
	if !decodeBody(w, r, &b) {
		return
	}
	c := callerOf(r)
	// A bill without a window is an invalid bill (422 naming it, with every other
	// bad field), not another window's bill.
	if !c.admin && b.Window != "" && b.Window != c.window {
		writeJSON(w, http.StatusForbidden, errorBody("forbidden", fmt.Sprintf("the token of window %s may not post bills for window %s", c.window, quoted(b.Window)), nil))
		return
	}
	key, ok := s.billKey(w, b.Window, r.Header.Get("Idempotency-Key"))
	if !ok {
		return
	}
	res, err := s.o.Bills.SubmitBill(r.Context(), b, key, "api")
	if errors.Is(err, settle.ErrConflict) {
		s.noteConflict(b)
		if key != "" && strings.Contains(err.Error(), key) {
			// The engine knows the key only as stored (hashed): name the one the client sent.
			writeJSON(w, http.StatusConflict, errorBody("conflict", fmt.Sprintf(
				"Idempotency-Key %s was used for another bill body: resend that bill unchanged, or send this one with a new key", quoted(r.Header.Get("Idempotency-Key"))), nil))
			return
		}
	}
	s.writeResult(w, res, err)
}

// billFor loads a bill and checks the caller may see it.
func (s *Server) billFor(w http.ResponseWriter, r *http.Request) (*workflow.Record, bool) {
	if !settle.ValidIdentifier(r.PathValue("bill_no")) {
		// No bill can have such a number: not looked up, and not repeated back.
		writeJSON(w, http.StatusNotFound, errorBody("not_found", "no such bill: a bill number is 1 to 30 letters, digits, '.', '_' or '-'", nil))
		return nil, false
	}
	rec, err := s.o.Bills.Bill(r.PathValue("bill_no"))
	if errors.Is(err, settle.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, errorBody("not_found", fmt.Sprintf("bill %s: not found", r.PathValue("bill_no")), nil))
		return nil, false
	}
	if err != nil {
		s.writeErr(w, err)
		return nil, false
	}
	if c := callerOf(r); !c.admin && rec.Bill.Window != c.window {
		writeJSON(w, http.StatusForbidden, errorBody("forbidden", fmt.Sprintf("bill %s belongs to window %s", rec.Bill.BillNo, rec.Bill.Window), nil))
		return nil, false
	}
	return rec, true
}

func (s *Server) handleGetBill(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.billFor(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, billView(rec))
}

// settleRequest is the body of POST /v1/bills/{bill_no}/settle.
type settleRequest struct {
	AcctUsedFlag string `json:"acct_used_flag"`
	PsnSetlway   string `json:"psn_setlway"`
}

func (s *Server) handleSettle(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.billFor(w, r); !ok {
		return
	}
	var req settleRequest
	if r.ContentLength != 0 {
		if !decodeBody(w, r, &req) {
			return
		}
	}
	v := &settle.ValidationError{What: "settle request"}
	if req.AcctUsedFlag != "" && req.AcctUsedFlag != platform.AcctUsed && req.AcctUsedFlag != platform.AcctNotUsed {
		v.Add("acct_used_flag", "%s is not \"0\" or \"1\"", quoted(req.AcctUsedFlag))
	}
	if req.PsnSetlway != "" && req.PsnSetlway != platform.SetlwayByItem && req.PsnSetlway != platform.SetlwayByQuota {
		v.Add("psn_setlway", "%s is not \"01\" (by item) or \"02\" (by quota)", quoted(req.PsnSetlway))
	}
	if err := v.Err(); err != nil {
		s.writeErr(w, err)
		return
	}
	res, err := s.o.Bills.SettleBill(r.Context(), r.PathValue("bill_no"), req.AcctUsedFlag, req.PsnSetlway)
	s.writeResult(w, res, err)
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.billFor(w, r); !ok {
		return
	}
	res, err := s.o.Bills.CancelBill(r.Context(), r.PathValue("bill_no"))
	s.writeResult(w, res, err)
}

func (s *Server) handleListBills(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := workflow.State(q.Get("state"))
	switch state {
	case "", workflow.StateReceived, workflow.StatePresettled, workflow.StateQueued, workflow.StateSettling, workflow.StateSettled, workflow.StateCancelled, workflow.StateFailed, workflow.StateDead:
	default:
		writeJSON(w, http.StatusBadRequest, errorBody("bad_request", fmt.Sprintf("state %s is not one of received, presettled, queued, settling, settled, cancelled, failed, dead", quoted(string(state))), nil))
		return
	}
	var since time.Time
	if s := q.Get("since"); s != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, s); err != nil {
			if since, err = time.ParseInLocation("2006-01-02", s, settle.Beijing); err != nil {
				writeJSON(w, http.StatusBadRequest, errorBody("bad_request", fmt.Sprintf("since %s is not a time like 2026-11-23T09:00:00+08:00 or a date like 2026-11-23", quoted(s)), nil))
				return
			}
		}
	}
	limit := queryInt(r, "limit", 100, 1000)
	c := callerOf(r)
	var views []map[string]any
	after := q.Get("after")
	last := ""
	for len(views) < limit {
		recs, err := s.o.Bills.Bills(state, after, limit, since)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		for _, rec := range recs {
			last = rec.Bill.BillNo
			if c.admin || rec.Bill.Window == c.window {
				views = append(views, billView(rec))
				if len(views) == limit {
					break
				}
			}
		}
		if len(recs) < limit {
			last = ""
			break
		}
		after = last
	}
	if views == nil {
		views = []map[string]any{}
	}
	body := map[string]any{"bills": views}
	if last != "" {
		body["next_after"] = last
	}
	writeJSON(w, http.StatusOK, body)
}

// lookupRequest is the body of POST /v1/persons/lookup.
type lookupRequest struct {
	MdtrtCertType string `json:"mdtrt_cert_type"`
	MdtrtCertNo   string `json:"mdtrt_cert_no"`
	CardSN        string `json:"card_sn"`
	PsnName       string `json:"psn_name"`
}

func (s *Server) handleLookup(w http.ResponseWriter, r *http.Request) {
	var req lookupRequest
	if !decodeBody(w, r, &req) {
		return
	}
	v := &settle.ValidationError{What: "lookup"}
	switch req.MdtrtCertType {
	case settle.CertEVoucher, settle.CertIDNumber, settle.CertSSCard:
	default:
		v.Add("mdtrt_cert_type", "%s is not 01 (e-voucher), 02 (ID number) or 03 (social security card)", quoted(req.MdtrtCertType))
	}
	if strings.TrimSpace(req.MdtrtCertNo) == "" || len(req.MdtrtCertNo) > 512 {
		v.Add("mdtrt_cert_no", "is required (at most 512 characters)")
	}
	if err := v.Err(); err != nil {
		s.writeErr(w, err)
		return
	}
	pt := settle.Patient{MdtrtCertType: req.MdtrtCertType, MdtrtCertNo: req.MdtrtCertNo, CardSN: req.CardSN, PsnName: req.PsnName}
	if pt.MdtrtCertType == settle.CertEVoucher && s.o.DecodeVoucher != nil {
		// A scanned code is decoded into its ecToken first; one the service does not
		// know as a code is taken as an ecToken already decoded.
		c, err := s.o.DecodeVoucher(r.Context(), strings.TrimSpace(req.MdtrtCertNo))
		switch {
		case err == nil:
			pt = c.Patient()
		case errors.Is(err, ecvoucher.ErrExpired):
			writeJSON(w, http.StatusUnprocessableEntity, errorBody("ec_expired", cardreader.Message(err, pickLang(r, s.o.Language)), nil))
			return
		case errors.Is(err, ecvoucher.ErrOffline), errors.Is(err, ecvoucher.ErrBadAnswer), errors.Is(err, ecvoucher.ErrBusy):
			writeJSON(w, http.StatusServiceUnavailable, errorBody("ec_unavailable", cardreader.Message(err, pickLang(r, s.o.Language)), nil))
			return
		}
	}
	p, source, at, err := s.o.Persons.FindPerson(r.Context(), pt)
	s.recordLookup(r, "lookup", pt, source, err)
	if err != nil {
		s.writePersonErr(w, err)
		return
	}
	body := map[string]any{"person": personView(p), "source": source}
	if !at.IsZero() {
		body["person_cached_at"] = at.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, body)
}

// personView masks the ID number of a person for the window; the name stays, the
// cashier needs it to greet the patient.
func personView(p *settle.Person) settle.Person {
	v := *p
	v.Certno = settle.MaskID(v.Certno)
	return v
}
