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
			"set [mapping] file to the hospital's item code mapping (目录对照) unless the HIS already sends national codes").
			zh("[mapping] file 未填写：HIS 项目编码将原样作为国家编码上传医保平台", "请把 [mapping] file 设为本院的目录对照文件，除非 HIS 已经发送国家编码")
		return
	}
	fix := fmt.Sprintf("see every problem with 'settle-agent mapping check %s'; the service account must read the file", path)
	fixZh := fmt.Sprintf("用 'settle-agent mapping check %s' 查看全部问题；服务账户须能读取该文件", path)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) { // said the same on every system
		d.fail(name, path+": no such file", fix).zh(path+"：文件不存在", fixZh)
		return
	}
	if err != nil {
		d.fail(name, fmt.Sprintf("%s: %v", path, unwrapPathErr(err)), fix).zh(fmt.Sprintf("无法读取 %s：%v", path, unwrapPathErr(err)), fixZh)
		return
	}
	defer f.Close()
	m, err := hisadapter.ParseMapping(f)
	if err != nil {
		d.fail(name, fmt.Sprintf("%s: %v", path, oneLine(err.Error())), fix).zh(fmt.Sprintf("目录对照 %s 有误：%v", path, oneLine(err.Error())), fixZh)
		return
	}
	if m.Codes() == 0 {
		d.fail(name, path+": holds no codes (only a header?)", "fill it with the hospital's mapping, one HIS code a line").
			zh(path+"：没有任何编码（只有表头？）", "请填入本院的目录对照，每行一个 HIS 编码")
		return
	}
	d.ok(name, fmt.Sprintf("%s: %d HIS code%s in %d row%s", path, m.Codes(), plural(m.Codes()), m.Len(), plural(m.Len()))).
		zh(fmt.Sprintf("%s：%d 行，%d 个 HIS 编码", path, m.Len(), m.Codes()), "")
}

// dropFolder checks the watched folder of CSV bills: it must exist and be
// writable (the agent moves each file out of it), and so must its done/ and
// error/ (or they can be made in it).
func (d *doctor) dropFolder(cfg *config.Config) {
	const name = "drop folder"
	dir := cfg.DropFolder.Dir
	if dir == "" {
		d.ok(name, "off ([dropfolder] dir is empty)").zh("未启用（[dropfolder] dir 未填写）", "")
		return
	}
	fix := fmt.Sprintf("create %s and let the service account write it (the HIS puts bills there; the agent moves them to done/ or error/), or leave [dropfolder] dir empty", dir)
	fixZh := fmt.Sprintf("请创建 %s 并让服务账户可写（HIS 把单据放在这里；agent 把它们移到 done/ 或 error/），或让 [dropfolder] dir 留空", dir)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.fail(name, dir+" does not exist", fix).zh(dir+" 不存在", fixZh)
		return
	case err != nil:
		d.fail(name, fmt.Sprintf("%s: %v", dir, unwrapPathErr(err)), fix).zh(fmt.Sprintf("无法访问 %s：%v", dir, unwrapPathErr(err)), fixZh)
		return
	case !fi.IsDir():
		d.fail(name, dir+" is a file, not a folder", "set [dropfolder] dir to a folder").zh(dir+" 是文件，不是目录", "请把 [dropfolder] dir 设为一个目录")
		return
	}
	if err := tryWrite(dir); err != nil {
		d.fail(name, fmt.Sprintf("%s is not writable: %v", dir, err), fix).zh(fmt.Sprintf("%s 不可写：%v", dir, err), fixZh)
		return
	}
	for _, sub := range []string{"done", "error"} {
		p := filepath.Join(dir, sub)
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // the agent makes it, in a folder it can write
		case err != nil:
			d.fail(name, fmt.Sprintf("%s: %v", p, unwrapPathErr(err)), fix).zh(fmt.Sprintf("无法访问 %s：%v", p, unwrapPathErr(err)), fixZh)
			return
		case !fi.IsDir():
			d.fail(name, p+" is a file; the agent needs a folder there", "move that file away").zh(p+" 是文件；agent 需要这里是目录", "请把该文件移走")
			return
		}
		if err := tryWrite(p); err != nil {
			d.fail(name, fmt.Sprintf("%s is not writable: %v", p, err), fix).zh(fmt.Sprintf("%s 不可写：%v", p, err), fixZh)
			return
		}
	}
	d.ok(name, dir+" is writable, and so are done/ and error/ in it (or they can be made)").
		zh(dir+" 可写，其中的 done/ 和 error/ 也可写（或可以创建）", "")
}
