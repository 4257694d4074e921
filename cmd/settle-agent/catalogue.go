package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/text/width"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/agent"
	"github.com/settle-agent/settle-agent/catalogue"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform"
	"github.com/settle-agent/settle-agent/queue"
	"github.com/settle-agent/settle-agent/store"
)

const catalogueUsage = "catalogue sync [--config FILE] [--lang zh|en] | catalogue status [--config FILE] [--json] [--lang zh|en]"

// runCatalogue is `settle-agent catalogue sync|status`: the local copy of the
// platform's catalogue (docs/catalogue.md). While the agent runs, both go through its
// admin API; when it is stopped, sync talks to the platform itself.
func runCatalogue(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: say what to do: %s", errUsage, catalogueUsage)
	}
	sub, args := args[0], args[1:]
	fs := newFlags(env, "catalogue "+sub, catalogueUsage+"\n\n"+
		"sync downloads what changed in the catalogues (1301, 1302, 1305, 1306 by file; 1312, 1318,\n"+
		"1319, 1316, 1317 by page) with a progress bar; a sync that fails resumes where it stopped.\n"+
		"status shows per catalogue the version, rows and age, and warns past [catalogue] max_age.")
	configPath := fs.String("config", config.DefaultPath(), "the agent's configuration file")
	asJSON := fs.Bool("json", false, "status: print the status as one JSON object")
	lang := fs.String("lang", settle.LangZh, "language of the output: zh (中文) or en")
	switch sub {
	case "sync", "status":
	case "-h", "--help", "help":
		fs.Usage()
		return flag.ErrHelp
	default:
		return fmt.Errorf("%w: unknown catalogue command %q: %s", errUsage, sub, catalogueUsage)
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected %q", errUsage, pos[0])
	}
	cfg, err := config.Load(*configPath, env.getenv)
	if err != nil {
		return fmt.Errorf("%v\nfix the configuration (settle-agent config check %s) and try again", err, *configPath)
	}
	if agentRunning(cfg) {
		api, err := newAdminClient(cfg)
		if err != nil {
			return err
		}
		if sub == "status" {
			st, err := api.CatalogueStatus(ctx)
			if err != nil {
				return err
			}
			return printCatalogueStatus(env.stdout, st, *asJSON, time.Now(), *lang)
		}
		return catalogueSync(ctx, api, newProgressBar(env.stderr, *lang))
	}
	if sub == "status" {
		st, err := localCatalogueStatus(cfg)
		if err != nil {
			return err
		}
		return printCatalogueStatus(env.stdout, st, *asJSON, time.Now(), *lang)
	}
	sess, err := openCatalogueSession(ctx, cfg, nil, newProgressBar(env.stderr, *lang).update)
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	rep, err := sess.syncer.Sync(ctx)
	printSyncReport(env.stdout, rep, *lang)
	if err != nil {
		return fmt.Errorf(settle.Say(*lang, "catalogue sync did not finish: %w\nrun 'settle-agent catalogue sync' again: it resumes where it stopped",
			"目录同步未完成：%w\n再运行一次 settle-agent catalogue sync：它从中断处继续"), err)
	}
	return nil
}

// agentRunning reports whether the agent holds its store or the catalogue file
// (each is only read to find out: nothing in them changes).
func agentRunning(cfg *config.Config) bool {
	if queue.Held(cfg.DataPath(storeFile), 300*time.Millisecond) {
		return true
	}
	s, err := catalogue.Open(cfg.DataPath(catalogue.FileName), &catalogue.StoreOptions{ReadOnly: true, LockTimeout: 300 * time.Millisecond})
	if err == nil {
		s.Close()
	}
	return errors.Is(err, catalogue.ErrLocked)
}

func localCatalogueStatus(cfg *config.Config) (catalogue.Status, error) {
	return catalogue.ReadStatus(cfg.DataPath(catalogue.FileName), time.Now(), cfg.Catalogue.MaxAge.Duration)
}

// catalogueSession is the catalogue and a signed-in platform client of a command
// run while the agent is stopped.
type catalogueSession struct {
	cfg    *config.Config
	agent  *store.Store // the agent's store: its msgid high-water mark, and its lock
	store  *catalogue.Store
	client *platform.Client
	msgids *platform.MsgidGenerator
	syncer *catalogue.Syncer
}

const catalogueOpter = "catalogue"

