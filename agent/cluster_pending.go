//go:build !etcdstore

package agent

import (
	"context"
	"errors"

	"github.com/settle-agent/settle-agent/cluster"
)

// errNoGroupStore: this build does not carry the group's store on etcd yet
// (package store/etcdstore lands separately; build with -tags etcdstore).
var errNoGroupStore = errors.New("this build of settle-agent has no store on etcd yet: remove [cluster] to run as one machine")

func (a *Agent) openGroupStore(*cluster.Node) (storage, error) { return storage{}, errNoGroupStore }

func fence(l cluster.Leadership) context.Context { return l.Ctx }
