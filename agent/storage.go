package agent

import (
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