// openCatalogueSession opens the catalogue file, signs in (9001) and wires a
// Syncer. Its msgids continue from the agent's own high-water mark, kept in the
// agent's store, which it holds meanwhile: no msgid is ever issued twice, and the
// agent cannot start in between.
func openCatalogueSession(ctx context.Context, cfg *config.Config, log *slog.Logger, progress func(catalogue.Progress)) (*catalogueSession, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s, err := catalogue.Open(cfg.DataPath(catalogue.FileName), nil)
	if err != nil {
		return nil, err
	}
	sess := &catalogueSession{cfg: cfg, store: s}
	fail := func(err error) (*catalogueSession, error) {
		sess.close(ctx)
		return nil, err
	}
	old := make([]string, len(cfg.Store.OldKeys))
	for i, k := range cfg.Store.OldKeys {
		old[i] = k.Value()
	}
	if sess.agent, err = store.Open(cfg.Store.Dir, &store.Options{Key: cfg.Store.Key.Value(), OldKeys: old, Logger: log}); err != nil {
		return fail(fmt.Errorf("open the agent's store for its msgids: %w", err))
	}
	reserved, err := sess.agent.MsgidReservation()
	if err != nil {
		return fail(err)
	}
	sess.msgids, err = platform.NewMsgidGenerator(platform.MsgidOptions{FixmedinsCode: cfg.Hospital.FixmedinsCode,
		Node: cfg.Hospital.MsgidNode, Reserved: reserved, Reserve: sess.agent.ReserveMsgids})
	if err != nil {
		return fail(err)
	}
	po := agent.PlatformOptions(cfg)
	po.Logger = log
	if sess.client, err = platform.NewClient(po); err != nil {
		return fail(err)
	}
	var out platform.SignInOutput
	m, err := sess.meta()
	if err != nil {
		return fail(err)
	}
	in := platform.SignInInput{SignIn: platform.SignInData{OpterNo: catalogueOpter}}
	if _, err := sess.client.Call(ctx, platform.InfnoSignIn, m, in, &out); err != nil {
		return fail(fmt.Errorf("sign in to the platform (9001): %w\ncheck with 'settle-agent doctor'", err))
	}
	sess.client.SetSignNo(out.Signinoutb.SignNo)
	sess.syncer, err = catalogue.NewSyncer(catalogue.SyncOptions{Store: s, Platform: sess.client, Meta: sess.meta,
		Download: catalogueDownload(sess.client, sess.meta), PageSize: cfg.Catalogue.PageSize, Logger: log, OnProgress: progress})
	if err != nil {
		return fail(err)
	}
	return sess, nil
}

func (s *catalogueSession) meta() (platform.Meta, error) {
	id, err := s.msgids.Next()
	return platform.Meta{Msgid: id, Opter: catalogueOpter, OpterName: "目录同步"}, err
}

// close signs out (when signed in) and closes the catalogue file.
func (s *catalogueSession) close(ctx context.Context) {
	if s.client != nil {
		if no := s.client.SignNo(); no != "" {
			if m, err := s.meta(); err == nil {
				_, _ = s.client.Call(ctx, platform.InfnoSignOut, m, platform.SignOutInput{SignOut: platform.SignOutData{SignNo: no, OpterNo: catalogueOpter}}, nil)
			}
		}
		s.client.Close()
	}
	if s.agent != nil {
		s.agent.Close()
	}
	s.store.Close()
}

func printSyncReport(w io.Writer, rep catalogue.Report, lang string) {
	say := func(en, zh string) string { return settle.Say(lang, en, zh) }
	for _, r := range rep.Results {
		state := say("done", "完成")
		if r.Err != "" {
			state = say("failed: ", "失败：") + r.Err
		}
		ver := ""
		if r.Ver != "" {
			ver = say(", version ", "，版本 ") + r.Ver
		}
		fmt.Fprintf(w, say("%s %s: %d rows%s; %s\n", "%s %s：%d 行%s；%s\n"), r.Infno, r.Title, r.Rows, ver, state)
	}
	if len(rep.Results) > 0 {
		fmt.Fprintf(w, say("catalogue sync took %s\n", "目录同步用时 %s\n"), rep.Took.Round(time.Millisecond))
	}
}

// printCatalogueStatus prints per catalogue its version, rows and when it was
// synced (settle.BeijingTime), in lang, or the status as JSON.
func printCatalogueStatus(w io.Writer, st catalogue.Status, asJSON bool, now time.Time, lang string) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(st)
	}
	say := func(en, zh string) string { return settle.Say(lang, en, zh) }
	rows := [][]string{{say("CATALOGUE", "目录"), say("TITLE", "名称"), say("VERSION", "版本"), say("ROWS", "行数"),
		say("SYNCED", "同步于"), say("AGE", "年龄"), say("LAST ERROR", "最近错误")}}
	for _, c := range st.Catalogues {
		synced, age := say("never", "从未"), "-"
		if !c.SyncedAt.IsZero() {
			synced, age = settle.BeijingTime(c.SyncedAt, lang), catalogue.Age(now.Sub(c.SyncedAt))
		}
		ver := c.Ver
		if c.Kind == "query" {
			ver = "-"
			if c.Since != "" {
				ver = say("since ", "自 ") + c.Since
			}
		}
		rows = append(rows, []string{c.Infno, c.Title, orDash(ver), fmt.Sprint(c.Rows), synced, age, orDash(oneLine(c.LastError))})
	}
	writeTable(w, rows)
	if st.Progress.Running {
		fmt.Fprintf(w, say("syncing: %s %s (%d/%d), %d rows\n", "正在同步：%s %s（%d/%d），%d 行\n"), st.Progress.Infno, st.Progress.Title, st.Progress.Step, st.Progress.Steps, st.Progress.Done)
	}
	if st.Warning != "" {
		fmt.Fprintln(w, say("warning: ", "警告：")+st.Warning)
	}
	return nil
}

// writeTable prints rows in columns two spaces apart, as wide as their widest cell
// on a terminal (a Chinese character takes two columns).
func writeTable(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], displayWidth(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// displayWidth is how many terminal columns s takes.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return s
}
