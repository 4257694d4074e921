package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/settle-agent/settle-agent/cluster"
)

// Cluster is this node's group of front-end machines (a *cluster.Node); nil on a
// single machine.
type Cluster interface {
	// Quorum reports whether the group answers with a majority: without it this
	// node settles nothing and windows are sent to another front-end.
	Quorum() bool
	// Leading reports whether this node runs the group's background work.
	Leading() bool
	// Status is the group as GET /v1/cluster shows it.
	Status(ctx context.Context) cluster.Status
	// CommitLatency is the last round trip of a read the group's majority answered.
	CommitLatency() time.Duration
}

// noQuorumMessage is what a window reads when its front-end lost its group.
var noQuorumMessage = map[string]string{
	langZh: "本前置机已与前置机组失去联系（无多数派），暂停结算以免重复：请改用另一台前置机；网络恢复后本机自动恢复。",
	langEn: "this front-end has lost its group (no quorum) and settles nothing rather than risk settling twice: use another front-end; it recovers by itself when the network returns.",
}

// writeNoQuorum answers a window while the group has no majority.
func (s *Server) writeNoQuorum(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "5")
	writeJSON(w, http.StatusServiceUnavailable, errorBody("no_quorum", noQuorumMessage[pickLang(r, s.o.Language)], nil))
}

// noQuorum reports whether this node is in a group that has no majority now.
func (s *Server) noQuorum() bool { return s.o.Cluster != nil && !s.o.Cluster.Quorum() }

// handleCluster is GET /v1/cluster (admin): the group as this node sees it.
func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) {
	if s.o.Cluster == nil {
		writeJSON(w, http.StatusNotFound, errorBody("no_cluster", "this agent is a single machine: the configuration has no [cluster] section (docs/cluster.md)", nil))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	writeJSON(w, http.StatusOK, s.o.Cluster.Status(ctx))
}

// clusterCollector reports the group at scrape time: leader, healthy members, the
// majority's round trip and the share of etcd's quota in use.
type clusterCollector struct{ a *Server }

var (
	descLeader  = prometheus.NewDesc("settle_agent_cluster_leader", "1 while this node leads the group's background work, else 0.", nil, nil)
	descQuorum  = prometheus.NewDesc("settle_agent_cluster_quorum", "1 while the group answers this node with a majority, else 0.", nil, nil)
	descHealthy = prometheus.NewDesc("settle_agent_cluster_healthy_members", "Members of the group that answer.", nil, nil)
	descCommit  = prometheus.NewDesc("settle_agent_cluster_commit_seconds", "Round trip of the last read the group's majority answered (etcd's commit path).", nil, nil)
	descQuota   = prometheus.NewDesc("settle_agent_cluster_quota_used_ratio", "Share of etcd's quota in use (warns at 0.8).", nil, nil)
)

func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLeader, descQuorum, descHealthy, descCommit, descQuota} {
		ch <- d
	}
}

func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	k := c.a.o.Cluster
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st := k.Status(ctx)
	healthy := 0
	for _, m := range st.Members {
		if m.Healthy {
			healthy++
		}
	}
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, b2f(k.Leading()))
	ch <- prometheus.MustNewConstMetric(descQuorum, prometheus.GaugeValue, b2f(st.Quorum))
	ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, float64(healthy))
	ch <- prometheus.MustNewConstMetric(descCommit, prometheus.GaugeValue, k.CommitLatency().Seconds())
	ch <- prometheus.MustNewConstMetric(descQuota, prometheus.GaugeValue, st.Etcd.Ratio())
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// clusterWarning is the status page's line about etcd's quota ("" below 80%).
func clusterWarning(st cluster.Status, lang string) string {
	r := st.Etcd.Ratio()
	if r < cluster.QuotaWarn {
		return ""
	}
	if lang == langEn {
		return fmt.Sprintf("etcd uses %.0f%% of its quota (%d of %d MiB): retention, compaction and defragmentation cannot keep up; raise [cluster] quota_bytes (at most 8 GiB) or shorten [store] retention", 100*r, st.Etcd.DBSizeBytes>>20, st.Etcd.QuotaBytes>>20)
	}
	return fmt.Sprintf("etcd 已用配额的 %.0f%%（%d / %d MiB）：请调大 [cluster] quota_bytes（最多 8 GiB）或缩短 [store] retention", 100*r, st.Etcd.DBSizeBytes>>20, st.Etcd.QuotaBytes>>20)
}
