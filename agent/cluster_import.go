package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/store"
	"github.com/settle-agent/settle-agent/store/etcdstore"
)

// Growing from one machine into a group (`settle-agent cluster import`,
// docs/cluster.md): the single machine's bbolt store — its bills, stays, queue and
// msgid reservation — is written into the group's store on etcd, then marked moved
// so that no agent settles from it again.

// ImportResult is what an import moved.
type ImportResult struct {
	// Group names the etcd cluster the store went into.
	Group string
	// Moved counts what was written: documents by kind ("bill", "stay", ...),
	// "meta" named values, "jobs" queue jobs.
	Moved map[string]int
	// AlreadyDone: the group already held this store's finished import; only the
	// source was marked moved.
	AlreadyDone bool
}

// ErrImportClock: the machine being moved reserved msgids further ahead than a short
// wait covers (its clock ran ahead of this one's).
var ErrImportClock = errors.New("the machine being moved reserved msgids minutes ahead of this machine's clock: set the clocks right (NTP) and import again")

// maxReservationWait is how long an import waits for the moved machine's msgid
// reservation to pass (it runs at most 10 s ahead of that machine's clock).
const maxReservationWait = 2 * time.Minute

// ImportToGroup moves the store in dir (the data folder of a single machine whose
// agent is stopped) into the group of cfg ([cluster]; the group's agents are up, the
// windows not yet pointed at it). The group must be new: no bill, stay or queue job
// of its own (etcdstore.ErrNotEmpty otherwise). An interrupted import is run again
// the same way.
func ImportToGroup(ctx context.Context, cfg *config.Config, dir string, log *slog.Logger) (ImportResult, error) {
	if cfg.Cluster == nil {
		return ImportResult{}, errors.New("the configuration has no [cluster] section: name the configuration of a node of the group")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	old := make([]string, 0, len(cfg.Store.OldKeys)+1)
	for _, k := range cfg.Store.OldKeys {
		old = append(old, k.Value())
	}
	// The machine's own generated key opens what it sealed; the group seals under
	// the [store] key every node has.
	if b, err := os.ReadFile(filepath.Join(dir, store.KeyFile)); err == nil {
		old = append(old, strings.TrimSpace(string(b)))
	}
	qo := QueueOptions(cfg, time.Now)
	qo.NoSweep = true
	src, err := store.OpenToMove(dir, &store.Options{Key: cfg.Store.Key.Value(), OldKeys: old, Logger: log, Queue: qo})
	if err != nil {
		return ImportResult{}, fmt.Errorf("the store to move (is its agent stopped?): %w", err)
	}
	defer src.Close()
	if err := waitReservation(ctx, src); err != nil {
		return ImportResult{}, err
	}
	exportID, err := src.ExportID()
	if err != nil {
		return ImportResult{}, err
	}
	cli, err := cluster.Connect(cfg.Cluster)
	if err != nil {
		return ImportResult{}, err
	}
	defer cli.Close()
	dst, err := etcdstore.Open(ctx, cli, &etcdstore.Options{Prefix: groupStorePrefix, Key: []byte(cfg.Store.Key.Value()),
		Node: cfg.Cluster.Node, Logger: log, Queue: QueueOptions(cfg, time.Now)})
	if err != nil {
		return ImportResult{}, fmt.Errorf("the group's store on etcd (are the group's agents running?): %w", err)
	}
	defer dst.Close()
	im, err := dst.Import(ctx, dir, exportID)
	if err != nil {
		return ImportResult{}, err
	}
	if !im.AlreadyDone {
		if err := src.Export(im); err != nil {
			return ImportResult{}, fmt.Errorf("import (run it again to finish it): %w", err)
		}
		if err := im.Finish(); err != nil {
			return ImportResult{}, fmt.Errorf("import (run it again to finish it): %w", err)
		}
	}
	group, err := dst.Group(ctx)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import done; marking the old store moved failed (run the import again): %w", err)
	}
	if err := src.MarkMoved(group, time.Now()); err != nil {
		return ImportResult{}, fmt.Errorf("import done; marking the old store moved failed (run the import again): %w", err)
	}
	log.Info("cluster import: the single machine's store is in the group", "from", dir, "group", group, "moved", im.Imported)
	return ImportResult{Group: group, Moved: im.Imported, AlreadyDone: im.AlreadyDone}, nil
}

// waitReservation waits until the moved machine's msgid reservation has passed, so
// that no node of the group issues a msgid of a second that machine may have used.
func waitReservation(ctx context.Context, src *store.Store) error {
	until, err := src.MsgidReservation()
	if err != nil {
		return err
	}
	wait := time.Until(until)
	if wait <= 0 {
		return nil
	}
	if wait > maxReservationWait {
		return fmt.Errorf("%w (%s ahead)", ErrImportClock, wait.Round(time.Second))
	}
	t := time.NewTimer(wait + time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
