package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/workflow"
)

// fakeGroup is a group whose quorum the test switches.
type fakeGroup struct {
	quorum atomic.Bool
	status cluster.Status
}

func (g *fakeGroup) Quorum() bool                 { return g.quorum.Load() }
func (g *fakeGroup) Leading() bool                { return false }
func (g *fakeGroup) CommitLatency() time.Duration { return 3 * time.Millisecond }
func (g *fakeGroup) Status(context.Context) cluster.Status {
	st := g.status
	st.Quorum = g.quorum.Load()
	return st
}

func newFakeGroup() *fakeGroup {
	g := &fakeGroup{status: cluster.Status{Node: "fe1", Leader: "fe2",
		Members: []cluster.Member{{Name: "fe1", Healthy: true, PeerURL: "http://127.0.0.1:2380"},
			{Name: "fe2", Healthy: true, PeerURL: "http://127.0.0.1:2480", IsLeader: true},
			{Name: "fe3", Healthy: false, PeerURL: "http://127.0.0.1:2580"}},
		Etcd: cluster.Usage{DBSizeBytes: 1 << 20, QuotaBytes: 2 << 30}}}
	g.quorum.Store(true)
	return g
}

// Without quorum a window is told, in Chinese unless asked, to use another
// front-end, the engine is not asked, /readyz is 503; it answers again by itself.
func TestCluster_NoQuorum_WindowsSentElsewhereAndBackByThemselves(t *testing.T) {
	f := newFakeAgent()
	f.addBill("B01", "01", workflow.StatePresettled)
	g := newFakeGroup()
	srv := fakeAPI(t, f, func(o *Options) { o.Cluster = g })
	g.quorum.Store(false)
	a := call(t, srv, "POST", "/v1/bills/B01/settle", w01Token, `{}`)
	if a.status != http.StatusServiceUnavailable || a.err.Code != "no_quorum" || !strings.Contains(a.err.Message, "另一台前置机") {
		t.Errorf("settle without quorum: got %d %q %q; want 503 no_quorum in Chinese", a.status, a.err.Code, a.err.Message)
	}
	if a := call(t, srv, "GET", "/v1/bills/B01?lang=en", w01Token, ""); a.err.Code != "no_quorum" || !strings.Contains(a.err.Message, "another front-end") {
		t.Errorf("?lang=en: got %q %q; want no_quorum in English", a.err.Code, a.err.Message)
	}
	if got := f.called(); len(got) != 0 {
		t.Errorf("engine calls without quorum: got %v; want none", got)
	}
	if got := readyz(t, srv.URL); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz without quorum: got %d; want 503", got)
	}
	g.quorum.Store(true)
	if a := call(t, srv, "GET", "/v1/bills/B01", w01Token, ""); a.status != http.StatusOK {
		t.Errorf("with quorum back: got %d %q; want 200", a.status, a.err.Code)
	}
	if got := readyz(t, srv.URL); got != http.StatusOK {
		t.Errorf("/readyz with quorum back: got %d; want 200", got)
	}
}

// GET /v1/cluster answers the admin with the group in cluster.md's shape, also
// without quorum; windows may not read it; a single machine answers 404 no_cluster.
func TestCluster_StatusEndpointShape(t *testing.T) {
	g := newFakeGroup()
	srv := fakeAPI(t, newFakeAgent(), func(o *Options) { o.Cluster = g })
	g.quorum.Store(false)
	a := call(t, srv, "GET", "/v1/cluster", adminToken, "")
	if a.status != http.StatusOK {
		t.Fatalf("got %d %q; want 200", a.status, a.err.Code)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"node", "leader", "quorum", "members", "etcd"} {
		if _, ok := got[k]; !ok {
			t.Errorf("body lacks %q: %s", k, a.body)
		}
	}
	m := got["members"].([]any)[1].(map[string]any)
	for _, k := range []string{"name", "healthy", "peer_url", "is_leader"} {
		if _, ok := m[k]; !ok {
			t.Errorf("member lacks %q: %v", k, m)
		}
	}
	e := got["etcd"].(map[string]any)
	if e["db_size_bytes"] != float64(1<<20) || e["quota_bytes"] != float64(2<<30) || got["quorum"] != false {
		t.Errorf("etcd/quorum: got %v %v; want sizes and quorum false", e, got["quorum"])
	}
	if a := call(t, srv, "GET", "/v1/cluster", w01Token, ""); a.status == http.StatusOK {
		t.Errorf("window token: got 200; want refused")
	}
	single := fakeAPI(t, newFakeAgent())
	if a := call(t, single, "GET", "/v1/cluster", adminToken, ""); a.status != http.StatusNotFound || a.err.Code != "no_cluster" {
		t.Errorf("single machine: got %d %q; want 404 no_cluster", a.status, a.err.Code)
	}
}

// The status page warns at 80% of etcd's quota and the metrics carry the group.
func TestCluster_QuotaWarningAndMetrics(t *testing.T) {
	g := newFakeGroup()
	g.status.Etcd = cluster.Usage{DBSizeBytes: 1700 << 20, QuotaBytes: 2 << 30}
	srv := fakeAPI(t, newFakeAgent(), func(o *Options) { o.Cluster = g })
	page := call(t, srv, "GET", "/", "", "")
	if !strings.Contains(page.body, "etcd 已用配额的 83%") {
		t.Errorf("status page at 83%% of the quota: no warning in\n%s", page.body)
	}
	m := call(t, srv, "GET", "/metrics", "", "")
	for _, want := range []string{"settle_agent_cluster_leader 0", "settle_agent_cluster_healthy_members 2",
		"settle_agent_cluster_commit_seconds 0.003", "settle_agent_cluster_quota_used_ratio 0.83"} {
		if !strings.Contains(m.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	g.status.Etcd.DBSizeBytes = 100 << 20
	if page := call(t, srv, "GET", "/", "", ""); strings.Contains(page.body, "etcd 已用配额") {
		t.Errorf("status page warns below 80%%")
	}
}

// readyz is the status of GET /readyz (its body is not an error body).
func readyz(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
