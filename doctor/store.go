package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/queue"
)

// store opens the store file briefly and reads every page of it. When the
// running agent holds it, the agent's /readyz is asked instead. The file is
// never created, repaired or moved here.
func (d *doctor) store(ctx context.Context, cfg *config.Config) {
	const name = "store"
	if cfg.Store.Dir == "" {
		d.fail(name, "no data folder, so no store", "set [store] dir")
		return
	}
	path := filepath.Join(cfg.Store.Dir, d.o.StoreFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		d.ok(name, path+": none yet; the agent creates it at its first start")
		return
	}
	st, err := queue.Open(path, &queue.Options{
		OpenTimeout: doctorStoreOpenTimeout,
		NoSweep:     true,
		Horizon:     cfg.Offline.RetryHorizon.Duration,
		Retention:   cfg.Store.Retention.Duration,
		Now:         d.o.Now,
	})
	switch {
	case errors.Is(err, queue.ErrLocked):
		d.storeInUse(ctx, cfg, path)
		return
	case errors.Is(err, queue.ErrCorrupt):
		d.fail(name, fmt.Sprintf("%s: %v", path, err), corruptFix(path))
		return
	case err != nil:
		d.fail(name, fmt.Sprintf("%s: %v", path, err),
			"the service account must be able to read and write it; 'settle-agent install' sets the owner")
		return
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		d.fail(name, fmt.Sprintf("%s: %v", path, err), corruptFix(path))
		return
	}
	stats, err := st.Stats()
	if err != nil {
		d.fail(name, fmt.Sprintf("%s: %v", path, err), corruptFix(path))
		return
	}
	detail := fmt.Sprintf("%s: %d queued, %d failed, %d dead, %s", path,
		stats.Ready+stats.Leased, stats.Failed, stats.Dead, formatBytes(uint64(max(stats.FileBytes, 0))))
	if stats.Failed+stats.Dead > 0 {
		d.warn(name, detail, "bills a person must look at: 'settle-agent queue ls' shows them, 'queue retry ID' sends one again")
		return
	}
	d.ok(name, detail)
}

// storeInUse reports a store held by another process: normally the running agent.
func (d *doctor) storeInUse(ctx context.Context, cfg *config.Config, path string) {
	const name = "store"
	if err := d.agentRunning(ctx, cfg); err != nil {
		d.warn(name, fmt.Sprintf("%s is held by another process, and no agent answers at %s (%v)", path, cfg.API.Listen, err),
			"another settle-agent (run, queue, demo) has it open: let it end or stop it, then run doctor again")
		return
	}
	d.agentHoldsStore = true
	r, err := d.agentReadyz(ctx, cfg)
	switch {
	case err != nil:
		d.warn(name, fmt.Sprintf("%s: in use by the running agent, which does not say how its store is: %v", path, err),
			"look at the agent's status page or log")
	case r.Store != "ok":
		d.fail(name, fmt.Sprintf("%s: the running agent reports its store %s: %s", path, r.Store, r.Error),
			"look at the agent's log; restart it with 'settle-agent restart'")
	default:
		d.ok(name, fmt.Sprintf("%s: in use by the running agent; %d queued, %d failed, %d dead", path,
			r.Queue.Ready+r.Queue.Leased, r.Queue.Failed, r.Queue.Dead))
	}
}

func corruptFix(path string) string {
	return fmt.Sprintf("stop the agent, move %s aside and keep it (it may hold unsettled bills; doctor never replaces it), "+
		"restore the last backup or let the agent start an empty store, and tell the vendor", path)
}
