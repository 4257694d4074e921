package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/settle-agent/settle-agent/config"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pelletier/go-toml/v2"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/queue"
)

// storeFile is the store's file name inside the data folder ([store] dir).
const storeFile = "settle-agent.db"

// redactedFields are the payload members `queue export` and `queue show` mask
// unless --unredacted.
var redactedFields = map[string]func(string) string{
	"psn_name":      settle.MaskName,
	"name":          settle.MaskName,
	"certno":        settle.MaskID,
	"mdtrt_cert_no": settle.MaskID,
	"card_sn":       settle.MaskID,
	"ssn":           settle.MaskID,
	"psn_no":        settle.MaskID,
}

const queueUsage = "queue ls [--state S] [--limit N] | show ID | retry ID | export [--unredacted]  (each with --store DIR, or --config FILE, or --api URL --token T)"

// runQueue looks into the durable queue: through the running agent's admin API
// (--api), or the store file directly when the agent is stopped.
func runQueue(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: say what to do: %s", errUsage, queueUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintf(env.stderr, "Usage: settle-agent %s\n", queueUsage)
		return flag.ErrHelp
	}
	fs := newFlags(env, "queue "+sub, "queue "+sub+" [flags]")
	var q queueTarget
	fs.StringVar(&q.store, "store", "", "the agent's data folder (the store file is DIR/"+storeFile+"); default $SETTLE_AGENT_STORE_DIR")
	fs.StringVar(&q.config, "config", "", "the agent's configuration file (its [store] dir is used)")
	fs.StringVar(&q.api, "api", "", "the running agent's API, e.g. http://127.0.0.1:8420 (needs --token)")
	fs.StringVar(&q.token, "token", "", "the agent's admin token for --api (default $SETTLE_AGENT_API_ADMIN_TOKEN)")
	var (
		state      = new(string)
		limit      = new(int)
		after      = new(uint64)
		key        = new(string)
		asJSON     = new(bool)
		unredacted = new(bool)
	)
	switch sub {
	case "ls":
		fs.StringVar(state, "state", "", "only records in this state: ready, leased, failed, dead, done")
		fs.IntVar(limit, "limit", 50, "at most this many records (0: all)")
		fs.Uint64Var(after, "after", 0, "only ids greater than this (next page)")
		fs.StringVar(key, "key", "", "only this key's records that are not done")
		fs.BoolVar(asJSON, "json", false, `print {"records":[...]} instead of a table`)
		fs.BoolVar(unredacted, "unredacted", false, "show names and ID numbers in full (handle the output as patient data)")
	case "show", "export":
		fs.BoolVar(unredacted, "unredacted", false, "show names and ID numbers in full (handle the output as patient data)")
	case "retry":
	default:
		return fmt.Errorf("%w: unknown queue command %q: %s", errUsage, sub, queueUsage)
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var id uint64
	switch sub {
	case "show", "retry":
		if len(pos) != 1 {
			return fmt.Errorf("%w: queue %s needs one record id", errUsage, sub)
		}
		n, err := strconv.ParseUint(pos[0], 10, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("%w: record id %q is not a positive number", errUsage, pos[0])
		}
		id = n
	default:
		if len(pos) != 0 {
			return fmt.Errorf("%w: unexpected %q", errUsage, pos[0])
		}
	}
	if *state != "" && !queue.State(*state).Valid() {
		return fmt.Errorf("%w: --state %q: want ready, leased, failed, dead or done", errUsage, *state)
	}
	if *limit < 0 {
		return fmt.Errorf("%w: --limit %d is negative", errUsage, *limit)
	}
	redact := queue.RedactJSON(redactedFields)
	if *unredacted {
		redact = nil
	}
	src, err := q.open(ctx, env)
	if err != nil {
		return err
	}
	defer src.close()

	switch sub {
	case "ls":
		recs, err := src.list(ctx, queue.Filter{State: queue.State(*state), Key: *key, After: *after, Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			if recs == nil {
				recs = []*queue.Record{}
			}
			for _, r := range recs {
				if redact != nil {
					r.Payload = redact(r.Payload)
				}
			}
			return json.NewEncoder(env.stdout).Encode(map[string]any{"records": recs})
		}
		printRecords(env.stdout, recs)
		if *limit > 0 && len(recs) == *limit {
			fmt.Fprintf(env.stdout, "(first %d shown; next page: --after %d)\n", *limit, recs[len(recs)-1].ID)
		}
		return nil
	case "show":
		r, err := src.get(ctx, id)
		if err != nil {
			return err
		}
		if redact != nil {
			r.Payload = redact(r.Payload)
		}
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s\n", b)
		return nil
	case "retry":
		if err := src.retry(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "record %d is ready again; the agent sends it on its next pass.\n", id)
		return nil
	}
	return src.export(ctx, env.stdout, redact)
}

// parseInterleaved parses flags given before and after the positional arguments
// ("show 12 --store DIR" as well as "show --store DIR 12") and returns the latter.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func printRecords(w io.Writer, recs []*queue.Record) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tKEY\tENQUEUED\tNEXT\tTRIES\tREASON")
	for _, r := range recs {
		next := ""
		switch r.State {
		case queue.StateReady:
			next = r.NextAt.Local().Format(time.DateTime)
		case queue.StateLeased:
			next = "lease until " + r.LeaseUntil.Local().Format(time.TimeOnly)
		case queue.StateDone:
			next = "done " + r.DoneAt.Local().Format(time.DateTime)
		}
		reason := r.Reason
		if len(reason) > 60 {
			reason = reason[:57] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.State, r.Key,
			r.EnqueuedAt.Local().Format(time.DateTime), next, len(r.Attempts), strings.ReplaceAll(reason, "\n", " "))
	}
	tw.Flush()
	if len(recs) == 0 {
		fmt.Fprintln(w, "(no records)")
	}
}

