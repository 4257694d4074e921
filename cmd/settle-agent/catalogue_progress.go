package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	settle "github.com/settle-agent/settle-agent"
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
	lang string
}

func newProgressBar(w io.Writer, lang string) *progressBar {
	b := &progressBar{w: w, lang: lang}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	return b
}

const barWidth = 30

// renderProgress is one line of the bar in lang:
// [3/9] 1305 医疗服务项目 [#######-------]  45%  4500/10000 行 第2块
func renderProgress(p catalogue.Progress, lang string) string {
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
	unit := settle.Say(lang, "file", "块")
	if strings.HasPrefix(p.Infno, "131") {
		unit = settle.Say(lang, "page", "页")
	}
	total := "?"
	if p.Total > 0 || p.Chunk > 0 {
		total = fmt.Sprint(p.Total)
	}
	if lang == settle.LangEn {
		return fmt.Sprintf("[%d/%d] %s %s [%s] %4s %d/%s rows, %s %d", p.Step, p.Steps, p.Infno, p.Title, bar, pct, p.Done, total, unit, p.Chunk)
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
				fmt.Fprintf(b.w, "\r%s\n", renderProgress(b.last, b.lang))
			} else {
				fmt.Fprintln(b.w, renderProgress(b.last, b.lang))
			}
		}
		b.drew = false
	case b.tty:
		if b.drew && p.Infno != b.last.Infno {
			fmt.Fprintf(b.w, "\r%s\n", renderProgress(b.last, b.lang))
		}
		fmt.Fprintf(b.w, "\r%s\x1b[K", renderProgress(p, b.lang))
		b.drew = p.Infno != ""
	default:
		if b.drew && p.Infno != b.last.Infno {
			fmt.Fprintln(b.w, renderProgress(b.last, b.lang))
		}
		b.drew = p.Infno != ""
	}
	b.last = p
}
