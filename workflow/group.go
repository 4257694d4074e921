package workflow

import (
	"context"
	"sync"
	"time"
)

// In a group of front-end machines (docs/cluster.md) every node serves windows, but
// one node, the leader, runs the background work that must not run twice at once.
// Run is both halves on one machine; a node of a group runs RunNode always and
// RunLeader while it leads, under a context that fences its writes.

// RunNode runs what every node runs on its own: the offline probe and the daily
// sign-in, each node on its own platform session. It returns when ctx ends.
func (e *Engine) RunNode(ctx context.Context) { e.Link.probeLoop(ctx) }

// RunLeader runs the leader's background work until ctx ends: the bills and stays
// other nodes left half done are queued (Recover, then every RecoverInterval for the
// bills whose lock is free), the queue drains, retention sweeps.
func (e *Engine) RunLeader(ctx context.Context) {
	if err := e.Queue.Recover(ctx); err != nil && ctx.Err() == nil {
		e.c.log.Error("leader: queue the work other nodes left half done", "err", err)
	}
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){e.Queue.syncLoop, e.Queue.retentionLoop, e.Queue.recoverLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	wg.Wait()
}

// RecoverInterval is how often the leader looks for bills a node left in the middle
// of a step (it died, or its lease ran out, while the bill's lock was free of others).
const RecoverInterval = 10 * time.Second

func (e *Queue) recoverLoop(ctx context.Context) {
	t := time.NewTicker(RecoverInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := e.recoverAbandoned(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("leader: queue bills other nodes left half done", "err", err)
		} else if n > 0 {
			e.log.Warn("bills left in the middle of a step by a node that stopped: queued to finish them", "count", n)
		}
	}
}

// recoverAbandoned queues each bill in the middle of a step with no job in line
// whose lock it can take: no node works on it now (a node holds a bill's lock for
// the whole of a step), so the node that started the step is gone.
func (e *Queue) recoverAbandoned(ctx context.Context) (int, error) {
	ids, err := e.midStepBillIDs()
	if err != nil {
		return 0, err
	}
	seen, n := map[string]bool{}, 0
	for _, id := range ids {
		if seen[id] || ctx.Err() != nil {
			continue
		}
		seen[id] = true
		queued, err := e.recoverBill(ctx, id)
		if err != nil {
			return n, err
		}
		if queued {
			n++
		}
	}
	return n, nil
}

func (e *Queue) recoverBill(ctx context.Context, id string) (bool, error) {
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	lctx, unlock, err := e.locker.Lock(lctx, id)
	if err != nil {
		return false, nil // busy on another node: not abandoned
	}
	defer unlock()
	rec, err := e.bills.Bill(id)
	if err != nil {
		return false, err
	}
	if e.inLine(rec) || (rec.State != StateSettling && !rec.unresolved()) {
		return false, nil
	}
	return true, e.bills.enqueue(lctx, rec)
}
