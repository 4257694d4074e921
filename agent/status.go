package agent

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/settle-agent/settle-agent/cardreader"
)

// Status is the body of GET /v1/status.
type Status struct {
	Online         bool               `json:"online"`
	OnlineSince    time.Time          `json:"online_since"`
	LastPlatformOK *time.Time         `json:"last_platform_ok"`
	PlatformP99Ms  float64            `json:"platform_p99_ms"`
	SignedIn       bool               `json:"signed_in"`
	Queue          QueueStatus        `json:"queue"`
	Bills          map[State]int      `json:"bills"`
	Outstanding    string             `json:"offline_outstanding"`
	Readers        []cardreader.State `json:"readers"`
	Mapping        *MappingStatus     `json:"mapping,omitempty"`
	Version        string             `json:"version"`
	StartedAt      time.Time          `json:"started_at"`
}

// QueueStatus is the queue part of Status.
type QueueStatus struct {
	Queued     int     `json:"queued"`
	Inflight   int     `json:"inflight"`
	Failed     int     `json:"failed"`
	Dead       int     `json:"dead"`
	OldestAgeS float64 `json:"oldest_age_s"`
}

// MappingStatus says which item code mapping is in force.
type MappingStatus struct {
	Entries   int       `json:"entries"`
	LoadedAt  time.Time `json:"loaded_at"`
	LastError string    `json:"last_error,omitempty"`
}

func (a *Agent) status() (Status, error) {
	online, since, lastOK := a.breaker.state()
	s := Status{
		Online: online, OnlineSince: since, PlatformP99Ms: float64(a.metrics.callTimes.p99().Microseconds()) / 1000,
		SignedIn: a.client.SignNo() != "", Version: a.version, StartedAt: a.started,
		Readers: []cardreader.State{},
	}
	if !lastOK.IsZero() {
		s.LastPlatformOK = &lastOK
	}
	st, err := a.store.Stats()
	if err != nil {
		return s, err
	}
	s.Queue = QueueStatus{Queued: st.Ready, Inflight: st.Leased, Failed: st.Failed, Dead: st.Dead, OldestAgeS: st.OldestReadyAge.Seconds()}
	s.Bills = a.billCounts()
	a.mu.Lock()
	s.Outstanding = a.outstanding.String()
	a.mu.Unlock()
	for _, r := range a.readers {
		s.Readers = append(s.Readers, r.State())
	}
	if a.mapping != nil {
		m := &MappingStatus{LoadedAt: a.mapping.LoadedAt()}
		if cur := a.mapping.Current(); cur != nil {
			m.Entries = cur.Len()
		}
		if err := a.mapping.LastError(); err != nil {
			m.LastError = err.Error()
		}
		s.Mapping = m
	}
	return s, nil
}

// billCounts counts bills per state from the state index.
func (a *Agent) billCounts() map[State]int {
	out := map[State]int{}
	_ = a.store.View(func(tx *bolt.Tx) error {
		for _, st := range []State{StateReceived, StatePresettled, StateQueued, StateSettling, StateSettled, StateCancelled, StateFailed, StateDead} {
			out[st] = a.countState(tx, st)
		}
		return nil
	})
	return out
}

func (a *Agent) handleStatus(w http.ResponseWriter, r *http.Request) {
	s, err := a.status()
	if err != nil {
		a.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *Agent) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
}

// handleReadyz: ready when the store answers. The platform and the readers are shown,
// but being offline does not make the agent unready: serving offline is its job.
func (a *Agent) handleReadyz(w http.ResponseWriter, r *http.Request) {
	st, err := a.store.Stats()
	online, _, _ := a.breaker.state()
	readers := []cardreader.State{}
	for _, rd := range a.readers {
		readers = append(readers, rd.State())
	}
	body := map[string]any{"store": "ok", "online": online, "readers": readers}
	if err != nil || a.isClosing() {
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
		return t.In(cst).Format("01-02 15:04:05")
	},
	"secs": func(s float64) string { return (time.Duration(s) * time.Second).String() },
}).Parse(statusHTML))

// statusPage is what the status page shows.
type statusPage struct {
	Status
	Hospital  string
	Recent    []*billRecord
	Attention []*billRecord
	Settled   int
	Now       time.Time
}

// handleStatusPage is the page hospital IT reads at a glance. It needs no internet:
// no scripts or styles from elsewhere; it refreshes itself every 5 seconds.
func (a *Agent) handleStatusPage(w http.ResponseWriter, r *http.Request) {
	s, err := a.status()
	if err != nil {
		http.Error(w, "store unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	p := statusPage{Status: s, Hospital: a.cfg.Hospital.FixmedinsName + " (" + a.cfg.Hospital.FixmedinsCode + ")", Now: a.now()}
	p.Settled = s.Bills[StateSettled]
	p.Recent = a.recentBills(20)
	for _, st := range []State{StateFailed, StateDead} {
		recs, _ := a.listBills(st, "", 20, time.Time{})
		p.Attention = append(p.Attention, recs...)
	}
	// Render first: a template error must not leave half a page that reads as fine.
	var page bytes.Buffer
	if err := statusTmpl.Execute(&page, p); err != nil {
		a.log.Error("status page", "err", err)
		http.Error(w, "status page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(page.Bytes())
}

// recentBills returns the n most recently updated bills (a bounded scan of the newest
// queued and settled indexes would be cheaper; the store is small enough per day).
func (a *Agent) recentBills(n int) []*billRecord {
	var out []*billRecord
	_ = a.store.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketByDay)
		if idx == nil {
			return nil
		}
		c := idx.Cursor()
		for k, _ := c.Last(); k != nil && len(out) < n; k, _ = c.Prev() {
			for i, ch := range k {
				if ch == 0 {
					if rec, err := a.getBill(tx, string(k[i+1:])); err == nil {
						out = append(out, rec)
					}
					break
				}
			}
		}
		return nil
	})
	return out
}
