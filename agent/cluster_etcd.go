package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/store/etcdstore"
	"github.com/settle-agent/settle-agent/workflow"
)

// Where the group keeps its documents and its bills' locks in etcd.
const (
	groupStorePrefix = cluster.Prefix + "store/"
	groupLockPrefix  = cluster.Prefix + "locks/"
)

// groupOpenTimeout bounds how long the agent waits for its group to open the store.
const groupOpenTimeout = time.Minute

// openGroupStore opens the group's store on etcd through node's client.
func (a *Agent) openGroupStore(node *cluster.Node) (storage, error) {
	old := make([]string, len(a.cfg.Store.OldKeys))
	for i, k := range a.cfg.Store.OldKeys {
		old[i] = k.Value()
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupOpenTimeout)
	defer cancel()
	st, err := etcdstore.Open(ctx, node.Client(), &etcdstore.Options{Prefix: groupStorePrefix, Key: []byte(a.cfg.Store.Key.Value()),
		OldKeys: old, Node: node.Name(), Logger: a.log, Now: a.now, Queue: QueueOptions(a.cfg, a.now)})
	if err != nil {
		return storage{}, fmt.Errorf("open the group's store on etcd (does the group have a majority of its members up?): %w", err)
	}
	return storage{docs: st, locker: &groupLocker{node: node}, queue: st, sealed: st.Sealed(),
		msgids:      msgidMark{Reserved: st.MsgidReservation, Reserve: st.ReserveMsgids},
		maintenance: st,
		close: func() error {
			err := st.Close()
			node.Close()
			return err
		}}, nil
}

// fence is the leadership's context whose writes fail once the leadership is gone.
func fence(l cluster.Leadership) context.Context { return etcdstore.WithFence(l.Ctx, l.Key, l.Rev) }

// groupLocker locks a bill across the group on the node's current session; a new
// session (the old one expired) gets a new locker.
type groupLocker struct {
	node *cluster.Node
	mu   sync.Mutex
	sess *concurrency.Session
	l    workflow.Locker
}

func (g *groupLocker) Lock(ctx context.Context, key string) (context.Context, func(), error) {
	s, err := g.node.WaitSession(ctx)
	if err != nil {
		return ctx, nil, err
	}
	g.mu.Lock()
	if g.sess != s {
		g.sess, g.l = s, etcdstore.NewLocker(s, groupLockPrefix)
	}
	l := g.l
	g.mu.Unlock()
	return l.Lock(ctx, key)
}
