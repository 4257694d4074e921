package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/httpapi"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/workflow"
)

// storage is where the engine keeps its documents and what the agent needs beside
// them: the bbolt file of one machine, or the group's etcd.
type storage struct {
	docs   workflow.Store
	locker workflow.Locker // nil: the engine's own, in this process
	queue  httpapi.Queue
	msgids msgidMark
	sealed bool
	close  func() error
	// backup copies the store while the agent runs (nil in a group: etcd's snapshot
	// is the group's backup, docs/cluster.md).
	backup httpapi.StoreCopier
	// maintenance compacts and defragments the group's etcd (nil on one machine).
	maintenance cluster.Maintenance
}

// msgidMark keeps the msgid generator's high-water mark (platform.MsgidOptions).
type msgidMark struct {
	Reserved func() (time.Time, error)
	Reserve  func(until time.Time) error
}

// openBolt opens the one machine's bbolt file.
func (a *Agent) openBolt() error {
	cfg := a.cfg
	old := make([]string, len(cfg.Store.OldKeys))
	for i, k := range cfg.Store.OldKeys {
		old[i] = k.Value()
	}
	s, err := store.Open(cfg.Store.Dir, &store.Options{Key: cfg.Store.Key.Value(), OldKeys: old, Logger: a.log,
		Queue: QueueOptions(cfg, a.now)})
	if err != nil {
		return err
	}
	if n := s.ReleasedLeases(); n > 0 {
		a.log.Warn("resuming queued bills left in flight by a previous run", "count", n)
	}
	a.bolt = s
	a.st = storage{docs: s, queue: s.Queue(), backup: s, sealed: s.Sealed(), close: s.Close,
		msgids: msgidMark{Reserved: s.MsgidReservation, Reserve: s.ReserveMsgids}}
	return nil
}

// MsgidMarkKey is the named value (Tx.SetMeta) holding a group node's msgid
// high-water mark, in unix seconds; MsgidFloorKey the mark every node of the group
// starts above (a single machine's, moved in by cluster import).
func MsgidMarkKey(node string) string { return "msgid-mark/" + node }

// MsgidFloorKey: see MsgidMarkKey.
const MsgidFloorKey = "msgid-mark/floor"

// groupMsgids keeps node's msgid high-water mark in the group's store: each node its
// own (their sequences differ by node_digit), never below the floor.
func groupMsgids(st workflow.Store, node string) msgidMark {
	return msgidMark{
		Reserved: func() (time.Time, error) {
			var mark int64
			err := st.View(func(tx workflow.ReadTx) error {
				for _, k := range []string{MsgidMarkKey(node), MsgidFloorKey} {
					var sec int64
					if v := tx.Meta(k); v != "" {
						if _, err := fmt.Sscan(v, &sec); err != nil {
							return fmt.Errorf("msgid mark %s = %q: %w", k, v, err)
						}
					}
					mark = max(mark, sec)
				}
				return nil
			})
			if err != nil || mark == 0 {
				return time.Time{}, err
			}
			return time.Unix(mark, 0), nil
		},
		Reserve: func(until time.Time) error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return st.Update(ctx, func(tx workflow.Tx) error {
				return tx.SetMeta(MsgidMarkKey(node), fmt.Sprint(until.Unix()))
			})
		},
	}
}
