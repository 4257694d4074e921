package doctor

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/config"
)

// readyz is what the running agent's GET /readyz says about itself.
type readyz struct {
	Store   string             `json:"store"` // "ok" or "unavailable"
	Error   string             `json:"error"`
	Online  bool               `json:"online"`
	Readers []cardreader.State `json:"readers"`
	Queue   struct {
		Ready  int `json:"ready"`
		Leased int `json:"leased"`
		Failed int `json:"failed"`
		Dead   int `json:"dead"`
	} `json:"queue"`
}

// parseReadyz decodes a /readyz body; anything without a "store" field is not
// the agent's answer.
func parseReadyz(b []byte) (readyz, error) {
	var r readyz
	if err := json.Unmarshal(b, &r); err != nil {
		return readyz{}, fmt.Errorf("not the agent's /readyz answer: %w", err)
	}
	if r.Store == "" {
		return readyz{}, errors.New(`not the agent's /readyz answer: no "store"`)
	}
	return r, nil
}

// agentRunning reports whether a settle-agent answers GET /healthz at [api]
// listen (nil) or why not. It asks once per run.
func (d *doctor) agentRunning(ctx context.Context, cfg *config.Config) error {
	if !d.agentProbed {
		d.agentProbed = true
		var b []byte
		if b, d.agentErr = d.agentGet(ctx, cfg, "/healthz"); d.agentErr == nil {
			d.agentErr = parseHealthz(b)
		}
	}
	return d.agentErr
}

// parseHealthz accepts the agent's GET /healthz answer, {"status":"alive"}.
func parseHealthz(b []byte) error {
	var h struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(b, &h); err != nil || h.Status != "alive" {
		return fmt.Errorf("what answers there is not a settle-agent (/healthz says %s)", bodyQuote(b))
	}
	return nil
}

// bodyQuote quotes the start of an answer for a message.
func bodyQuote(b []byte) string {
	const n = 80
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

// agentReadyz asks the running agent for GET /readyz. A 503 answer (store
// unavailable) is returned as the parsed body, not an error.
func (d *doctor) agentReadyz(ctx context.Context, cfg *config.Config) (readyz, error) {
	b, err := d.agentGet(ctx, cfg, "/readyz")
	if err != nil {
		return readyz{}, err
	}
	return parseReadyz(b)
}

// agentGet fetches path from the agent's API on loopback: [api] listen with a
// wildcard host becomes the loopback address.
func (d *doctor) agentGet(ctx context.Context, cfg *config.Config, path string) ([]byte, error) {
	base, err := cfg.API.LoopbackURL()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if strings.HasPrefix(base, "https:") {
		// Only the agent's own health is read here, on this machine; its
		// certificate names the windows' view of it, not the loopback address.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // loopback health probe
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	url := base + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if tok := cfg.API.AdminToken.Value(); tok != "" && strings.HasPrefix(path, "/v1/") {
		req.Header.Set("Authorization", "Bearer "+tok) // admin endpoints (GET /v1/catalogue)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: d.o.Timeout + time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && !(path == "/readyz" && resp.StatusCode == http.StatusServiceUnavailable) {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return b, nil
}
