package etcdstore

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/settle-agent/settle-agent/workflow"
)

// fence is a key whose creation revision every write under it compares.
type fence struct {
	key string
	rev int64
}

type fenceCtxKey struct{}

// WithFence returns a context under which every Update adds
// Compare(CreateRevision(key) == rev) to its etcd transaction: when key was deleted
// or created again since (a lock or a leadership lost with its lease), the write
// fails with an error matching ErrFenced and is not retried. Fences add up: a write
// under two locks compares both.
func WithFence(ctx context.Context, key string, rev int64) context.Context {
	old := fencesOf(ctx)
	fs := make([]fence, 0, len(old)+1)
	fs = append(append(fs, old...), fence{key, rev})
	return context.WithValue(ctx, fenceCtxKey{}, fs)
}

func fencesOf(ctx context.Context) []fence {
	fs, _ := ctx.Value(fenceCtxKey{}).([]fence)
	return fs
}

// locker is workflow.Locker across a group: an etcd mutex per key on the node's
// session.
type locker struct {
	sess   *concurrency.Session
	prefix string
}

// NewLocker returns the workflow.Locker of a group of nodes: Lock takes an etcd mutex
// (concurrency.Mutex) under prefix on sess — a lease of a few seconds that the node
// keeps alive while it lives — and returns a context fenced by the mutex key (its
// creation revision), so that once the node's lease has expired (the node paused, or
// cut off) its writes fail instead of landing beside another node's.
func NewLocker(sess *concurrency.Session, prefix string) workflow.Locker {
	return &locker{sess: sess, prefix: prefix}
}

func (l *locker) Lock(ctx context.Context, key string) (context.Context, func(), error) {
	m := concurrency.NewMutex(l.sess, l.prefix+key)
	if err := m.Lock(ctx); err != nil {
		return ctx, nil, fmt.Errorf("lock %q in etcd: %w", key, err)
	}
	// The mutex key's creation revision is the fence: the key is gone with the lease.
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := l.sess.Client().Get(gctx, m.Key(), clientv3.WithKeysOnly())
	cancel()
	if err != nil || len(resp.Kvs) == 0 {
		l.unlock(m)
		if err == nil {
			err = fmt.Errorf("%w: the lock key vanished at once (the session's lease expired)", ErrFenced)
		}
		return ctx, nil, fmt.Errorf("lock %q in etcd: %w", key, err)
	}
	fenced := WithFence(ctx, m.Key(), resp.Kvs[0].CreateRevision)
	return fenced, func() { l.unlock(m) }, nil
}

func (l *locker) unlock(m *concurrency.Mutex) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.Unlock(ctx) // a lost lease released it already
}
