package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/internal/adminclient"
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

const queueUsage = "queue ls [--state S] [--limit N] | show ID | retry ID | export [--unredacted]  (each with --config FILE, or --store DIR, or --api URL --token file:PATH; --lang zh|en)"

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
	fs.StringVar(&q.config, "config", "", "the agent's configuration file: its [store] dir, or while the agent runs its [api] listen and admin_token (default "+config.DefaultPath()+" when it exists)")
	fs.StringVar(&q.api, "api", "", "the running agent's API, e.g. http://127.0.0.1:8420 (needs the admin token)")
	lang := fs.String("lang", settle.LangZh, "language of the output: zh (中文) or en")
	fs.StringVar(&q.token, "token", "", "the agent's admin token as file:PATH or env:NAME, like the configuration's secrets (a bare value shows in ps; default $SETTLE_AGENT_API_ADMIN_TOKEN, else the configuration's)")
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
		printRecords(env.stdout, recs, *lang)
		if *limit > 0 && len(recs) == *limit {
			fmt.Fprintf(env.stdout, settle.Say(*lang, "(first %d shown; next page: --after %d)\n", "（只列出前 %d 条；下一页：--after %d）\n"), *limit, recs[len(recs)-1].ID)
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
		fmt.Fprintf(env.stdout, settle.Say(*lang, "record %d is ready again; the agent sends it on its next pass.\n",
			"记录 %d 已重新排队，代理下一轮会发送它。\n"), id)
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

// printRecords prints records as a table in lang, times in Beijing time
// (settle.BeijingTime), as on the status page.
func printRecords(w io.Writer, recs []*queue.Record, lang string) {
	say := func(en, zh string) string { return settle.Say(lang, en, zh) }
	bj := func(t time.Time) string { return settle.BeijingTime(t, lang) }
	states := map[queue.State]string{
		queue.StateReady: say("ready", "待发送"), queue.StateLeased: say("leased", "发送中"), queue.StateFailed: say("failed", "失败"),
		queue.StateDead: say("dead", "已放弃"), queue.StateDone: say("done", "已完成"),
	}
	rows := [][]string{{"ID", say("STATE", "状态"), say("KEY", "键"), say("ENQUEUED", "入队时间"), say("NEXT", "下一步"), say("TRIES", "尝试次数"), say("REASON", "原因")}}
	for _, r := range recs {
		next := ""
		reason := r.Reason
		switch r.State {
		case queue.StateReady:
			next = bj(r.NextAt)
		case queue.StateLeased:
			next = say("lease until ", "租约到 ") + bj(r.LeaseUntil)
		case queue.StateDone:
			// A finished record's last failure is history, not its reason now.
			next, reason = say("done ", "完成于 ")+bj(r.DoneAt), ""
		}
		if len([]rune(reason)) > 60 {
			reason = string([]rune(reason)[:57]) + "..."
		}
		state := states[r.State]
		if state == "" {
			state = string(r.State)
		}
		rows = append(rows, []string{strconv.FormatUint(r.ID, 10), state, r.Key, bj(r.EnqueuedAt), next,
			strconv.Itoa(len(r.Attempts)), strings.ReplaceAll(reason, "\n", " ")})
	}
	writeTable(w, rows)
	if len(recs) == 0 {
		fmt.Fprintln(w, say("(no records)", "（没有记录）"))
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
	token := ""
	if q.token != "" {
		t, err := config.ResolveSecret(q.token, env.getenv)
		if err != nil {
			return nil, fmt.Errorf("--token: %w", err)
		}
		token = t
	}
	if token == "" {
		token = env.getenv("SETTLE_AGENT_API_ADMIN_TOKEN")
	}
	if q.api != "" {
		if q.store != "" || q.config != "" {
			return nil, fmt.Errorf("%w: give either --api or --store/--config, not both", errUsage)
		}
		if token == "" {
			return nil, fmt.Errorf("%w: --api needs the agent's [api] admin_token: --token file:PATH or env:NAME (a token typed on the command line shows in ps), $SETTLE_AGENT_API_ADMIN_TOKEN, or --config FILE instead of --api", errUsage)
		}
		u, err := url.Parse(q.api)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: --api %q: want a URL like http://127.0.0.1:8420", errUsage, q.api)
		}
		return newQueueAPI(strings.TrimRight(q.api, "/"), token, false), nil
	}
	dir := q.store
	var cfg *config.Config
	cfgPath := q.config
	if dir == "" && cfgPath == "" {
		dir = env.getenv("SETTLE_AGENT_STORE_DIR")
	}
	if dir == "" && cfgPath == "" {
		// The installed agent's configuration, when there is one.
		if _, err := os.Stat(config.DefaultPath()); err == nil {
			cfgPath = config.DefaultPath()
		}
	}
	if dir == "" && cfgPath != "" {
		c, err := config.Load(cfgPath, env.getenv)
		if c == nil {
			return nil, fmt.Errorf("configuration %s: %w", cfgPath, err)
		}
		if c.Store.Dir == "" {
			return nil, fmt.Errorf("configuration %s has no [store] dir; give --store DIR", cfgPath)
		}
		// A configuration with problems still names the store and the API;
		// `config check` is where its problems are reported.
		cfg, dir = c, c.Store.Dir
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: say where the queue is: --config FILE (the agent's configuration), --store DIR (its data folder), or --api URL for a running agent", errUsage)
	}
	path := filepath.Join(dir, storeFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no queue store at %s (%v); is %s the agent's data folder ([store] dir)?", path, err, dir)
	}
	s, err := queue.Open(path, &queue.Options{NoSweep: true, OpenTimeout: 500 * time.Millisecond})
	if errors.Is(err, queue.ErrLocked) {
		if cfg == nil {
			return nil, fmt.Errorf("the agent is running and holds the store %s; give --config FILE (its configuration: the API address and admin token are taken from it), or --api URL with --token file:PATH, or stop the agent", path)
		}
		return agentAPI(cfg, token)
	}
	if err != nil {
		return nil, err
	}
	return queueFile{s}, nil
}

// agentAPI is the running agent's admin API as its configuration names it:
// [api] listen on this machine, with [api] admin_token unless a token was given.
func agentAPI(cfg *config.Config, token string) (queueSource, error) {
	if token == "" {
		token = cfg.API.AdminToken.Value()
	}
	if token == "" {
		return nil, fmt.Errorf("the agent is running; its [api] admin_token (%s) is not available here: run as an account that can read it, or give --token file:PATH or env:NAME",
			orNone(cfg.API.AdminToken.Ref()))
	}
	base, err := cfg.API.LoopbackURL()
	if err != nil {
		return nil, fmt.Errorf("configuration %s: %w", cfg.Path, err)
	}
	return newQueueAPI(base, token, cfg.API.TLSCert != ""), nil
}

func orNone(ref string) string {
	if ref == "" {
		return "not set"
	}
	return ref
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

// queueAPI is the queue as the running agent's admin API serves it.
type queueAPI struct{ c *adminclient.Client }

// newQueueAPI is the admin API at base. loopbackTLS: the agent's own HTTPS on this
// machine, whose certificate names the windows' view of it, not the loopback
// address, so it is not verified.
func newQueueAPI(base, token string, loopbackTLS bool) queueAPI {
	return queueAPI{adminclient.New(base, token, adminclient.Options{LoopbackTLS: loopbackTLS})}
}

func (a queueAPI) close() {}

// told adds what to do to a refused token.
func told(err error) error {
	if errors.Is(err, adminclient.ErrUnauthorized) {
		return fmt.Errorf("%w; give the [api] admin_token: --config FILE, or --token file:PATH or env:NAME", err)
	}
	return err
}

func (a queueAPI) list(ctx context.Context, f queue.Filter) ([]*queue.Record, error) {
	recs, err := a.c.Queue(ctx, f)
	return recs, told(err)
}

func (a queueAPI) get(ctx context.Context, id uint64) (*queue.Record, error) {
	r, err := a.c.QueueRecord(ctx, id)
	return r, told(err)
}

func (a queueAPI) retry(ctx context.Context, id uint64) error {
	_, err := a.c.RetryQueueRecord(ctx, id)
	return told(err)
}

// export pages through GET /v1/queue and redacts here, like the file export.
func (a queueAPI) export(ctx context.Context, w io.Writer, redact func([]byte) []byte) error {
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
