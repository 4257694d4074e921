package httpapi

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/workflow"
)

// Status is the body of GET /v1/status.
type Status struct {
	Online         bool                   `json:"online"`
	OnlineSince    time.Time              `json:"online_since"`
	LastPlatformOK *time.Time             `json:"last_platform_ok"`
	PlatformP99Ms  float64                `json:"platform_p99_ms"`
	SignedIn       bool                   `json:"signed_in"`
	Queue          QueueStatus            `json:"queue"`
	Bills          map[workflow.State]int `json:"bills"`
	Stays          workflow.StaySummary   `json:"stays"`
	Outstanding    string                 `json:"offline_outstanding"`
	Readers        []cardreader.State     `json:"readers"`
	Mapping        *MappingStatus         `json:"mapping,omitempty"`
	Version        string                 `json:"version"`
	StartedAt      time.Time              `json:"started_at"`
}

// QueueStatus is the queue part of Status.
type QueueStatus struct {
	Queued     int     `json:"queued"`
	Inflight   int     `json:"inflight"`
	Failed     int     `json:"failed"`
	Dead       int     `json:"dead"`
	OldestAgeS float64 `json:"oldest_age_s"`
}

func (s *Server) status() (Status, error) {
	online, since, lastOK := s.eng.Breaker().State()
	st := Status{
		Online: online, OnlineSince: since, PlatformP99Ms: float64(s.metrics.callTimes.p99().Microseconds()) / 1000,
		SignedIn: s.eng.SignedIn(), Version: s.o.Version, StartedAt: s.started,
		Readers: []cardreader.State{},
	}
	if !lastOK.IsZero() {
		st.LastPlatformOK = &lastOK
	}
	qs, err := s.q.Stats()
	if err != nil {
		return st, err
	}
	st.Queue = QueueStatus{Queued: qs.Ready, Inflight: qs.Leased, Failed: qs.Failed, Dead: qs.Dead, OldestAgeS: qs.OldestReadyAge.Seconds()}
	st.Bills = s.eng.BillCounts()
	st.Stays = s.eng.StaySummary()
	st.Outstanding = s.eng.Outstanding().String()
	st.Readers = append(st.Readers, s.o.Readers()...)
	st.Mapping = s.o.Mapping()
	return st, nil
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.status()
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

// handleReadyz: ready when the store answers. The platform and the readers are shown,
// but being offline does not make the agent unready: serving offline is its job.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	st, err := s.q.Stats()
	online, _, _ := s.eng.Breaker().State()
	readers := append([]cardreader.State{}, s.o.Readers()...)
	body := map[string]any{"store": "ok", "online": online, "readers": readers}
	if err != nil || s.o.Closing() {
		body["store"] = "unavailable"
		if err != nil {
			body["error"] = err.Error()
		}
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	body["queue"] = st
	writeJSON(w, http.StatusOK, body)
}

//go:embed status.html
var statusHTML string

var statusTmpl = template.Must(template.New("status").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(settle.Beijing).Format("01-02 15:04:05")
	},
	"secs": func(s float64) string { return (time.Duration(s) * time.Second).String() },
}).Parse(statusHTML))

// statusPage is what the status page shows.
type statusPage struct {
	Status
	Hospital  string
	Recent    []*workflow.Record
	Attention []*workflow.Record
	Settled   int
	Now       time.Time
}

// handleStatusPage is the page hospital IT reads at a glance. It needs no internet:
// no scripts or styles from elsewhere; it refreshes itself every 5 seconds.
func (s *Server) handleStatusPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.status()
	if err != nil {
		http.Error(w, "store unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	p := statusPage{Status: st, Hospital: s.cfg.Hospital.FixmedinsName + " (" + s.cfg.Hospital.FixmedinsCode + ")", Now: s.now()}
	p.Settled = st.Bills[workflow.StateSettled]
	p.Recent = s.eng.RecentBills(20)
	for _, state := range []workflow.State{workflow.StateFailed, workflow.StateDead} {
		recs, _ := s.eng.Bills(state, "", 20, time.Time{})
		p.Attention = append(p.Attention, recs...)
	}
	// Render first: a template error must not leave half a page that reads as fine.
	var page bytes.Buffer
	if err := statusTmpl.Execute(&page, p); err != nil {
		s.log.Error("status page", "err", err)
		http.Error(w, "status page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(page.Bytes())
}
