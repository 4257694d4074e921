package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/recon"

	"github.com/settle-agent/settle-agent/queue"
)

func queueID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("bad_request", fmt.Sprintf("queue id %s is not a number", quoted(r.PathValue("id"))), nil))
		return 0, false
	}
	return id, true
}

// handleQueueList: GET /v1/queue?state=&after=&limit= (admin).
func (s *Server) handleQueueList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	f := queue.Filter{State: queue.State(q.Get("state")), Key: q.Get("key"), After: after, Limit: queryInt(r, "limit", 100, 1000)}
	recs, err := s.o.Queue.List(f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if recs == nil {
		recs = []*queue.Record{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": recs})
}

func (s *Server) handleQueueGet(w http.ResponseWriter, r *http.Request) {
	id, ok := queueID(w, r)
	if !ok {
		return
	}
	rec, err := s.o.Queue.Get(id)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// handleQueueRetry puts a failed or dead record back in line, and its bill back to queued.
func (s *Server) handleQueueRetry(w http.ResponseWriter, r *http.Request) {
	s.moveQueueRecord(w, r, s.o.Jobs.RetryJob)
}

// handleQueueDead gives up on a record by hand (a person settles it another way).
func (s *Server) handleQueueDead(w http.ResponseWriter, r *http.Request) {
	s.moveQueueRecord(w, r, s.o.Jobs.KillJob)
}

// moveQueueRecord is an administrator's move of one queue record (the engine moves
// the bill it names in the same transaction).
func (s *Server) moveQueueRecord(w http.ResponseWriter, r *http.Request, move func(ctx context.Context, id uint64) error) {
	id, ok := queueID(w, r)
	if !ok {
		return
	}
	if err := move(r.Context(), id); err != nil {
		s.writeErr(w, err)
		return
	}
	got, err := s.o.Queue.Get(id)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

// handleReconciliation: GET /v1/reconciliation?date=YYYY-MM-DD[&format=csv][&check=0] (admin).
func (s *Server) handleReconciliation(w http.ResponseWriter, r *http.Request) {
	day := r.URL.Query().Get("date")
	if day == "" {
		day = settle.Day(s.now())
	}
	if _, err := time.Parse("2006-01-02", day); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("bad_request", fmt.Sprintf("date %s is not a date like 2026-11-23", quoted(day)), nil))
		return
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json", "csv":
	default:
		// Asked before anything goes to the platform (3201/3202).
		writeJSON(w, http.StatusBadRequest, errorBody("bad_request", fmt.Sprintf("format %s is not json or csv", quoted(f)), nil))
		return
	}
	if s.o.Reconciler == nil {
		writeJSON(w, http.StatusNotFound, errorBody("not_found", "reconciliation is not configured in this agent", nil))
		return
	}
	rep, err := s.o.Reconciler.Reconcile(r.Context(), day, r.URL.Query().Get("check") != "0")
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="reconciliation-`+day+`.csv"`)
		_ = recon.WriteCSV(w, rep)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
