package agent

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/settle-agent/settle-agent/platform"
)

// metrics are the agent's Prometheus metrics, on a registry of its own. Labels carry
// no personal data: transaction numbers, outcomes, states, window ids.
type metrics struct {
	reg       *prometheus.Registry
	calls     *prometheus.HistogramVec
	bills     *prometheus.CounterVec
	callTimes *latencyWindow
}

func newMetrics(a *Agent) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), callTimes: newLatencyWindow(1024)}
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
		if a.breaker.isOnline() {
			return 1
		}
		return 0
	})
	gauge("settle_agent_offline_outstanding_yuan", "Fund share the hospital carries for bills collected by estimate and not yet settled.", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(a.outstanding) / 100
	})
	m.reg.MustRegister(&queueCollector{a: a})
	m.reg.MustRegister(&readerCollector{a: a})
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

var outcomeNames = map[platform.Outcome]string{
	platform.OutcomeOK: "ok", platform.OutcomeBusiness: "business",
	platform.OutcomeUnknown: "unknown", platform.OutcomeNotSent: "not_sent",
}

func (m *metrics) observeCall(infno string, o platform.Outcome, d time.Duration) {
	m.calls.WithLabelValues(infno, outcomeNames[o]).Observe(d.Seconds())
	if o == platform.OutcomeOK || o == platform.OutcomeBusiness {
		m.callTimes.add(d)
	}
}

// billReceived counts a new bill by the input it came through: api, hl7 or dropfolder
// (the first word of its source; the rest names the message or file).
func (m *metrics) billReceived(source string) {
	if i := strings.IndexByte(source, ' '); i >= 0 {
		source = source[:i]
	}
	m.bills.WithLabelValues("received", source).Inc()
}
func (m *metrics) billSettled(queued bool) {
	via := "online"
	if queued {
		via = "queue"
	}
	m.bills.WithLabelValues("settled", via).Inc()
}
func (m *metrics) billQueued()    { m.bills.WithLabelValues("queued", "").Inc() }
func (m *metrics) billCancelled() { m.bills.WithLabelValues("cancelled", "").Inc() }
func (m *metrics) billFailed()    { m.bills.WithLabelValues("failed", "").Inc() }
func (m *metrics) billDead()      { m.bills.WithLabelValues("dead", "").Inc() }

// queueCollector reports the queue's depth per state and the oldest ready record's age,
// read from the store's counters at scrape time.
type queueCollector struct{ a *Agent }

var (
	descQueue  = prometheus.NewDesc("settle_agent_queue_records", "Queue records by state.", []string{"state"}, nil)
	descOldest = prometheus.NewDesc("settle_agent_queue_oldest_age_seconds", "Age of the oldest record waiting to be synced.", nil, nil)
	descBills  = prometheus.NewDesc("settle_agent_bills", "Bills in the store by state.", []string{"state"}, nil)
	descReader = prometheus.NewDesc("settle_agent_reader_connected", "1 when a window's card reader or scanner is connected.", []string{"window", "port"}, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descQueue
	ch <- descOldest
	ch <- descBills
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.a.store.Stats()
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Ready), "ready")
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Leased), "leased")
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(st.Dead), "dead")
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, st.OldestReadyAge.Seconds())
	for state, n := range c.a.billCounts() {
		ch <- prometheus.MustNewConstMetric(descBills, prometheus.GaugeValue, float64(n), string(state))
	}
}

type readerCollector struct{ a *Agent }

func (c *readerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descReader }

func (c *readerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.a.readers {
		s := r.State()
		v := 0.0
		if s.Connected {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descReader, prometheus.GaugeValue, v, s.Window, s.Port)
	}
}
