package agent

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/settle-agent/settle-agent/queue"
)

func queueID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("bad_request", fmt.Sprintf("queue id %q is not a number", r.PathValue("id")), nil))
		return 0, false
	}
	return id, true
}

func (a *Agent) writeQueueErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, queue.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody("not_found", err.Error(), nil))
	case errors.Is(err, queue.ErrWrongState):
		writeJSON(w, http.StatusConflict, errorBody("wrong_state", err.Error(), nil))
	default:
		a.writeErr(w, err)
	}
}

// handleQueueList: GET /v1/queue?state=&after=&limit= (admin).
func (a *Agent) handleQueueList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	f := queue.Filter{State: queue.State(q.Get("state")), Key: q.Get("key"), After: after, Limit: queryInt(r, "limit", 100, 1000)}
	recs, err := a.store.List(f)
	if err != nil {
		a.writeQueueErr(w, err)
		return
	}
	if recs == nil {
		recs = []*queue.Record{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": recs})
}

func (a *Agent) handleQueueGet(w http.ResponseWriter, r *http.Request) {
	id, ok := queueID(w, r)
	if !ok {
		return
	}
	rec, err := a.store.Get(id)
	if err != nil {
		a.writeQueueErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

// handleQueueRetry puts a failed or dead record back in line, and its bill back to queued.
func (a *Agent) handleQueueRetry(w http.ResponseWriter, r *http.Request) {
	a.moveQueueRecord(w, r, "retried", func(rec *billRecord) {
		if rec.State == StateFailed || rec.State == StateDead {
			rec.State = StateQueued
			rec.ErrCode, rec.ErrMsg = "", ""
		}
	}, func(tx *queue.Tx, id uint64) error { return tx.Retry(id) })
}

// handleQueueDead gives up on a record by hand (a person settles it another way).
func (a *Agent) handleQueueDead(w http.ResponseWriter, r *http.Request) {
	a.moveQueueRecord(w, r, "moved to dead", func(rec *billRecord) {
		rec.State, rec.ErrCode, rec.ErrMsg = StateDead, "dead", "moved to dead by an administrator"
	}, func(tx *queue.Tx, id uint64) error { return tx.Dead(id, "by an administrator") })
}

// moveQueueRecord is an administrator's move of one queue record: the bill it names
// changes in the same transaction as the record, under the bill's lock.
func (a *Agent) moveQueueRecord(w http.ResponseWriter, r *http.Request, what string,
	changeBill func(*billRecord), move func(tx *queue.Tx, id uint64) error) {
	id, ok := queueID(w, r)
	if !ok {
		return
	}
	qr, err := a.store.Get(id)
	if err != nil {
		a.writeQueueErr(w, err)
		return
	}
	billNo := billNoOf(qr)
	unlock, err := a.locks.lock(r.Context(), billNo)
	if err != nil {
		a.writeErr(w, err)
		return
	}
	defer unlock()
	rec, err := a.loadBill(billNo)
	if err != nil {
		a.writeErr(w, err)
		return
	}
	changeBill(rec)
	if err := a.save(r.Context(), rec, func(tx *queue.Tx) error { return move(tx, id) }); err != nil {
		a.writeQueueErr(w, err)
		return
	}
	a.log.Warn("queue record "+what+" by an administrator", "id", id, "bill_no", billNo)
	got, _ := a.store.Get(id)
	writeJSON(w, http.StatusOK, got)
}

func billNoOf(r *queue.Record) string {
	var p queuePayload
	_ = jsonUnmarshal(r.Payload, &p)
	return p.BillNo
}
