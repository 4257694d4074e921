package cluster

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/settle-agent/settle-agent/config"
	polling "github.com/settle-agent/settle-agent/internal/poll"
)

// freePorts picks n free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// groupConfigs is the [cluster] of each of n nodes on loopback.
func groupConfigs(t *testing.T, n int) []*config.Cluster {
	ports := freePorts(t, 2*n)
	var peers []string
	for i := range n {
		peers = append(peers, fmt.Sprintf("fe%d=http://127.0.0.1:%d", i+1, ports[2*i]))
	}
	out := make([]*config.Cluster, n)
	for i := range n {
		out[i] = &config.Cluster{Node: fmt.Sprintf("fe%d", i+1), NodeDigit: i + 1, Etcd: "embedded", Peers: peers,
			ClientURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]), QuotaBytes: config.DefaultClusterQuota,
			Lease: config.Duration{Duration: 2 * time.Second}, History: config.Duration{Duration: time.Hour},
			DefragInterval: config.Duration{Duration: 24 * time.Hour}}
	}
	return out
}

func startNode(t *testing.T, k *config.Cluster, dir string) *Node {
	t.Helper()
	n, err := Start(Options{Config: k, DataDir: dir, ProbeInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Start %s: %v", k.Node, err)
	}
	return n
}

// poll waits for cond, failing the test after d.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	polling.Until(t, d, what, cond)
}

// leaders drains each node's leaderships and counts who leads now.
func leading(ns []*Node) []string {
	var out []string
	for _, n := range ns {
		if n != nil && n.Leading() {
			out = append(out, n.Name())
		}
	}
	return out
}

func TestGroup_OneLeaderQuorumAndFailover(t *testing.T) {
	ks := groupConfigs(t, 3)
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	nodes := make([]*Node, 3)
	for i, k := range ks {
		nodes[i] = startNode(t, k, dirs[i])
	}
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.Close()
			}
		}
	}()
	// Each node's leaderships are taken as the agent would.
	for _, n := range nodes {
		go func() {
			for range n.Lead() {
			}
		}()
	}
	poll(t, 30*time.Second, "quorum on every node", func() bool {
		return nodes[0].Quorum() && nodes[1].Quorum() && nodes[2].Quorum()
	})
	poll(t, 10*time.Second, "one leader", func() bool { return len(leading(nodes)) == 1 })
	first := leading(nodes)[0]
	st := nodes[0].Status(context.Background())
	if st.Leader != first || !st.Quorum || len(st.Members) != 3 {
		t.Fatalf("status: got leader %q quorum %v members %d; want %s true 3", st.Leader, st.Quorum, len(st.Members), first)
	}
	for _, m := range st.Members {
		if !m.Healthy || m.IsLeader != (m.Name == first) {
			t.Errorf("member %+v: want healthy, is_leader only for %s", m, first)
		}
	}
	if st.Etcd.DBSizeBytes <= 0 || st.Etcd.QuotaBytes != config.DefaultClusterQuota {
		t.Errorf("etcd usage: got %+v; want a size and the 2 GiB quota", st.Etcd)
	}

	// The leader goes: another node leads.
	var li int
	for i, n := range nodes {
		if n.Name() == first {
			li = i
		}
	}
	nodes[li].Close()
	nodes[li] = nil
	poll(t, 10*time.Second, "a new leader", func() bool { l := leading(nodes); return len(l) == 1 && l[0] != first })

	// A second node goes: the last has no quorum and no leadership.
	var last *Node
	for i, n := range nodes {
		if n == nil {
			continue
		}
		if last == nil {
			last = n
			continue
		}
		n.Close()
		nodes[i] = nil
	}
	poll(t, 15*time.Second, "no quorum on the last node", func() bool { return !last.Quorum() && !last.Leading() })
	if st := last.Status(context.Background()); st.Quorum {
		t.Errorf("status without a majority: got quorum true")
	}

	// They come back from their folders: quorum and a leader return by themselves.
	for i, n := range nodes {
		if n == nil {
			nodes[i] = startNode(t, ks[i], dirs[i])
			go func() {
				for range nodes[i].Lead() {
				}
			}()
		}
	}
	poll(t, 30*time.Second, "quorum back", func() bool { return last.Quorum() })
	poll(t, 15*time.Second, "one leader again", func() bool { return len(leading(nodes)) == 1 })
}
