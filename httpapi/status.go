package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/workflow"
)

// Status is the body of GET /v1/status.
type Status struct {
	Online         bool                   `json:"online"`
	OnlineSince    time.Time              `json:"online_since"`
	LastPlatformOK *time.Time             `json:"last_platform_ok"`
	PlatformP99Ms  float64                `json:"platform_p99_ms"`
	SignedIn       bool                   `json:"signed_in"`
	SignInError    string                 `json:"sign_in_error,omitempty"`
	Queue          QueueStatus            `json:"queue"`
	Bills          map[workflow.State]int `json:"bills"`
	Stays          workflow.StaySummary   `json:"stays"`
	Outstanding    string                 `json:"offline_outstanding"`
	Readers        []cardreader.State     `json:"readers"`
	Mapping        *MappingStatus         `json:"mapping,omitempty"`
	Catalogue      *catalogue.Status      `json:"catalogue,omitempty"`
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

// platformP99Ms is the platform's p99 call time in milliseconds.
func (s *Server) platformP99Ms() float64 {
	return float64(s.metrics.callTimes.p99().Microseconds()) / 1000
}

func (s *Server) status() (Status, error) {
	online, since, lastOK := s.o.Link.Breaker().State()
	st := Status{
		Online: online, OnlineSince: since, PlatformP99Ms: s.platformP99Ms(),
		// A session kept while offline says nothing: the platform may have dropped it.
		SignedIn: online && s.o.Link.SignedIn(), SignInError: s.o.Link.SignInRefusal(), Version: s.o.Version, StartedAt: s.started,
		Readers: []cardreader.State{},
	}
	if !lastOK.IsZero() {
		st.LastPlatformOK = &lastOK
	}
	qs, err := s.o.Queue.Stats()
	if err != nil {
		return st, err
	}
	st.Queue = QueueStatus{Queued: qs.Ready, Inflight: qs.Leased, Failed: qs.Failed, Dead: qs.Dead, OldestAgeS: qs.OldestReadyAge.Seconds()}
	st.Bills = s.o.Bills.BillCounts()
	st.Stays = s.o.Stays.StaySummary()
	out := s.o.Bills.Outstanding()
	st.Outstanding = out.String()
	s.day.add(daySample{At: s.now(), Queued: qs.Ready, P99Ms: st.PlatformP99Ms, Outstanding: out})
	st.Readers = append(st.Readers, s.o.Readers()...)
	st.Mapping = s.o.Mapping()
	if s.o.Catalogue != nil {
		if cs, err := s.o.Catalogue.Status(); err == nil {
			st.Catalogue = &cs
		} else {
			s.log.Warn("catalogue status", "err", err)
		}
	}
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
	st, err := s.o.Queue.Stats()
	online, _, _ := s.o.Link.Breaker().State()
	readers := append([]cardreader.State{}, s.o.Readers()...)
	body := map[string]any{"store": "ok", "online": online, "readers": readers}
	if s.o.Cluster != nil {
		body["quorum"] = s.o.Cluster.Quorum()
	}
	if s.noQuorum() {
		body["store"] = "no_quorum"
		body["error"] = noQuorumMessage[langEn]
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
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
	"ago": func(t map[string]string, at time.Time) string {
		if at.IsZero() {
			return t["never"]
		}
		return time.Since(at).Round(time.Second).String() + " " + t["ago"]
	},
	// beijing says a moment the one way people read it (settle.BeijingTime), a
	// moment never reached as "—".
	"beijing": func(lang string, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return settle.BeijingTime(t, lang)
	},
	// reason is why a bill was refused or given up, in the page's language.
	"reason":   refusalText,
	"surprise": surpriseText,
	"secs":     func(s float64) string { return (time.Duration(s) * time.Second).String() },
	"state":    func(t map[string]string, s workflow.State) string { return textOr(t, "state_"+string(s), string(s)) },
	// billState is a bill's state as the page names it: a failed bill that
	// needs no person was refused by the platform at the window.
	"billState": func(t map[string]string, rec *workflow.Record) string {
		if rec.State == workflow.StateFailed && needsPerson(rec) == "" {
			return t["state_refused"]
		}
		if resolving(rec) {
			return textOr(t, "state_"+string(rec.State), string(rec.State)) + " · " + t[whyUnknown]
		}
		return textOr(t, "state_"+string(rec.State), string(rec.State))
	},
	"billClass": func(rec *workflow.Record) string {
		if rec.State == workflow.StateFailed && needsPerson(rec) == "" {
			return "refused"
		}
		return string(rec.State)
	},
	"src": func(t map[string]string, source string) string {
		return textOr(t, "src_"+sourceOf(source), t["src_other"])
	},
}).Parse(statusHTML))