// queueTarget is where the queue commands look: the agent's API or the store file.
type queueTarget struct {
	store, config, api, token string
}

// queueSource is what the queue commands need, from the file or over the API.
type queueSource interface {
	list(ctx context.Context, f queue.Filter) ([]*queue.Record, error)
	get(ctx context.Context, id uint64) (*queue.Record, error)
	retry(ctx context.Context, id uint64) error
	export(ctx context.Context, w io.Writer, redact func([]byte) []byte) error
	close()
}

func (q *queueTarget) open(ctx context.Context, env *cmdEnv) (queueSource, error) {
	if q.api != "" {
		if q.store != "" || q.config != "" {
			return nil, fmt.Errorf("%w: give either --api or --store/--config, not both", errUsage)
		}
		if q.token == "" {
			q.token = env.getenv("SETTLE_AGENT_API_ADMIN_TOKEN")
		}
		if q.token == "" {
			return nil, fmt.Errorf("%w: --api needs --token (the [api] admin_token of the agent's configuration)", errUsage)
		}
		u, err := url.Parse(q.api)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: --api %q: want a URL like http://127.0.0.1:8420", errUsage, q.api)
		}
		return &queueAPI{base: strings.TrimRight(q.api, "/"), token: q.token, client: &http.Client{Timeout: 30 * time.Second}}, nil
	}
	dir := q.store
	if dir == "" && q.config != "" {
		d, err := storeDirFromConfig(q.config)
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if dir == "" {
		dir = env.getenv("SETTLE_AGENT_STORE_DIR")
	}
	if dir == "" {
		// The installed agent's configuration, when there is one.
		if _, err := os.Stat(config.DefaultPath()); err == nil {
			d, err := storeDirFromConfig(config.DefaultPath())
			if err != nil {
				return nil, err
			}
			dir = d
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: say where the queue is: --store DIR (the agent's data folder), --config FILE, or --api URL --token T for a running agent", errUsage)
	}
	path := filepath.Join(dir, storeFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no queue store at %s (%v); is %s the agent's data folder ([store] dir)?", path, err, dir)
	}
	s, err := queue.Open(path, &queue.Options{NoSweep: true})
	if errors.Is(err, queue.ErrLocked) {
		return nil, fmt.Errorf("the agent is running and holds the store %s; use --api http://127.0.0.1:8420 --token <admin token>, or stop the agent", path)
	}
	if err != nil {
		return nil, err
	}
	return queueFile{s}, nil
}

// storeDirFromConfig reads [store] dir of the agent's configuration file.
func storeDirFromConfig(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read configuration: %w", err)
	}
	var c struct {
		Store struct {
			Dir string `toml:"dir"`
		} `toml:"store"`
	}
	if err := toml.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("configuration %s: %w", path, err)
	}
	if c.Store.Dir == "" {
		return "", fmt.Errorf("configuration %s has no [store] dir; give --store DIR", path)
	}
	return c.Store.Dir, nil
}

