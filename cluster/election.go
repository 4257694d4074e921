package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// heartbeat is what each live node keeps under heartbeatPrefix on its session's lease.
type heartbeat struct {
	Node      string    `json:"node"`
	NodeDigit int       `json:"node_digit"`
	Time      time.Time `json:"time"`
	API       string    `json:"api,omitempty"`
}

// sessionLoop keeps a session with the group: a lease of [cluster] lease seconds,
// renewed while the group answers. While it lives the node keeps its heartbeat and
// stands for election; when it expires (the group did not hear from this node for a
// lease), any leadership ends and a new session is sought.
func (n *Node) sessionLoop(ctx context.Context) {
	ttl := int(n.k.Lease.Seconds())
	for ctx.Err() == nil {
		s, err := concurrency.NewSession(n.cli, concurrency.WithTTL(ttl), concurrency.WithContext(ctx))
		if err != nil {
			sleepCtx(ctx, n.o.ProbeInterval)
			continue
		}
		n.setSession(s)
		n.runSession(ctx, s)
		n.setSession(nil)
		if ctx.Err() == nil {
			n.log.Warn("cluster: session with the group expired; standing for election again once it answers", "node", n.k.Node)
		}
	}
}

func (n *Node) setSession(s *concurrency.Session) {
	n.sessMu.Lock()
	n.sess = s
	close(n.sessGen)
	n.sessGen = make(chan struct{})
	n.sessMu.Unlock()
}

// runSession stands for election on s until s ends or ctx does.
func (n *Node) runSession(ctx context.Context, s *concurrency.Session) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(2)
	go func() {
		defer wg.Done()
		select {
		case <-s.Done():
			cancel()
		case <-sctx.Done():
		}
	}()
	go func() {
		defer wg.Done()
		n.heartbeatLoop(sctx, s)
	}()
	el := concurrency.NewElection(s, ElectionPrefix)
	for sctx.Err() == nil {
		if err := el.Campaign(sctx, n.k.Node); err != nil {
			sleepCtx(sctx, n.o.ProbeInterval)
			continue
		}
		n.leadTerm(sctx, el)
	}
}

// leadTerm is one leadership: handed to the agent, ended when the session ends or the
// group loses quorum, then resigned so that another node can follow at once.
func (n *Node) leadTerm(sctx context.Context, el *concurrency.Election) {
	lctx, end := context.WithCancel(sctx)
	defer end()
	n.leading.Store(true)
	n.setLeader(n.k.Node)
	n.log.Info("cluster: this node leads the group's background work", "node", n.k.Node, "rev", el.Rev())
	select {
	case n.lead <- Leadership{Ctx: lctx, Key: el.Key(), Rev: el.Rev()}:
	case <-lctx.Done():
	}
	t := time.NewTicker(n.o.ProbeInterval)
	defer t.Stop()
	for lctx.Err() == nil && n.Quorum() {
		select {
		case <-lctx.Done():
		case <-t.C:
		}
	}
	end()
	n.leading.Store(false)
	n.log.Warn("cluster: this node no longer leads", "node", n.k.Node, "quorum", n.Quorum())
	rctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = el.Resign(rctx)
	cancel()
}

// Maintain compacts etcd's history every [cluster] history and defragments every
// member, one at a time, every defrag_interval, until ctx ends; the agent runs it
// while this node leads.
func (n *Node) Maintain(ctx context.Context, m Maintenance) {
	compact := time.NewTicker(n.k.History.Duration)
	defrag := time.NewTicker(n.k.DefragInterval.Duration)
	defer compact.Stop()
	defer defrag.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-compact.C:
			if rev, err := m.Compact(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("cluster: compacting etcd's history failed; retrying at the next interval", "err", err)
			} else if err == nil {
				n.log.Info("cluster: compacted etcd's history", "revision", rev)
			}
		case <-defrag.C:
			for _, ep := range n.memberEndpoints(ctx) {
				if err := m.Defragment(ctx, ep); err != nil && ctx.Err() == nil {
					n.log.Warn("cluster: defragmenting an etcd member failed; retrying at the next interval", "member", ep, "err", err)
				}
			}
		}
	}
}

// memberEndpoints are the client URLs of etcd's members (the configured endpoints
// of an external cluster when its member list cannot be read).
func (n *Node) memberEndpoints(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := n.cli.MemberList(ctx)
	if err != nil {
		return n.cli.Endpoints()
	}
	var out []string
	for _, m := range resp.Members {
		if len(m.ClientURLs) > 0 {
			out = append(out, m.ClientURLs[0])
		}
	}
	return out
}

// heartbeatLoop keeps this node's heartbeat (its clock and API address) on the
// session's lease, once a second.
func (n *Node) heartbeatLoop(ctx context.Context, s *concurrency.Session) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		hb, _ := json.Marshal(heartbeat{Node: n.k.Node, NodeDigit: n.k.NodeDigit, Time: n.now().UTC(), API: n.o.APIAddr()})
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, _ = n.cli.Put(pctx, heartbeatPrefix+n.k.Node, string(hb), clientv3.WithLease(s.Lease()))
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) setLeader(name string) {
	n.leaderMu.Lock()
	n.leader = name
	n.leaderMu.Unlock()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
