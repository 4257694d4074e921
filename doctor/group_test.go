package doctor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
)

// healthyGroup is three members, all answering, fe1 leading, clocks together,
// etcd a tenth full.
func healthyGroup() cluster.Status {
	return cluster.Status{
		Node: "fe1", Leader: "fe1", Quorum: true,
		Members: []cluster.Member{{Name: "fe1", Healthy: true, IsLeader: true}, {Name: "fe2", Healthy: true}, {Name: "fe3", Healthy: true}},
		Etcd:    cluster.Usage{DBSizeBytes: 200 << 20, QuotaBytes: 2 << 30},
		Nodes:   []cluster.NodeClock{{Node: "fe1"}, {Node: "fe2", Offset: 300 * time.Millisecond}, {Node: "fe3", Offset: -400 * time.Millisecond}},
	}
}

func TestGroupChecks_EachCheckOnStatus(t *testing.T) {
	cases := []struct {
		name   string
		change func(*cluster.Status)
		check  string
		want   string
		detail string
	}{
		{"all members answer", func(*cluster.Status) {}, "group members", CheckOK, "all 3 reachable"},
		{"one member down", func(s *cluster.Status) { s.Members[2].Healthy = false }, "group members", CheckWarn, "not answering: fe3"},
		{"no member known", func(s *cluster.Status) { s.Members = nil }, "group members", CheckFail, "knows no member"},
		{"quorum", func(*cluster.Status) {}, "group quorum", CheckOK, "majority"},
		{"no quorum", func(s *cluster.Status) { s.Quorum = false }, "group quorum", CheckFail, "no quorum"},
		{"leader", func(*cluster.Status) {}, "group leader", CheckOK, "fe1 leads"},
		{"no leader", func(s *cluster.Status) { s.Leader = "" }, "group leader", CheckWarn, "no leader"},
		{"clocks within threshold", func(*cluster.Status) {}, "group clocks", CheckOK, "3 nodes within 700ms"},
		{"clocks apart", func(s *cluster.Status) { s.Nodes[1].Offset = 2 * time.Second }, "group clocks", CheckWarn, "fe2 is 2.4s ahead of fe3"},
		{"one node ahead of this one", func(s *cluster.Status) { s.Nodes = s.Nodes[:2]; s.Nodes[1].Offset = 5 * time.Second }, "group clocks", CheckWarn, "fe2 is 5s ahead of fe1"},
		{"no heartbeats", func(s *cluster.Status) { s.Nodes = nil }, "group clocks", CheckWarn, "no node keeps a heartbeat"},
		{"quota low", func(*cluster.Status) {}, "etcd quota", CheckOK, "200 MiB of 2048 MiB (10%)"},
		{"quota at 80%", func(s *cluster.Status) { s.Etcd = cluster.Usage{DBSizeBytes: 800 << 20, QuotaBytes: 1000 << 20} }, "etcd quota", CheckWarn, "(80%)"},
		{"quota just under 80%", func(s *cluster.Status) { s.Etcd = cluster.Usage{DBSizeBytes: 799 << 20, QuotaBytes: 1000 << 20} }, "etcd quota", CheckOK, "(80%)"},
		{"quota full", func(s *cluster.Status) { s.Etcd.DBSizeBytes = s.Etcd.QuotaBytes }, "etcd quota", CheckFail, "full"},
		{"quota unknown", func(s *cluster.Status) { s.Etcd = cluster.Usage{} }, "etcd quota", CheckWarn, "unknown"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := healthyGroup()
			c.change(&st)
			checks := groupChecks(st, 0)
			if len(checks) != 5 {
				t.Fatalf("got %d group checks; want 5", len(checks))
			}
			wantCheck(t, checks, c.check, c.want, c.detail)
		})
	}
}

func TestEtcdTLSCheck_PlainURLOffLoopbackFails(t *testing.T) {
	cases := []struct {
		name   string
		k      config.Cluster
		want   string
		detail string
	}{
		{"loopback only", config.Cluster{ClientURL: "http://127.0.0.1:2379", Peers: []string{"fe1=http://localhost:2380"}}, CheckOK, "every etcd address is loopback"},
		{"https between machines", config.Cluster{ClientURL: "https://10.0.0.1:2379", Peers: []string{"fe1=https://10.0.0.1:2380", "fe2=https://10.0.0.2:2380"}}, CheckOK, "3 addresses off loopback, all https"},
		{"plain peer", config.Cluster{ClientURL: "https://10.0.0.1:2379", Peers: []string{"fe1=https://10.0.0.1:2380", "fe2=http://10.0.0.2:2380"}}, CheckFail, "http://10.0.0.2:2380"},
		{"plain external endpoint", config.Cluster{Etcd: "external", Endpoints: []string{"http://etcd1:2379"}}, CheckFail, "http://etcd1:2379"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCheck(t, []Check{etcdTLSCheck(&c.k)}, "etcd TLS", c.want, c.detail)
		})
	}
}

func TestAPITLSCheck_PlainListenOffLoopbackWarns(t *testing.T) {
	cases := []struct {
		name   string
		a      config.API
		want   string
		detail string
	}{
		{"loopback", config.API{Listen: "127.0.0.1:8420"}, CheckOK, "is loopback"},
		{"every address, TLS", config.API{Listen: ":8420", TLSCert: "api.crt", TLSKey: "api.key"}, CheckOK, "serves TLS"},
		{"every address, plain", config.API{Listen: "0.0.0.0:8420"}, CheckWarn, "without TLS"},
		{"hospital network, plain", config.API{Listen: "10.0.0.1:8420"}, CheckWarn, "10.0.0.1:8420"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantCheck(t, []Check{apiTLSCheck(c.a)}, "API TLS", c.want, c.detail)
		})
	}
}

// With [cluster], Run adds the group's lines from what Options.Group answers; an
// agent that does not answer is one failed line; without [cluster] nothing is added.
func TestDoctor_GroupChecksOnlyWithCluster(t *testing.T) {
	t.Parallel()
	s := newDoctorSetup(t, nil)
	o := s.Options()
	cfg, err := config.Load(o.ConfigPath, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	asked := 0
	o.Group = func(context.Context, *config.Config) (cluster.Status, error) {
		asked++
		return healthyGroup(), nil
	}
	for _, name := range []string{"group", "group members", "etcd TLS"} {
		if got := named(s.Run2(cfg, o), name); len(got) != 0 || asked != 0 {
			t.Fatalf("without [cluster]: got %d %q checks, Group asked %d times; want none", len(got), name, asked)
		}
	}

	cfg.Cluster = &config.Cluster{Node: "fe1", Etcd: "embedded", ClientURL: "http://127.0.0.1:2379", Peers: []string{"fe1=http://127.0.0.1:2380"}}
	checks := s.Run2(cfg, o)
	for _, name := range []string{"group members", "group quorum", "group leader", "group clocks", "etcd quota", "etcd TLS"} {
		wantCheck(t, checks, name, CheckOK)
	}

	o.Group = func(context.Context, *config.Config) (cluster.Status, error) {
		return cluster.Status{}, errors.New("connection refused")
	}
	wantCheck(t, s.Run2(cfg, o), "group", CheckFail, "connection refused")
}
