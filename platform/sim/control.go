package sim

import (
	"encoding/json"
	"net"
	"net/http"
	"sort"
)

// serveControl answers the /sim/ API (loopback clients only):
//
//	GET  /sim/ledger   {"entries": [Entry...]}
//	GET  /sim/settled  {"settled": {"chrg_bchno": count}, "stays": {"ipt_no": count}}
//	GET  /sim/stats    {"calls": {"infno": n}, "repeated_msgids": [...], "violations": {"rule": n}}
//	GET  /sim/faults   Faults
//	PUT  /sim/faults   Faults (replaces all of it) -> Faults
//	POST /sim/reset    restores the fixture, clears ledger, faults and stats
//	POST /sim/expire-sessions  forgets every sign-in -> {"expired": n}
//	GET  /sim/late     {"pending": [msgid...], "hold": bool}: late bookings not landed
//	PUT  /sim/late     {"hold": bool} (HoldLate) -> as GET
//	POST /sim/late/release     lands every late booking now -> {"landed": n}
func (p *Platform) serveControl(w http.ResponseWriter, r *http.Request) {
	if !loopback(r.RemoteAddr) {
		http.Error(w, ErrNotLoopback.Error(), http.StatusForbidden)
		return
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /sim/ledger":
		writeJSON(w, http.StatusOK, map[string]any{"entries": p.Ledger()})
	case "GET /sim/settled":
		writeJSON(w, http.StatusOK, map[string]any{"settled": p.Settled(), "stays": p.SettledStays()})
	case "GET /sim/stats":
		repeated := p.RepeatedMsgids()
		if repeated == nil {
			repeated = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"calls": p.Stats(), "repeated_msgids": repeated, "violations": p.Violations()})
	case "GET /sim/faults":
		writeJSON(w, http.StatusOK, p.Faults())
	case "PUT /sim/faults":
		var f Faults
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "faults: " + err.Error()})
			return
		}
		if err := f.Validate(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "faults: " + err.Error()})
			return
		}
		p.SetFaults(f)
		writeJSON(w, http.StatusOK, p.Faults())
	case "POST /sim/reset":
		p.Reset()
		writeJSON(w, http.StatusOK, map[string]string{"status": "reset"})
	case "POST /sim/expire-sessions":
		writeJSON(w, http.StatusOK, map[string]int{"expired": p.ExpireSessions()})
	case "GET /sim/late":
		writeJSON(w, http.StatusOK, p.lateStatus())
	case "PUT /sim/late":
		var body struct {
			Hold bool `json:"hold"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "late: " + err.Error()})
			return
		}
		p.HoldLate(body.Hold)
		writeJSON(w, http.StatusOK, p.lateStatus())
	case "POST /sim/late/release":
		writeJSON(w, http.StatusOK, map[string]int{"landed": p.ReleaseLate()})
	default:
		routes := []string{"GET /sim/ledger", "GET /sim/settled", "GET /sim/stats", "GET /sim/faults", "PUT /sim/faults", "POST /sim/reset",
			"POST /sim/expire-sessions", "GET /sim/late", "PUT /sim/late", "POST /sim/late/release"}
		sort.Strings(routes)
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such control: " + route, "routes": routes})
	}
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (p *Platform) lateStatus() map[string]any {
	pending := p.PendingLate()
	p.mu.Lock()
	hold := p.holdLate
	p.mu.Unlock()
	return map[string]any{"pending": pending, "hold": hold}
}