// queueFile reads and writes the store file directly (the agent is stopped).
type queueFile struct{ s *queue.Store }

func (f queueFile) list(_ context.Context, flt queue.Filter) ([]*queue.Record, error) {
	return f.s.List(flt)
}
func (f queueFile) get(_ context.Context, id uint64) (*queue.Record, error) { return f.s.Get(id) }
func (f queueFile) retry(ctx context.Context, id uint64) error              { return f.s.Retry(ctx, id) }
func (f queueFile) export(_ context.Context, w io.Writer, redact func([]byte) []byte) error {
	return f.s.Export(w, redact)
}
func (f queueFile) close() { f.s.Close() }

// queueAPI talks to the running agent's admin API.
type queueAPI struct {
	base, token string
	client      *http.Client
}

func (a *queueAPI) close() {}

func (a *queueAPI) do(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("agent API at %s: %w (is the agent running? check --api)", a.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("agent API %s %s: %w", method, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("agent API refused the token (%s); give the [api] admin_token with --token", resp.Status)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("agent API %s %s: %w (%s)", method, path, queue.ErrNotFound, apiMessage(body))
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("agent API %s %s: %s: %s", method, path, resp.Status, apiMessage(body))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("agent API %s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

// apiMessage picks the "error" or "message" member of an error body, or the body.
func apiMessage(body []byte) string {
	var e struct{ Error, Message string }
	if json.Unmarshal(body, &e) == nil {
		if e.Error != "" {
			return e.Error
		}
		if e.Message != "" {
			return e.Message
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func (a *queueAPI) list(ctx context.Context, f queue.Filter) ([]*queue.Record, error) {
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
	if err := a.do(ctx, http.MethodGet, path, &out); err != nil {
		return nil, err
	}
	return out.Records, nil
}

func (a *queueAPI) get(ctx context.Context, id uint64) (*queue.Record, error) {
	var r queue.Record
	if err := a.do(ctx, http.MethodGet, "/v1/queue/"+strconv.FormatUint(id, 10), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (a *queueAPI) retry(ctx context.Context, id uint64) error {
	return a.do(ctx, http.MethodPost, "/v1/queue/"+strconv.FormatUint(id, 10)+"/retry", nil)
}

// export pages through GET /v1/queue and redacts here, like the file export.
func (a *queueAPI) export(ctx context.Context, w io.Writer, redact func([]byte) []byte) error {
	const page = 500
	enc := json.NewEncoder(w)
	var after uint64
	for {
		recs, err := a.list(ctx, queue.Filter{After: after, Limit: page})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if redact != nil {
				r.Payload = redact(r.Payload)
			}
			if err := enc.Encode(r); err != nil {
				return err
			}
			after = max(after, r.ID)
		}
		if len(recs) < page {
			return nil
		}
	}
}
