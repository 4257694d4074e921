// Package cluster makes one agent a node of a group of front-end machines on etcd
// (docs/cluster.md, spec cluster.md): it starts this node's embedded etcd member or
// connects to an external etcd cluster, keeps a session on a lease of a few seconds,
// runs the leader election that decides which node does the background work, tells
// whether the group has quorum, and reports the group's state (Status).
//
// It holds no settlement logic and no documents: the store on etcd is package
// store/etcdstore; the agent wires the two together and runs the leader's work only
// while Node.Lead hands it a leadership.
package cluster

import "errors"

// Errors of this package.
var (
	// ErrNoQuorum means the group cannot be reached with a majority: nothing is
	// settled on this node until it can (windows get 503 no_quorum).
	ErrNoQuorum = errors.New("no quorum: this front-end has lost its group")

	// ErrClosed means the node is shutting down.
	ErrClosed = errors.New("cluster node closed")
)
