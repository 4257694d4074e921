package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/config"
)

// catalogue reports the local copy of the platform's catalogue (docs/catalogue.md):
// a warning when it was never synced or is older than [catalogue] max_age. While the
// agent runs it holds the file, and its admin API answers instead.
func (d *doctor) catalogue(ctx context.Context, cfg *config.Config) {
	const name = "catalogue"
	path := cfg.DataPath(catalogue.FileName)
	st, err := catalogue.ReadStatus(path, d.o.Now(), cfg.Catalogue.MaxAge.Duration)
	if errors.Is(err, catalogue.ErrLocked) {
		var b []byte
		if b, err = d.agentGet(ctx, cfg, "/v1/catalogue"); err == nil {
			err = json.Unmarshal(b, &st)
		}
		if err != nil {
			d.warn(name, fmt.Sprintf("%s is in use by the running agent, which does not say how old it is: %v", path, err),
				"run 'settle-agent catalogue status' or look at the status page").
				zh(fmt.Sprintf("%s 正被运行中的 agent 使用，但它未报告目录的新旧：%v", path, err), "请运行 'settle-agent catalogue status' 或查看状态页")
			return
		}
	} else if err != nil {
		d.warn(name, fmt.Sprintf("%s: %v", path, err), "run 'settle-agent catalogue sync'; if it keeps failing, move the file away and sync again").
			zh(fmt.Sprintf("无法读取医保目录 %s：%v", path, err), "请运行 'settle-agent catalogue sync'；若一直失败，把该文件移走后重新同步")
		return
	}
	rows := 0
	for _, c := range st.Catalogues {
		rows += c.Rows
	}
	// doctor speaks English throughout; st.Warning is the status page's Chinese
	// sentence, so the line is said here from the status's fields.
	if st.Stale {
		why, whyZh := "never synced completely", "从未完整同步过"
		if !st.OldestSync.IsZero() {
			why = fmt.Sprintf("oldest sync %s ago, over max_age %s", englishAge(d.o.Now().Sub(st.OldestSync)), st.MaxAge)
			whyZh = fmt.Sprintf("最早一次同步在 %s 前，超过 max_age %s", englishAge(d.o.Now().Sub(st.OldestSync)), st.MaxAge)
		}
		d.warn(name, fmt.Sprintf("%s: %d rows; %s", path, rows, why),
			"run 'settle-agent catalogue sync' (the agent also syncs daily at [catalogue] sync_at)").
			zh(fmt.Sprintf("%s：%d 条；%s", path, rows, whyZh), "请运行 'settle-agent catalogue sync'（agent 每天也会在 [catalogue] sync_at 自动同步）")
		return
	}
	d.ok(name, fmt.Sprintf("%s: %d rows, oldest sync %s ago (max_age %s)", path, rows, englishAge(d.o.Now().Sub(st.OldestSync)), st.MaxAge)).
		zh(fmt.Sprintf("%s：%d 条，最早一次同步在 %s 前（max_age %s）", path, rows, englishAge(d.o.Now().Sub(st.OldestSync)), st.MaxAge), "")
}

// englishAge writes an age as IT reads it in doctor's lines: 3d4h, 5h, 12m.
func englishAge(a time.Duration) string {
	switch {
	case a < time.Minute:
		return "under a minute"
	case a < time.Hour:
		return fmt.Sprintf("%dm", int(a/time.Minute))
	case a < 48*time.Hour:
		return fmt.Sprintf("%dh", int(a/time.Hour))
	}
	return fmt.Sprintf("%dd%dh", int(a/(24*time.Hour)), int(a%(24*time.Hour)/time.Hour))
}
