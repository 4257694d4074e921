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
	switch {
	case dir == "":
		d.fail(name, "[store] dir is empty", "set [store] dir, e.g. "+config.DefaultDataDir())
		return
	case !filepath.IsAbs(dir):
		d.warn(name, fmt.Sprintf("[store] dir %q is relative: it depends on the folder the agent starts in", dir),
			"write an absolute path, e.g. "+config.DefaultDataDir())
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Doctor changes nothing: it checks the folder could be made where it
		// would be, and leaves making it to install (with the right owner) or
		// the agent.
		parent := nearestExisting(dir)
		if err := tryWrite(parent); err != nil {
			d.fail(name, fmt.Sprintf("%s does not exist and cannot be created in %s: %v", dir, parent, err), fix)
		} else {
			d.ok(name, dir+" does not exist yet; it can be created ('settle-agent install' or the agent's first start makes it)")
		}
		d.freeSpace(parent)
		return
	case err != nil:
		d.fail(name, fmt.Sprintf("%s: %v", dir, unwrapPathErr(err)), fix)
		d.freeSpace(nearestExisting(dir))
		return
	case !fi.IsDir():
		d.fail(name, dir+" is a file, not a folder", "set [store] dir to a folder")
		d.freeSpace(nearestExisting(filepath.Dir(dir)))
		return
	}
	if err := tryWrite(dir); err != nil {
		d.fail(name, fmt.Sprintf("%s is not writable: %v", dir, err), fix)
	} else {
		d.ok(name, dir+" is writable")
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
		d.warn(name, fmt.Sprintf("cannot measure the free space of %s: %v", dir, err), "check it by hand: the store needs at least 1 GiB to queue a long outage")
		return
	}
	detail := fmt.Sprintf("%s free on the disk of %s", formatBytes(free), dir)
	fix := fmt.Sprintf("free space on that disk or move [store] dir to a larger one (under %s the agent may stop queueing)", formatBytes(d.o.FreeFailBytes))
	switch {
	case free < d.o.FreeFailBytes:
		d.fail(name, fmt.Sprintf("only %s (fails under %s)", detail, formatBytes(d.o.FreeFailBytes)), fix)
	case free < d.o.FreeWarnBytes:
		d.warn(name, fmt.Sprintf("only %s (warns under %s)", detail, formatBytes(d.o.FreeWarnBytes)), fix)
	default:
		d.ok(name, detail)
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
