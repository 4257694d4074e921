package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/config"
)

// adminClient calls the running agent's admin API on this machine.
type adminClient struct {
	base, token string
	hc          *http.Client
}

func newAdminClient(cfg *config.Config) (*adminClient, error) {
	base, err := cfg.API.LoopbackURL()
	if err != nil {
		return nil, err
	}
	token := cfg.API.AdminToken.Value()
	if token == "" {
		return nil, errors.New("the agent is running and its admin API needs [api] admin_token, which this configuration lacks")
	}
	tr := &http.Transport{Proxy: nil}
	if strings.HasPrefix(base, "https:") {
		// The agent's own API on this machine; its certificate names the windows' view of it.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // loopback to the local agent
	}
	return &adminClient{base: base, token: token,
		hc: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}, nil
}

// do sends one request; a non-2xx answer is an error quoting the agent's message.
func (a *adminClient) do(ctx context.Context, method, path, contentType string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the agent's admin API at %s: %w", a.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return resp.StatusCode, fmt.Errorf("the running agent has no %s %s: it is an older version; stop it (settle-agent stop) and run this again", method, path)
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil && resp.StatusCode < 300 {
			return resp.StatusCode, fmt.Errorf("the agent's answer to %s %s: %w", method, path, err)
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusUnprocessableEntity {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		msg := strings.TrimSpace(e.Message + " " + e.Error)
		if msg == "" {
			msg = strings.TrimSpace(string(b))
		}
		return resp.StatusCode, fmt.Errorf("the agent answered %s %s with HTTP %d: %s", method, path, resp.StatusCode, msg)
	}
	return resp.StatusCode, nil
}

func (a *adminClient) catalogueStatus(ctx context.Context) (catalogue.Status, error) {
	var st catalogue.Status
	_, err := a.do(ctx, http.MethodGet, "/v1/catalogue", "", nil, &st)
	return st, err
}

// catalogueSync starts a sync in the agent (or joins the one running) and follows
// its progress until it ends.
func (a *adminClient) catalogueSync(ctx context.Context, bar *progressBar) error {
	start := time.Now()
	if _, err := a.do(ctx, http.MethodPost, "/v1/catalogue/sync", "", nil, nil); err != nil {
		return err
	}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := a.catalogueStatus(ctx)
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
				return fmt.Errorf("catalogue sync did not finish:\n  %s\nthe agent resumes where it stopped on its next sync", strings.Join(failed, "\n  "))
			}
			fmt.Fprintln(bar.w, "目录同步完成")
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (a *adminClient) mappingCheck(ctx context.Context, raw []byte) (*catalogue.CheckReport, error) {
	var rep catalogue.CheckReport
	_, err := a.do(ctx, http.MethodPost, "/v1/mapping/check", "text/csv; charset=utf-8", raw, &rep)
	return &rep, err
}

func (a *adminClient) mappingUpload(ctx context.Context, dryRun bool) (*catalogue.UploadReport, error) {
	var rep catalogue.UploadReport
	path := "/v1/mapping/upload"
	if dryRun {
		path += "?dry_run=true"
	}
	_, err := a.do(ctx, http.MethodPost, path, "", nil, &rep)
	return &rep, err
}