// textOr is t[key], or def when the table has no such string.
func textOr(t map[string]string, key, def string) string {
	if v, ok := t[key]; ok {
		return v
	}
	return def
}

// sourceOf is the way a bill came in: "api", "hl7", "dropfolder".
func sourceOf(source string) string {
	kind, _, _ := strings.Cut(source, " ")
	return kind
}

// statusPage is what the status page shows.
type statusPage struct {
	Status
	T         map[string]string // the page's strings in its language
	OtherLang string            // the other language's ?lang= value
	Lang      string            // the page's language
	Hospital  string
	// SignedInNow: signed in and online; a sign_no kept while offline says nothing.
	SignedInNow bool
	Waiting     []*workflow.Record // pre-settled, waiting for the cashier
	Refused     []*workflow.Record // refused by the platform: the cashier's business
	Attention   []attentionRow     // needs IT or a person
	Recent      []*workflow.Record // latest activity first
	StayList    []stayRow          // open and recent stays, latest change first
	Charts      []chartView        // the day's queue depth, p99 and offline money
	Offline     offlineTotals
	Settled     int
	// AttentionN, RefusedN and WaitingN count the bills of each list, which
	// shows only the newest pageLimit.
	AttentionN, RefusedN, WaitingN int
	Now                            time.Time
	// ClusterWarning is the line about the group's etcd quota ("" below 80% or on a
	// single machine).
	ClusterWarning string
}

// attentionRow is one bill that needs IT or a person, and why (a pageText key).
type attentionRow struct {
	*workflow.Record
	Why string
}

// offlineTotals are today's offline bills as the cashier office settles them
// with the patients: what was collected, what is owed back or still due.
type offlineTotals struct {
	Bills                              int
	Collected, Refunds, Due, Unsettled settle.Money
}

// Reasons a bill needs a person (pageText keys).
const (
	whyFailedSync = "why_failed_sync"
	whyDead       = "why_dead"
	whyUnknown    = "why_unknown"
	whySurprise   = "why_surprise"
)

// needsPerson says why a bill needs IT or a person, or "" when it does not: a
// platform's refusal at the window (未备案, ...) is the cashier's ordinary
// business; a refusal after cash was collected offline and a bill given up after
// the retry horizon are not. An outcome at the platform still unknown (a lost
// answer) needs nobody: the agent resolves it itself (resolving), and a bill it
// cannot resolve ends failed or dead, which raise the alarm then.
func needsPerson(rec *workflow.Record) string {
	switch {
	case rec.State == workflow.StateDead:
		return whyDead
	case rec.State == workflow.StateFailed && (rec.Offline || rec.Collected != nil || rec.QueueID != 0):
		return whyFailedSync
	}
	return ""
}

// resolving reports whether a bill waits for the agent to learn the outcome of a
// message whose answer was lost.
func resolving(rec *workflow.Record) bool {
	for _, p := range rec.Pending {
		if p.Unknown {
			return true
		}
	}
	return false
}

// totalsOf adds up the offline bills among recs.
func totalsOf(recs []*workflow.Record) offlineTotals {
	var t offlineTotals
	for _, rec := range recs {
		if rec.Collected == nil {
			continue // not collected offline (a bill cancelled after collecting counts: its money goes back)
		}
		t.Bills++
		t.Collected += *rec.Collected
		if d, ok := workflow.DifferenceOf(rec); ok {
			t.Refunds += d.Refund
			t.Due += d.AmountDue
		} else {
			t.Unsettled += *rec.Collected
		}
	}
	return t
}

