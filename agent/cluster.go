package agent

import (
	"context"
	"sync"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/httpapi"
)

// A node of a group of front-end machines (docs/cluster.md): the agent starts its
// place in the group (package cluster), keeps its documents in the group's etcd
// (package store/etcdstore, cluster_etcd.go) and runs the leader's background work
// only while package cluster hands it a leadership, every write of it fenced.

// openGroup starts this node's place in the group and opens the group's store.
func (a *Agent) openGroup() error {
	node, err := cluster.Start(cluster.Options{Config: a.cfg.Cluster, DataDir: a.cfg.Store.Dir,
		APIAddr: a.Addr, Logger: a.log, Now: a.now})
	if err != nil {
		return err
	}
	a.node = node
	st, err := a.openGroupStore(node)
	if err != nil {
		node.Close()
		a.node = nil
		return err
	}
	a.st = st
	return nil
}

// lead runs the leader's background work for each leadership this node wins, until
// ctx ends: what other nodes left half done, the queue's drain, retention, the drop
// folder. Every write of it carries the leadership's fence, so a node that lost its
// leadership while paused cannot land a late write.
func (a *Agent) lead(ctx context.Context) {
	for {
		var l cluster.Leadership
		select {
		case <-ctx.Done():
			return
		case l = <-a.node.Lead():
		}
		term, end := context.WithCancel(fence(l))
		stop := context.AfterFunc(ctx, end)
		a.log.Info("leading the group: draining the queue, retention and the drop folder run here", "node", a.node.Name())
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); a.engine.RunLeader(term) }()
		go func() { defer wg.Done(); a.runDropFolder(term) }()
		go func() { defer wg.Done(); a.node.Maintain(term, a.st.maintenance) }()
		wg.Wait()
		stop()
		end()
	}
}

// apiCluster is the group as the API sees it (nil on a single machine).
func (a *Agent) apiCluster() httpapi.Cluster {
	if a.node == nil {
		return nil
	}
	return a.node
}

// Node is this agent's place in its group (nil on a single machine).
func (a *Agent) Node() *cluster.Node { return a.node }
