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
		d.fail(name, "no data folder, so no store", "set [store] dir").zh("没有数据目录，因此没有存储", "请设置 [store] dir")
		return
	}
	path := filepath.Join(cfg.Store.Dir, d.o.StoreFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		d.ok(name, path+": none yet; the agent creates it at its first start").zh(path+"：尚未创建；agent 首次启动时创建", "")
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
		d.fail(name, fmt.Sprintf("%s: %v", path, err), corruptFix(path)).zh(fmt.Sprintf("存储文件损坏 %s：%v", path, err), corruptFixZh(path))
		return
	case err != nil:
		d.fail(name, fmt.Sprintf("%s: %v", path, err),
			"the service account must be able to read and write it; 'settle-agent install' sets the owner").
			zh(fmt.Sprintf("无法打开 %s：%v", path, err), "服务账户须能读写该文件；'settle-agent install' 会设置其属主")
		return
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		d.fail(name, fmt.Sprintf("%s: %v", path, err), corruptFix(path)).zh(fmt.Sprintf("存储文件损坏 %s：%v", path, err), corruptFixZh(path))
		return
	}
	stats, err := st.Stats()
	if err != nil {
		d.fail(name, fmt.Sprintf("%s: %v", path, err), corruptFix(path)).zh(fmt.Sprintf("存储文件损坏 %s：%v", path, err), corruptFixZh(path))
		return
	}
	detailZh := fmt.Sprintf("%s：排队 %d 笔，失败 %d 笔，放弃 %d 笔，%s", path,
		stats.Ready+stats.Leased, stats.Failed, stats.Dead, formatBytes(uint64(max(stats.FileBytes, 0))))
	detail := fmt.Sprintf("%s: %d queued, %d failed, %d dead, %s", path,
		stats.Ready+stats.Leased, stats.Failed, stats.Dead, formatBytes(uint64(max(stats.FileBytes, 0))))
	if stats.Failed+stats.Dead > 0 {
		d.warn(name, detail, "bills a person must look at: 'settle-agent queue ls' shows them, 'queue retry ID' sends one again").
			zh(detailZh, "有需要人工处理的单据：'settle-agent queue ls' 列出它们，'queue retry ID' 重新提交一笔")
		return
	}
	d.ok(name, detail).zh(detailZh, "")
}

// storeInUse reports a store held by another process: normally the running agent.
func (d *doctor) storeInUse(ctx context.Context, cfg *config.Config, path string) {
	const name = "store"
	if err := d.agentRunning(ctx, cfg); err != nil {
		d.warn(name, fmt.Sprintf("%s is held by another process, and no agent answers at %s (%v)", path, cfg.API.Listen, err),
			"another settle-agent (run, queue, demo) has it open: let it end or stop it, then run doctor again").
			zh(fmt.Sprintf("%s 被另一个进程占用，且 %s 上没有 agent 应答（%v）", path, cfg.API.Listen, err),
				"另一个 settle-agent（run、queue、demo）打开了它：等它结束或停止它，再运行 doctor")
		return
	}
	d.agentHoldsStore = true
	r, err := d.agentReadyz(ctx, cfg)
	switch {
	case err != nil:
		d.warn(name, fmt.Sprintf("%s: in use by the running agent, which does not say how its store is: %v", path, err),
			"look at the agent's status page or log").
			zh(fmt.Sprintf("%s：正被运行中的 agent 使用，但它未报告存储状态：%v", path, err), "请查看 agent 的状态页或日志")
	case r.Store != "ok":
		d.fail(name, fmt.Sprintf("%s: the running agent reports its store %s: %s", path, r.Store, r.Error),
			"look at the agent's log; restart it with 'settle-agent restart'").
			zh(fmt.Sprintf("%s：运行中的 agent 报告其存储为 %s：%s", path, r.Store, r.Error), "请查看 agent 日志；用 'settle-agent restart' 重启")
	default:
		d.ok(name, fmt.Sprintf("%s: in use by the running agent; %d queued, %d failed, %d dead", path,
			r.Queue.Ready+r.Queue.Leased, r.Queue.Failed, r.Queue.Dead)).
			zh(fmt.Sprintf("%s：正被运行中的 agent 使用；排队 %d 笔，失败 %d 笔，放弃 %d 笔", path,
				r.Queue.Ready+r.Queue.Leased, r.Queue.Failed, r.Queue.Dead), "")
	}
}

func corruptFixZh(path string) string {
	return fmt.Sprintf("停止 agent，把 %s 移到别处并保留（其中可能有未结算的单据；doctor 从不替换它），"+
		"恢复最近的备份或让 agent 新建空存储，并告知厂商", path)
}

func corruptFix(path string) string {
	return fmt.Sprintf("stop the agent, move %s aside and keep it (it may hold unsettled bills; doctor never replaces it), "+
		"restore the last backup or let the agent start an empty store, and tell the vendor", path)
}