// byTime sorts records by their last change, newest first.
func byTime(recs []*workflow.Record) {
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].UpdatedAt.After(recs[j].UpdatedAt) })
}

// newest is the first n of recs sorted by time.
func newest(recs []*workflow.Record, n int) []*workflow.Record { return recs[:min(len(recs), n)] }

// recentOf merges groups of records (one bill once) into the pageLimit latest.
func recentOf(groups ...[]*workflow.Record) []*workflow.Record {
	seen := map[string]bool{}
	var out []*workflow.Record
	for _, g := range groups {
		for _, rec := range g {
			if !seen[rec.Bill.BillNo] {
				seen[rec.Bill.BillNo] = true
				out = append(out, rec)
			}
		}
	}
	byTime(out)
	return newest(out, pageLimit)
}

// pageLimit bounds every list of the page.
const pageLimit = 20

// handleStatusPage is the page hospital IT and the cashier office read at a
// glance, in Chinese unless asked otherwise. It needs no internet: no scripts or
// styles from elsewhere; it refreshes itself every 5 seconds.
func (s *Server) handleStatusPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.status()
	if err != nil {
		http.Error(w, "store unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	lang := pickLang(r, s.o.Language)
	p := statusPage{Status: st, T: pageText[lang], Lang: lang, OtherLang: langEn, Now: s.now(),
		Hospital:    s.o.Hospital,
		SignedInNow: st.Online && st.SignedIn}
	if lang == langEn {
		p.OtherLang = langZh
	}
	p.Settled = st.Bills[workflow.StateSettled]
	if s.o.Cluster != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		p.ClusterWarning = clusterWarning(s.o.Cluster.Status(ctx), lang)
		cancel()
	}
	waiting, _ := s.o.Bills.Bills(workflow.StatePresettled, "", 200, time.Time{})
	failed, _ := s.o.Bills.Bills(workflow.StateFailed, "", 200, time.Time{})
	dead, _ := s.o.Bills.Bills(workflow.StateDead, "", pageLimit, time.Time{})
	queued, _ := s.o.Bills.Bills(workflow.StateQueued, "", 200, time.Time{})
	settling, _ := s.o.Bills.Bills(workflow.StateSettling, "", 200, time.Time{})
	for _, group := range [][]*workflow.Record{dead, failed, settling, queued} {
		for _, rec := range group {
			switch why := needsPerson(rec); {
			case why != "":
				p.Attention = append(p.Attention, attentionRow{rec, why})
			case rec.State == workflow.StateFailed:
				p.Refused = append(p.Refused, rec)
			}
		}
	}
	// Answers that surprised the client: booked as the platform said, to be checked.
	for _, rec := range s.o.Bills.SurprisedBills(pageLimit) {
		if needsPerson(rec) == "" && rec.State != workflow.StateFailed {
			p.Attention = append(p.Attention, attentionRow{rec, whySurprise})
		}
	}
	p.AttentionN, p.RefusedN, p.WaitingN = len(p.Attention), len(p.Refused), len(waiting)
	byTime(waiting)
	p.Waiting = newest(waiting, pageLimit)
	byTime(p.Refused)
	p.Refused = newest(p.Refused, pageLimit)
	p.Attention = p.Attention[:min(len(p.Attention), pageLimit)]
	// Recent activity: the latest days' settlements (the day index orders them
	// by number, not time) and every bill still in play, newest first.
	p.Recent = recentOf(s.o.Bills.RecentBills(10*pageLimit), waiting, failed, dead, queued, settling)
	p.StayList = stayRows(s.o.Stays)
	p.Charts = s.day.views(p.Now)
	today, _ := s.o.Bills.BillsOfDay(settle.Day(p.Now))
	p.Offline = totalsOf(today)
	// Render first: a template error must not leave half a page that reads as fine.
	var page bytes.Buffer
	if err := statusTmpl.Execute(&page, p); err != nil {
		s.log.Error("status page", "err", err)
		http.Error(w, "status page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.T["html_lang"])
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(page.Bytes())
}
