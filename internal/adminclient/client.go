// Package adminclient is the client of a running agent's admin API (docs/api.md)
// that the commands share: the queue, catalogue and mapping commands talk to the
// agent through it while the agent holds its files. It decodes the server's error
// body {"error":{"code","message"}} into an *Error that says what the agent said.
package adminclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/queue"
)

// Errors of this package; an *Error answers errors.Is for them by its status.
var (
	// ErrUnauthorized: the agent refused the token (401 or 403).
	ErrUnauthorized = errors.New("the agent refused the admin token; give its [api] admin_token")
	// ErrNotFound: the agent answered 404 (no such record, or no such endpoint).
	ErrNotFound = errors.New("not found")
	// ErrBusy: the agent is busy with the same work (409 sync_running).
	ErrBusy = errors.New("the agent is busy with it")
)

// Error is an answer of the agent that is not a success: its status, and the code
// and message of its error body (the body itself, clipped, when it had none).
type Error struct {
	Method, Path string
	Status       int
	Code         string
	Message      string
}

func (e *Error) Error() string {
	code := ""
	if e.Code != "" {
		code = " " + e.Code
	}
	msg := e.Message
	if e.Status == http.StatusNotFound && strings.HasPrefix(msg, "no such endpoint") {
		msg += " (the running agent is an older version: stop it (settle-agent stop) and run this again)"
	}
	return fmt.Sprintf("the agent answered %s %s with HTTP %d%s: %s", e.Method, e.Path, e.Status, code, msg)
}

// Is lets errors.Is(err, ErrUnauthorized), ErrNotFound and ErrBusy match by status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrBusy:
		return e.Status == http.StatusConflict && e.Code == "sync_running"
	}
	return false
}

// Options of a Client; the zero value means the defaults.
type Options struct {
	// LoopbackTLS: base is the agent's own HTTPS on this machine, whose certificate
	// names the windows' view of it, not the loopback address: it is not verified.
	LoopbackTLS bool
	// Timeout bounds each call (30 s); a mapping upload may need minutes.
	Timeout time.Duration
}

// Client calls the admin API at one base URL with the admin token.
type Client struct {
	base, token string
	timeout     time.Duration
	hc          *http.Client
}

// New is a client of the admin API at base (http://127.0.0.1:8420) with token.
func New(base, token string, o Options) *Client {
	tr := &http.Transport{Proxy: nil}
	if o.LoopbackTLS {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // loopback, the agent's own API
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return &Client{base: strings.TrimRight(base, "/"), token: token, timeout: o.Timeout, hc: &http.Client{Transport: tr}}
}

// Base is the URL the client calls.
func (c *Client) Base() string { return c.base }

// do sends one request. An answer of 2xx, or of a status in also (an answer whose
// body is the report, not an error), is decoded into out (when not nil); any
// other is an *Error.
func (c *Client) do(ctx context.Context, method, path, contentType string, body []byte, out any, also ...int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the agent's admin API at %s: %w (is the agent running?)", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("the agent's answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 && !slices.Contains(also, resp.StatusCode) {
		return resp.StatusCode, errorOf(method, path, resp.StatusCode, raw)
	}
	if out != nil && len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("the agent's answer to %s %s is unreadable: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// errorOf is the *Error of a failed answer: the code and message of the server's
// error body, or the body itself, clipped.
func errorOf(method, path string, status int, raw []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status}
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(raw, &eb) == nil && eb.Error.Message != "" {
		e.Code, e.Message = eb.Error.Code, eb.Error.Message
		return e
	}
	e.Message = strings.TrimSpace(string(raw))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200] + "..."
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// Queue lists queue records (GET /v1/queue).
func (c *Client) Queue(ctx context.Context, f queue.Filter) ([]*queue.Record, error) {
	v := url.Values{}
	if f.State != "" {
		v.Set("state", string(f.State))
	}
	if f.Key != "" {
		v.Set("key", f.Key)
	}
	if f.After > 0 {
		v.Set("after", strconv.FormatUint(f.After, 10))
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/v1/queue"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out struct {
		Records []*queue.Record `json:"records"`
	}
	if _, err := c.do(ctx, http.MethodGet, path, "", nil, &out); err != nil {
		return nil, err
	}
	return out.Records, nil
}

// QueueRecord is one queue record (GET /v1/queue/{id}); a record the agent does not
// have is queue.ErrNotFound.
func (c *Client) QueueRecord(ctx context.Context, id uint64) (*queue.Record, error) {
	var r queue.Record
	if _, err := c.do(ctx, http.MethodGet, "/v1/queue/"+strconv.FormatUint(id, 10), "", nil, &r); err != nil {
		return nil, queueErr(err)
	}
	return &r, nil
}

// RetryQueueRecord puts a failed or dead record back in line, with its document
// (POST /v1/queue/{id}/retry).
func (c *Client) RetryQueueRecord(ctx context.Context, id uint64) (*queue.Record, error) {
	var r queue.Record
	if _, err := c.do(ctx, http.MethodPost, "/v1/queue/"+strconv.FormatUint(id, 10)+"/retry", "", nil, &r); err != nil {
		return nil, queueErr(err)
	}
	return &r, nil
}

// queueErr adds queue.ErrNotFound to a 404 of a record.
func queueErr(err error) error {
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", queue.ErrNotFound, err)
	}
	return err
}

// CatalogueStatus is the agent's catalogue (GET /v1/catalogue).
func (c *Client) CatalogueStatus(ctx context.Context) (catalogue.Status, error) {
	var st catalogue.Status
	_, err := c.do(ctx, http.MethodGet, "/v1/catalogue", "", nil, &st)
	return st, err
}

// StartCatalogueSync starts a sync in the agent (POST /v1/catalogue/sync);
// running reports that one was running already (and is now followed instead).
func (c *Client) StartCatalogueSync(ctx context.Context) (running bool, err error) {
	_, err = c.do(ctx, http.MethodPost, "/v1/catalogue/sync", "", nil, nil)
	if errors.Is(err, ErrBusy) {
		return true, nil
	}
	return false, err
}

// CheckMapping checks a mapping file against the agent's catalogue
// (POST /v1/mapping/check): the report whether the file is usable or not.
func (c *Client) CheckMapping(ctx context.Context, raw []byte) (*catalogue.CheckReport, error) {
	var rep catalogue.CheckReport
	if _, err := c.do(ctx, http.MethodPost, "/v1/mapping/check", "text/csv; charset=utf-8", raw, &rep, http.StatusUnprocessableEntity); err != nil {
		return nil, err
	}
	return &rep, nil
}

// UploadMapping has the agent upload its mapping file (POST /v1/mapping/upload):
// the report, also when the check refused the file (rep.OK() false).
func (c *Client) UploadMapping(ctx context.Context, dryRun bool) (*catalogue.UploadReport, error) {
	var rep catalogue.UploadReport
	path := "/v1/mapping/upload"
	if dryRun {
		path += "?dry_run=true"
	}
	if _, err := c.do(ctx, http.MethodPost, path, "", nil, &rep, http.StatusUnprocessableEntity); err != nil {
		return nil, err
	}
	return &rep, nil
}

// Cluster is the group of front-end machines as the agent sees it (GET /v1/cluster).
func (c *Client) Cluster(ctx context.Context) (cluster.Status, error) {
	var st cluster.Status
	_, err := c.do(ctx, http.MethodGet, "/v1/cluster", "", nil, &st)
	return st, err
}
