package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/hisadapter"
)

// mapping reads the item code mapping file the way the agent will at start: it
// must open, parse, and hold at least one code.
func (d *doctor) mapping(cfg *config.Config) {
	const name = "item mapping"
	path := cfg.Mapping.File
	if path == "" {
		d.warn(name, "[mapping] file is empty: HIS item codes are sent to the platform unchanged, as national codes",
			"set [mapping] file to the hospital's item code mapping (目录对照) unless the HIS already sends national codes")
		return
	}
	fix := fmt.Sprintf("see every problem with 'settle-agent mapping check %s'; the service account must read the file", path)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) { // said the same on every system
		d.fail(name, path+": no such file", fix)
		return
	}
	if err != nil {
		d.fail(name, fmt.Sprintf("%s: %v", path, unwrapPathErr(err)), fix)
		return
	}
	defer f.Close()
	m, err := hisadapter.ParseMapping(f)
	if err != nil {
		d.fail(name, fmt.Sprintf("%s: %v", path, oneLine(err.Error())), fix)
		return
	}
	if m.Codes() == 0 {
		d.fail(name, path+": holds no codes (only a header?)", "fill it with the hospital's mapping, one HIS code a line")
		return
	}
	d.ok(name, fmt.Sprintf("%s: %d HIS code%s in %d row%s", path, m.Codes(), plural(m.Codes()), m.Len(), plural(m.Len())))
}

// dropFolder checks the watched folder of CSV bills: it must exist and be
// writable (the agent moves each file out of it), and so must its done/ and
// error/ (or they can be made in it).
func (d *doctor) dropFolder(cfg *config.Config) {
	const name = "drop folder"
	dir := cfg.DropFolder.Dir
	if dir == "" {
		d.ok(name, "off ([dropfolder] dir is empty)")
		return
	}
	fix := fmt.Sprintf("create %s and let the service account write it (the HIS puts bills there; the agent moves them to done/ or error/), or leave [dropfolder] dir empty", dir)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.fail(name, dir+" does not exist", fix)
		return
	case err != nil:
		d.fail(name, fmt.Sprintf("%s: %v", dir, unwrapPathErr(err)), fix)
		return
	case !fi.IsDir():
		d.fail(name, dir+" is a file, not a folder", "set [dropfolder] dir to a folder")
		return
	}
	if err := tryWrite(dir); err != nil {
		d.fail(name, fmt.Sprintf("%s is not writable: %v", dir, err), fix)
		return
	}
	for _, sub := range []string{"done", "error"} {
		p := filepath.Join(dir, sub)
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // the agent makes it, in a folder it can write
		case err != nil:
			d.fail(name, fmt.Sprintf("%s: %v", p, unwrapPathErr(err)), fix)
			return
		case !fi.IsDir():
			d.fail(name, p+" is a file; the agent needs a folder there", "move that file away")
			return
		}
		if err := tryWrite(p); err != nil {
			d.fail(name, fmt.Sprintf("%s is not writable: %v", p, err), fix)
			return
		}
	}
	d.ok(name, dir+" is writable, and so are done/ and error/ in it (or they can be made)")
}
