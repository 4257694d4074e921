package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/adminclient"
)

// newAdminClient is the running agent's admin API on this machine, as cfg names it.
func newAdminClient(cfg *config.Config) (*adminclient.Client, error) {
	base, err := cfg.API.LoopbackURL()
	if err != nil {
		return nil, err
	}
	token := cfg.API.AdminToken.Value()
	if token == "" {
		return nil, errors.New("the agent is running and its admin API needs [api] admin_token, which this configuration lacks")
	}
	// A mapping upload through the agent may take minutes.
	return adminclient.New(base, token, adminclient.Options{LoopbackTLS: strings.HasPrefix(base, "https:"), Timeout: 10 * time.Minute}), nil
}

// catalogueSync starts a sync in the agent (or joins the one running) and follows
// its progress until it ends.
func catalogueSync(ctx context.Context, a *adminclient.Client, bar *progressBar) error {
	start := time.Now()
	if _, err := a.StartCatalogueSync(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := a.CatalogueStatus(ctx)
		if err != nil {
			return err
		}
		bar.update(st.Progress)
		if !st.Progress.Running {
			var failed []string
			for _, c := range st.Catalogues {
				if c.LastError != "" && !c.TriedAt.Before(start.Add(-time.Second)) {
					failed = append(failed, c.Infno+" "+c.Title+": "+oneLine(c.LastError))
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf(settle.Say(bar.lang, "catalogue sync did not finish:\n  %s\nthe agent resumes where it stopped on its next sync",
					"目录同步未完成：\n  %s\n代理下次同步时从中断处继续"), strings.Join(failed, "\n  "))
			}
			fmt.Fprintln(bar.w, settle.Say(bar.lang, "catalogue sync finished", "目录同步完成"))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
