package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/settle-agent/settle-agent/catalogue"
)

// progressBar draws a catalogue sync's progress: redrawn in place on a terminal, one
// line per catalogue otherwise (a log file, a pipe).
type progressBar struct {
	w    io.Writer
	tty  bool
	mu   sync.Mutex
	last catalogue.Progress
	drew bool
}

func newProgressBar(w io.Writer) *progressBar {
	b := &progressBar{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	return b
}

const barWidth = 30

// render is one line of the bar: [3/9] 1305 医疗服务项目 [#######-------]  45%  4500/10000 行 第2块
func renderProgress(p catalogue.Progress) string {
	bar := strings.Repeat("-", barWidth)
	pct := ""
	if p.Total == 0 && p.Chunk > 0 {
		bar, pct = strings.Repeat("#", barWidth), "100%" // asked, and nothing (more) to fetch
	}
	if p.Total > 0 {
		n := min(p.Done*barWidth/p.Total, barWidth)
		bar = strings.Repeat("#", n) + strings.Repeat("-", barWidth-n)
		pct = fmt.Sprintf("%3d%%", min(p.Done*100/p.Total, 100))
	}
	unit := "块"
	if strings.HasPrefix(p.Infno, "131") {
		unit = "页"
	}
	total := "?"
	if p.Total > 0 || p.Chunk > 0 {
		total = fmt.Sprint(p.Total)
	}
	return fmt.Sprintf("[%d/%d] %s %s [%s] %4s %d/%s 行 第%d%s", p.Step, p.Steps, p.Infno, p.Title, bar, pct, p.Done, total, p.Chunk, unit)
}

// update takes a progress report (catalogue.SyncOptions.OnProgress).
func (b *progressBar) update(p catalogue.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !p.Running:
		if b.drew {
			if b.tty {
				fmt.Fprintf(b.w, "\r%s\n", renderProgress(b.last))
			} else {
				fmt.Fprintln(b.w, renderProgress(b.last))
			}
		}
		b.drew = false
	case b.tty:
		if b.drew && p.Infno != b.last.Infno {
			fmt.Fprintf(b.w, "\r%s\n", renderProgress(b.last))
		}
		fmt.Fprintf(b.w, "\r%s\x1b[K", renderProgress(p))
		b.drew = p.Infno != ""
	default:
		if b.drew && p.Infno != b.last.Infno {
			fmt.Fprintln(b.w, renderProgress(b.last))
		}
		b.drew = p.Infno != ""
	}
	b.last = p
}
