package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
				"run 'settle-agent catalogue status' or look at the status page")
			return
		}
	} else if err != nil {
		d.warn(name, fmt.Sprintf("%s: %v", path, err), "run 'settle-agent catalogue sync'; if it keeps failing, move the file away and sync again")
		return
	}
	rows := 0
	for _, c := range st.Catalogues {
		rows += c.Rows
	}
	if st.Stale {
		d.warn(name, fmt.Sprintf("%s: %d rows; %s", path, rows, st.Warning),
			"run 'settle-agent catalogue sync' (the agent also syncs daily at [catalogue] sync_at)")
		return
	}
	d.ok(name, fmt.Sprintf("%s: %d rows, oldest sync %s ago (max_age %s)", path, rows, catalogue.Age(d.o.Now().Sub(st.OldestSync)), st.MaxAge))
}
