package httpapi

import (
	"net/http"

	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/settle-agent/settle-agent/cardreader"

	"github.com/settle-agent/settle-agent/platform"
)

// Metrics are the agent's Prometheus metrics, on a registry of its own. Labels carry
// no personal data: transaction numbers, outcomes, states, window ids. Metrics is the
// engine's workflow.Observer.
type Metrics struct {
	reg       *prometheus.Registry
	calls     *prometheus.HistogramVec
	bills     *prometheus.CounterVec
	callTimes *latencyWindow
}

func newMetrics(s *Server) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), callTimes: newLatencyWindow(1024)}
	m.calls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "settle_agent_platform_call_seconds",
		Help:    "Platform call latency by transaction (infno) and outcome (ok, business, unknown, not_sent).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5, 10},
	}, []string{"infno", "outcome"})
	m.bills = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "settle_agent_bill_events_total",
		Help: "Bill events: received (by source), settled (online or from the queue), queued, cancelled, failed, dead.",
	}, []string{"event", "via"})
	m.reg.MustRegister(m.calls, m.bills,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	gauge("settle_agent_online", "1 when the provincial platform answers, 0 while offline.", func() float64 {
		if s.o.Link.Breaker().Online() {
			return 1
		}
		return 0
	})
	gauge("settle_agent_offline_outstanding_yuan", "Fund share the hospital carries for bills collected by estimate and not yet settled.", func() float64 {
		return float64(s.o.Bills.Outstanding()) / 100
	})
	m.reg.MustRegister(&queueCollector{a: s})
	m.reg.MustRegister(&stayCollector{a: s})
	m.reg.MustRegister(&readerCollector{a: s})
	if s.o.Cluster != nil {
		m.reg.MustRegister(&clusterCollector{a: s})
	}
	return m
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var outcomeNames = map[platform.Outcome]string{
	platform.OutcomeOK: "ok", platform.OutcomeBusiness: "business",
	platform.OutcomeUnknown: "unknown", platform.OutcomeNotSent: "not_sent",
}

// PlatformCall records one platform call (workflow.Observer).
func (m *Metrics) PlatformCall(infno string, o platform.Outcome, d time.Duration) {
	m.calls.WithLabelValues(infno, outcomeNames[o]).Observe(d.Seconds())
	if o == platform.OutcomeOK || o == platform.OutcomeBusiness {
		m.callTimes.add(d)
	}
}

// BillEvent counts a bill event (workflow.Observer): received by the input it came
// through (api, hl7, dropfolder), settled online or from the queue, queued,
// cancelled, failed, dead.
func (m *Metrics) BillEvent(event, via string) { m.bills.WithLabelValues(event, via).Inc() }

// queueCollector reports the queue's depth per state and the oldest ready record's age,
// read from the store's counters at scrape time.
type queueCollector struct{ a *Server }

var (
	descQueue  = prometheus.NewDesc("settle_agent_queue_records", "Queue records by state.", []string{"state"}, nil)
	descOldest = prometheus.NewDesc("settle_agent_queue_oldest_age_seconds", "Age of the oldest record waiting to be synced.", nil, nil)
	descBills  = prometheus.NewDesc("settle_agent_bills", "Bills in the store by state.", []string{"state"}, nil)
	descReader = prometheus.NewDesc("settle_agent_reader_connected", "1 when a window's card reader or scanner is connected.", []string{"window", "port"}, nil)
	// descReaderFaults counts the vendor-library faults of library readers (kind hang or
	// crash): each restarted that reader's reader-host child.
	descReaderFaults = prometheus.NewDesc("settle_agent_reader_host_faults_total", "Hangs and crashes of a window's vendor reader library (each restarted its reader-host).", []string{"window", "kind"}, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descQueue
	ch <- descOldest
	ch <- descBills
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.a.o.Queue.Stats()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Ready), "ready")
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Leased), "leased")
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Dead), "dead")
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, st.OldestReadyAge.Seconds())
	for state, n := range c.a.o.Bills.BillCounts() {
		ch <- prometheus.MustNewConstMetric(descBills, prometheus.GaugeValue, float64(n), string(state))
	}
}

type readerCollector struct{ a *Server }

func (c *readerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descReader
	ch <- descReaderFaults
}

func (c *readerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.a.o.Readers() {
		v := 0.0
		if s.Connected {
			v = 1
		}
		port := s.Port // the device; a library reader's library; "remote" for a cashier PC's
		switch s.Kind {
		case cardreader.KindLibrary:
			port = s.Library
		case cardreader.KindRemote:
			port = "remote"
		}
		ch <- prometheus.MustNewConstMetric(descReader, prometheus.GaugeValue, v, s.Window, port)
		if s.Host != nil { // local library readers, and remote ones that run a library
			ch <- prometheus.MustNewConstMetric(descReaderFaults, prometheus.CounterValue, float64(s.Host.Hangs), s.Window, "hang")
			ch <- prometheus.MustNewConstMetric(descReaderFaults, prometheus.CounterValue, float64(s.Host.Crashes), s.Window, "crash")
		}
	}
}
