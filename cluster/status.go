package cluster

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Status is the group as this node sees it: GET /v1/cluster (spec cluster.md).
type Status struct {
	Node    string   `json:"node"`
	Leader  string   `json:"leader"` // "" while the group has none
	Quorum  bool     `json:"quorum"`
	Members []Member `json:"members"`
	Etcd    Usage    `json:"etcd"`
	// Nodes are the agents that keep a heartbeat in the group now, with their clocks.
	Nodes []NodeClock `json:"nodes,omitempty"`
}

// Member is one member of the group.
type Member struct {
	Name     string `json:"name"`
	Healthy  bool   `json:"healthy"`
	PeerURL  string `json:"peer_url"`
	IsLeader bool   `json:"is_leader"`
}

// Usage is etcd's space: its database size and quota.
type Usage struct {
	DBSizeBytes int64 `json:"db_size_bytes"`
	QuotaBytes  int64 `json:"quota_bytes"`
}

// Ratio is the share of the quota in use (0 when the quota is unknown).
func (u Usage) Ratio() float64 {
	if u.QuotaBytes <= 0 {
		return 0
	}
	return float64(u.DBSizeBytes) / float64(u.QuotaBytes)
}

// QuotaWarn is the share of the quota at which doctor and the status page warn.
const QuotaWarn = 0.8

// NodeClock is one live agent's heartbeat: its clock when it last wrote it, and how
// far that is from this node's clock (the heartbeat is at most a second old).
type NodeClock struct {
	Node   string        `json:"node"`
	API    string        `json:"api,omitempty"`
	Time   time.Time     `json:"time"`
	Offset time.Duration `json:"offset_ns"`
}

// Status asks the group; every part it cannot learn within ctx stays unknown (a
// member unhealthy, no leader) rather than failing the whole.
func (n *Node) Status(ctx context.Context) Status {
	st := Status{Node: n.k.Node, Quorum: n.Quorum(), Members: []Member{}, Etcd: Usage{QuotaBytes: n.k.QuotaBytes}}
	if l, ok := n.leaderName(ctx); ok {
		st.Leader = l
	}
	st.Members = n.members(ctx, st.Leader)
	st.Nodes = n.clocks(ctx)
	if n.member != nil {
		st.Etcd.DBSizeBytes = n.member.Server.Backend().Size()
	} else if s, err := n.cli.Status(ctx, n.k.Endpoints[0]); err == nil {
		st.Etcd.DBSizeBytes = s.DbSize
	}
	if n.Leading() {
		st.Leader = n.k.Node
	}
	n.setLeader(st.Leader)
	return st
}

// leaderName is the name the current leader campaigned with.
func (n *Node) leaderName(ctx context.Context) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	resp, err := n.cli.Get(ctx, ElectionPrefix+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", false
	}
	if len(resp.Kvs) == 0 {
		return "", true
	}
	return string(resp.Kvs[0].Value), true
}

// members lists etcd's members (embedded) or the live agents (external), each asked
// for its status within a second.
func (n *Node) members(ctx context.Context, leader string) []Member {
	var out []Member
	if n.k.Etcd == "embedded" {
		peers := n.k.ParsePeers()
		urls := map[string]string{}
		mctx, cancel := context.WithTimeout(ctx, time.Second)
		if resp, err := n.cli.MemberList(mctx); err == nil {
			for _, m := range resp.Members {
				if len(m.ClientURLs) > 0 {
					urls[m.Name] = m.ClientURLs[0]
				}
			}
		}
		cancel()
		out = make([]Member, len(peers))
		var wg sync.WaitGroup
		for i, p := range peers {
			out[i] = Member{Name: p.Name, PeerURL: p.URL, IsLeader: p.Name == leader}
			if p.Name == n.k.Node {
				urls[p.Name] = n.k.ClientURL
			}
			if u := urls[p.Name]; u != "" {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sctx, cancel := context.WithTimeout(ctx, time.Second)
					defer cancel()
					_, err := n.cli.Status(sctx, u)
					out[i].Healthy = err == nil
				}()
			}
		}
		wg.Wait()
		return out
	}
	for _, c := range n.clocks(ctx) {
		out = append(out, Member{Name: c.Node, Healthy: true, IsLeader: c.Node == leader})
	}
	if out == nil {
		out = []Member{}
	}
	return out
}

// clocks reads every live node's heartbeat.
func (n *Node) clocks(ctx context.Context) []NodeClock {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	resp, err := n.cli.Get(ctx, heartbeatPrefix, clientv3.WithPrefix())
	if err != nil {
		return nil
	}
	now := n.now()
	var out []NodeClock
	for _, kv := range resp.Kvs {
		var hb heartbeat
		if json.Unmarshal(kv.Value, &hb) != nil || hb.Node == "" {
			continue
		}
		out = append(out, NodeClock{Node: hb.Node, API: hb.API, Time: hb.Time, Offset: hb.Time.Sub(now)})
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Node, out[j].Node) < 0 })
	return out
}
