package httpapi

import "github.com/prometheus/client_golang/prometheus"

// stayCollector reports the inpatient stays at scrape time: per state, open ones,
// discharged ones not settled for good, and stay operations waiting for the platform.
type stayCollector struct{ a *Server }

var (
	descStays       = prometheus.NewDesc("settle_agent_stays", "Inpatient stays in the store by state.", []string{"state"}, nil)
	descStaysOpen   = prometheus.NewDesc("settle_agent_stays_open", "Inpatient stays admitted and not settled for good nor cancelled.", nil, nil)
	descStaysUnsetl = prometheus.NewDesc("settle_agent_stays_discharged_unsettled", "Inpatient stays discharged and not settled for good.", nil, nil)
	descStayOps     = prometheus.NewDesc("settle_agent_stay_queued_ops", "Inpatient stay operations (admission, fees, discharge, settlement, …) waiting for the platform.", nil, nil)
)

func (c *stayCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descStays
	ch <- descStaysOpen
	ch <- descStaysUnsetl
	ch <- descStayOps
}

func (c *stayCollector) Collect(ch chan<- prometheus.Metric) {
	sum := c.a.o.Stays.StaySummary()
	for state, n := range sum.States {
		ch <- prometheus.MustNewConstMetric(descStays, prometheus.GaugeValue, float64(n), string(state))
	}
	ch <- prometheus.MustNewConstMetric(descStaysOpen, prometheus.GaugeValue, float64(sum.Open))
	ch <- prometheus.MustNewConstMetric(descStaysUnsetl, prometheus.GaugeValue, float64(sum.DischargedUnsettled))
	ch <- prometheus.MustNewConstMetric(descStayOps, prometheus.GaugeValue, float64(sum.QueuedOps))
}
