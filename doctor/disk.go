package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/settle-agent/settle-agent/config"
)

// dataFolder checks that the data folder exists or can be created, that a file can
// be created, fsynced and removed in it, and the free space of its disk.
func (d *doctor) dataFolder(cfg *config.Config) {
	const name = "data folder"
	dir := cfg.Store.Dir
	fix := fmt.Sprintf("the service account must be able to write %s: 'settle-agent install' creates it for the account; or set [store] dir to a writable folder", dir)
	fixZh := fmt.Sprintf("服务账户须能写入 %s：'settle-agent install' 会为该账户创建它；或把 [store] dir 改为可写的目录", dir)
	switch {
	case dir == "":
		d.fail(name, "[store] dir is empty", "set [store] dir, e.g. "+config.DefaultDataDir()).
			zh("[store] dir 未填写", "请设置 [store] dir，例如 "+config.DefaultDataDir())
		return
	case !filepath.IsAbs(dir):
		d.warn(name, fmt.Sprintf("[store] dir %q is relative: it depends on the folder the agent starts in", dir),
			"write an absolute path, e.g. "+config.DefaultDataDir()).
			zh(fmt.Sprintf("[store] dir %q 是相对路径：实际位置取决于 agent 启动时所在的目录", dir), "请写绝对路径，例如 "+config.DefaultDataDir())
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Doctor changes nothing: it checks the folder could be made where it
		// would be, and leaves making it to install (with the right owner) or
		// the agent.
		parent := nearestExisting(dir)
		if err := tryWrite(parent); err != nil {
			d.fail(name, fmt.Sprintf("%s does not exist and cannot be created in %s: %v", dir, parent, err), fix).
				zh(fmt.Sprintf("%s 不存在，且无法在 %s 中创建：%v", dir, parent, err), fixZh)
		} else {
			d.ok(name, dir+" does not exist yet; it can be created ('settle-agent install' or the agent's first start makes it)").
				zh(dir+" 尚不存在，但可以创建（'settle-agent install' 或 agent 首次启动时创建）", "")
		}
		d.freeSpace(parent)
		return
	case err != nil:
		d.fail(name, fmt.Sprintf("%s: %v", dir, unwrapPathErr(err)), fix).
			zh(fmt.Sprintf("无法访问 %s：%v", dir, unwrapPathErr(err)), fixZh)
		d.freeSpace(nearestExisting(dir))
		return
	case !fi.IsDir():
		d.fail(name, dir+" is a file, not a folder", "set [store] dir to a folder").
			zh(dir+" 是文件，不是目录", "请把 [store] dir 设为一个目录")
		d.freeSpace(nearestExisting(filepath.Dir(dir)))
		return
	}
	if err := tryWrite(dir); err != nil {
		d.fail(name, fmt.Sprintf("%s is not writable: %v", dir, err), fix).
			zh(fmt.Sprintf("%s 不可写：%v", dir, err), fixZh)
	} else {
		d.ok(name, dir+" is writable").zh(dir+" 可写", "")
	}
	d.freeSpace(dir)
}

// tryWrite creates a file in dir, writes and fsyncs it, and removes it: what the
// store does to every commit.
func tryWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".settle-agent-doctor-*")
	if err != nil {
		return unwrapPathErr(err)
	}
	_, werr := f.Write([]byte("settle-agent doctor\n"))
	serr := f.Sync()
	cerr := f.Close()
	rerr := os.Remove(f.Name())
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("write and fsync a file: %w", unwrapPathErr(err))
	}
	if rerr != nil {
		return fmt.Errorf("remove a file: %w", unwrapPathErr(rerr))
	}
	return nil
}

// nearestExisting is dir or the closest folder above it that exists.
func nearestExisting(dir string) string {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
			return p
		}
	}
}

// freeSpace checks the space left to unprivileged users on dir's disk.
func (d *doctor) freeSpace(dir string) {
	const name = "free space"
	free, err := freeBytes(dir)
	if err != nil {
		d.warn(name, fmt.Sprintf("cannot measure the free space of %s: %v", dir, err), "check it by hand: the store needs at least 1 GiB to queue a long outage").
			zh(fmt.Sprintf("无法测得 %s 所在磁盘的剩余空间：%v", dir, err), "请人工检查：断网较久时存储至少需要 1 GiB 来排队")
		return
	}
	detail := fmt.Sprintf("%s free on the disk of %s", formatBytes(free), dir)
	fix := fmt.Sprintf("free space on that disk or move [store] dir to a larger one (under %s the agent may stop queueing)", formatBytes(d.o.FreeFailBytes))
	detailZh := fmt.Sprintf("%s 所在磁盘剩余 %s", dir, formatBytes(free))
	fixZh := fmt.Sprintf("请清理该磁盘，或把 [store] dir 移到更大的磁盘（少于 %s 时 agent 可能无法继续排队）", formatBytes(d.o.FreeFailBytes))
	switch {
	case free < d.o.FreeFailBytes:
		d.fail(name, fmt.Sprintf("only %s (fails under %s)", detail, formatBytes(d.o.FreeFailBytes)), fix).
			zh(fmt.Sprintf("%s 所在磁盘仅剩 %s（少于 %s 即为失败）", dir, formatBytes(free), formatBytes(d.o.FreeFailBytes)), fixZh)
	case free < d.o.FreeWarnBytes:
		d.warn(name, fmt.Sprintf("only %s (warns under %s)", detail, formatBytes(d.o.FreeWarnBytes)), fix).
			zh(fmt.Sprintf("%s 所在磁盘仅剩 %s（少于 %s 即提醒）", dir, formatBytes(free), formatBytes(d.o.FreeWarnBytes)), fixZh)
	default:
		d.ok(name, detail).zh(detailZh, "")
	}
}

// formatBytes writes n in binary units: "512 B", "12.3 MiB", "1.0 GiB".
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
