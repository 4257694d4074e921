package httpapi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/workflow"
)

// CardHub hands each window's card reads to the cashier software's long poll. A read
// nobody has collected yet waits (for cardTTL) for the next poll of its window.
type CardHub struct {
	mu      sync.Mutex
	now     func() time.Time
	windows map[string]*cardSlot
}

type cardSlot struct {
	pending *settle.CardRead
	notify  chan struct{}
}

// cardTTL is how long an uncollected read stays valid: a card swiped a minute ago
// belongs to a patient who may have left.
const cardTTL = 60 * time.Second

// NewCardHub is an empty hub on the clock now.
func NewCardHub(now func() time.Time) *CardHub {
	return &CardHub{now: now, windows: map[string]*cardSlot{}}
}

func (h *CardHub) slot(window string) *cardSlot {
	s := h.windows[window]
	if s == nil {
		s = &cardSlot{notify: make(chan struct{})}
		h.windows[window] = s
	}
	return s
}

// Publish is the readers' OnRead: it must return at once.
func (h *CardHub) Publish(r settle.CardRead) {
	h.mu.Lock()
	s := h.slot(r.Window)
	s.pending = &r
	close(s.notify)
	s.notify = make(chan struct{})
	h.mu.Unlock()
}

// next waits up to wait for a read at window; nil when none came.
func (h *CardHub) next(ctx context.Context, window string, wait time.Duration) *settle.CardRead {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		h.mu.Lock()
		s := h.slot(window)
		if p := s.pending; p != nil {
			s.pending = nil
			if h.now().Sub(p.At) <= cardTTL {
				h.mu.Unlock()
				return p
			}
		}
		ch := s.notify
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			return nil
		case <-ch:
		}
	}
}

func (s *Server) handleCard(w http.ResponseWriter, r *http.Request) {
	window := r.PathValue("window")
	if !s.window(window) {
		writeJSON(w, http.StatusNotFound, errorBody("unknown_window", "window "+quoted(window)+" is not configured in this agent", nil))
		return
	}
	wait := 30 * time.Second
	if s := r.URL.Query().Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			writeJSON(w, http.StatusBadRequest, errorBody("bad_request", "wait "+s+" is not a duration like 30s", nil))
			return
		}
		wait = min(d, 60*time.Second)
	}
	if s.o.Demand != nil { // library and remote readers poll while someone waits
		defer s.o.Demand.Begin(window)()
	}
	read := s.cards.next(r.Context(), window, wait)
	if read == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if read.Err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("card_error", cardreader.Message(read.Err, pickLang(r, s.o.Language)),
			map[string]any{"window": window, "at": read.At, "carrier": cardreader.Carrier(read.Card), "reason": cardreader.ErrorCode(read.Err)}))
		return
	}
	p, source, at, err := s.o.Persons.FindPerson(r.Context(), read.Card.Patient())
	if errors.Is(err, settle.ErrNotFound) {
		// Offline and never seen: what the card itself says.
		p = &settle.Person{PsnName: read.Card.Name, Certno: read.Card.SSN, PsnCertType: "01",
			Insuinfo: []settle.InsuInfo{{InsuplcAdmdvs: read.Card.RegionCode}}}
		if read.Card.PsnCertType != "" {
			p.PsnCertType = read.Card.PsnCertType
		}
		source, err = workflow.SourceCard, nil
	}
	s.recordLookup(r, "card", read.Card.Patient(), source, err)
	if err != nil {
		s.writePersonErr(w, err)
		return
	}
	body := map[string]any{"card": read.Card.Masked(), "person": personView(p), "read_at": read.At, "source": source,
		"carrier": cardreader.Carrier(read.Card)}
	if !at.IsZero() {
		body["person_cached_at"] = at.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, body)
}
