package agent

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	settle "github.com/settle-agent/settle-agent"
)

// cardHub hands each window's card reads to the cashier software's long poll. A read
// nobody has collected yet waits (for cardTTL) for the next poll of its window.
type cardHub struct {
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

func newCardHub(now func() time.Time) *cardHub {
	return &cardHub{now: now, windows: map[string]*cardSlot{}}
}

func (h *cardHub) slot(window string) *cardSlot {
	s := h.windows[window]
	if s == nil {
		s = &cardSlot{notify: make(chan struct{})}
		h.windows[window] = s
	}
	return s
}

// publish is the readers' OnRead: it must return at once.
func (h *cardHub) publish(r settle.CardRead) {
	h.mu.Lock()
	s := h.slot(r.Window)
	s.pending = &r
	close(s.notify)
	s.notify = make(chan struct{})
	h.mu.Unlock()
}

// next waits up to wait for a read at window; nil when none came.
func (h *cardHub) next(ctx context.Context, window string, wait time.Duration) *settle.CardRead {
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

func (a *Agent) handleCard(w http.ResponseWriter, r *http.Request) {
	window := r.PathValue("window")
	if _, ok := a.cfg.Window(window); !ok {
		writeJSON(w, http.StatusNotFound, errorBody("unknown_window", "window "+window+" is not configured in this agent", nil))
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
	read := a.cards.next(r.Context(), window, wait)
	if read == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if read.Err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody("card_error", read.Err.Error(), map[string]any{"window": window, "at": read.At}))
		return
	}
	p, source, err := a.findPerson(r.Context(), read.Card.Patient())
	if errors.Is(err, settle.ErrNotFound) {
		// Offline and never seen: what the card itself says.
		p = &settle.Person{PsnName: read.Card.Name, Certno: read.Card.SSN, PsnCertType: "01",
			Insuinfo: []settle.InsuInfo{{InsuplcAdmdvs: read.Card.RegionCode}}}
		source, err = sourceCard, nil
	}
	if err != nil {
		a.writePersonErr(w, err)
		return
	}
	body := map[string]any{"card": read.Card.Masked(), "person": personView(p), "read_at": read.At}
	body["source"], body["person_cached_at"] = splitSource(source)
	if body["person_cached_at"] == "" {
		delete(body, "person_cached_at")
	}
	writeJSON(w, http.StatusOK, body)
}

// findPerson asks the platform (1101) within the cashier deadline; offline, or when it
// does not answer in time, the last answer kept for that certificate; else ErrNotFound.
func (a *Agent) findPerson(ctx context.Context, pt settle.Patient) (*settle.Person, string, error) {
	if a.breaker.isOnline() {
		dctx, cancel := context.WithTimeout(ctx, a.cfg.Offline.Deadline.Duration)
		p, err := a.personOnline(dctx, pt, nil)
		cancel()
		if err == nil {
			return p, sourcePlatform, nil
		}
		if isFinal(err) {
			return nil, "", err
		}
		a.log.Warn("person lookup did not finish online; using the cache", "err", err)
	}
	cp, err := a.cachedPerson(pt.MdtrtCertType, pt.MdtrtCertNo)
	if err != nil {
		return nil, "", err
	}
	if cp == nil {
		return nil, "", settle.ErrNotFound
	}
	p := cp.Person
	return &p, sourceCache + " " + cp.At.UTC().Format(time.RFC3339), nil
}

// splitSource separates "cache <time>" into the source and when the cached answer was
// taken (offline.md: cached person info "with its age").
func splitSource(source string) (string, string) {
	if s, at, ok := strings.Cut(source, " "); ok {
		return s, at
	}
	return source, ""
}
