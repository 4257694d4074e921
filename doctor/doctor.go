// Package doctor is `settle-agent doctor`: it checks what hospital IT needs before
// go-live — the configuration, the files it names (item mapping, drop folder), the
// data folder and its disk, the store, the listen ports, each card reader, the
// platform sign-in and the clock — and says, for each check that is not ok, what to
// do. It changes nothing on the machine. It sits at the edge beside the wiring: the
// agent's store file name and platform options come in through Options, so the
// service installer needs none of the agent's packages.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/text/width"

	settle "github.com/settle-agent/settle-agent"
	"github.com/settle-agent/settle-agent/cardreader"
	"github.com/settle-agent/settle-agent/cluster"
	"github.com/settle-agent/settle-agent/config"
	"github.com/settle-agent/settle-agent/platform"
)

// Check statuses: a check that is fine, one hospital IT should look at before
// go-live, and one that stops go-live.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Check is one line of `settle-agent doctor`: what was checked, how it went, what
// was found and, when it is not ok, what to do about it.
type Check struct {
	Name   string `json:"name"`   // "configuration", "data folder", "store", "platform", ...
	Status string `json:"status"` // CheckOK, CheckWarn or CheckFail
	Detail string `json:"detail"` // what was found, one line
	Fix    string `json:"fix,omitempty"`
	// DetailZh and FixZh are Detail and Fix in Chinese, what `settle-agent doctor`
	// prints by default; empty means the check has no Chinese text (English is shown).
	DetailZh string `json:"detail_zh,omitempty"`
	FixZh    string `json:"fix_zh,omitempty"`
}

// zh gives the check its Chinese detail and fix; d.fail(...).zh(detail, fix) builds
// a check in both languages where it is made.
func (c *Check) zh(detail, fix string) {
	c.DetailZh, c.FixZh = detail, fix
}

// text is the check's detail and fix in lang: Chinese unless lang is English,
// the English text where the check has no Chinese one.
func (c Check) text(lang string) (detail, fix string) {
	detail, fix = c.Detail, c.Fix
	if lang != settle.LangEn {
		if c.DetailZh != "" {
			detail = c.DetailZh
		}
		if c.FixZh != "" {
			fix = c.FixZh
		}
	}
	return detail, fix
}

// Defaults used when an Options field is zero.
const (
	DefaultTimeout         = 3 * time.Second
	DefaultFreeWarnBytes   = 1 << 30   // 1 GiB
	DefaultFreeFailBytes   = 100 << 20 // 100 MiB
	doctorStoreOpenTimeout = 500 * time.Millisecond
)

// Options tune Run; the zero value means defaults.
type Options struct {
	// ConfigPath is the configuration Run loads when it is given no Config;
	// default config.DefaultPath().
	ConfigPath string
	// Getenv is the environment for SETTLE_AGENT_* overrides and env: secrets;
	// nil means os.Getenv.
	Getenv func(string) string
	// OpenPort opens a reader's serial port; nil means the real port
	// (cardreader.OpenSerial). Tests pass the host end of a cardreader.Pipe.
	OpenPort func(cardreader.Config) (io.ReadWriteCloser, error)
	// ReaderHostArgs and ReaderHostEnv start the reader-host child a vendor library is
	// loaded in; nil means `reader-host --stdio` of this program (tests re-execute theirs).
	ReaderHostArgs, ReaderHostEnv []string
	// Now is the local clock, the one the clock-skew check compares with the
	// platform's; nil means time.Now.
	Now func() time.Time
	// Timeout bounds each wait that is not a platform call (the running agent's
	// health endpoints, a reader's answer); default 3 s. Platform calls use
	// [platform] timeout.
	Timeout time.Duration
	// FreeWarnBytes and FreeFailBytes are the free-space thresholds of the data
	// disk; default 1 GiB and 100 MiB.
	FreeWarnBytes, FreeFailBytes uint64
	// Logger receives one line per check; nil discards.
	Logger *slog.Logger

	// StoreFile is the store's file name inside [store] dir; default
	// DefaultStoreFile. The wiring passes the agent's own constant.
	StoreFile string
	// PlatformOptions turns the configuration into the platform client's options:
	// the agent's own function (agent.PlatformOptions), so that doctor signs in
	// exactly as the agent does. It is required: without it the platform check
	// fails and says so.
	PlatformOptions func(*config.Config) platform.Options

	// Group asks the running agent how its group is (GET /v1/cluster through the
	// admin client); used only when the configuration has [cluster]. Nil: the
	// group checks say doctor cannot ask.
	Group func(context.Context, *config.Config) (cluster.Status, error)
	// GroupSkew is how far apart the group's clocks may be; default DefaultGroupSkew.
	GroupSkew time.Duration
}

// DefaultStoreFile is the agent's store file name inside [store] dir.
const DefaultStoreFile = "settle-agent.db"

// Run checks what hospital IT needs before go-live and returns one Check per
// line, in this order: configuration, data folder, free space, item mapping,
// drop folder, store, catalogue, listen ports, readers, platform sign-in, clock skew
// and, with [cluster], the group's checks (group.go). It
// never stops early: with a broken configuration it goes on with what could be
// read of it (or the defaults), so one run shows everything that is wrong.
//
// cfg nil means: load o.ConfigPath (the configuration check then reports every
// problem of the file). With a cfg, it is validated as given.
//
// Run changes nothing on the machine: it writes and removes one temporary file
// in the data folder (or, when that is missing, the folder it would be made in),
// never creates, repairs or moves the store file, and leaves the serial ports and
// the store alone while the agent is running. On the platform it signs in and out
// again as operator "doctor" (see doctorMsgid for why its msgids never repeat one
// of the agent's).
func Run(ctx context.Context, cfg *config.Config, o Options) []Check {
	d := newDoctor(o)
	cfg = d.configuration(cfg)
	d.dataFolder(cfg)
	d.mapping(cfg)
	d.dropFolder(cfg)
	d.store(ctx, cfg)
	d.catalogue(ctx, cfg)
	d.listenPorts(ctx, cfg)
	d.readers(ctx, cfg)
	resp := d.platform(ctx, cfg)
	d.clockSkew(ctx, cfg, resp)
	d.group(ctx, cfg)
	return d.checks
}

// Failed counts the checks that failed.
func Failed(checks []Check) int {
	n := 0
	for _, c := range checks {
		if c.Status == CheckFail {
			n++
		}
	}
	return n
}

// WriteChecks prints checks one per line in lang (settle.Say), the way
// `settle-agent doctor` shows them:
//
//	ok    store         /var/lib/settle-agent/settle-agent.db: 12 queued, 0 failed, 0 dead
//	FAIL  platform      sign-in failed: ... — check [platform] base_url and the 金保 line
//
// In Chinese (the default) the status, the check's name, the detail and the fix
// are Chinese (正常 存储 …); commands, paths, configuration keys, numbers and the
// operating system's own error texts stay as they are. A check that is not ok carries its fix after a
// dash.
func WriteChecks(w io.Writer, checks []Check, lang string) error {
	var b strings.Builder
	for _, c := range checks {
		st, name := c.Status, c.Name
		if st == CheckFail {
			st = "FAIL"
		}
		if lang != settle.LangEn {
			st, name = statusZh[c.Status], checkNameZh(c.Name)
		}
		detail, fix := c.text(lang)
		line := pad(st, 6) + pad(name, 14) + oneLine(detail)
		if c.Status != CheckOK && fix != "" {
			line += " — " + oneLine(fix)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// statusZh and namesZh are how the checks read in Chinese.
var (
	statusZh = map[string]string{CheckOK: "正常", CheckWarn: "注意", CheckFail: "失败"}
	namesZh  = map[string]string{
		"configuration": "配置", "data folder": "数据目录", "free space": "磁盘空间", "item mapping": "目录对照",
		"drop folder": "投递目录", "store": "存储", "catalogue": "医保目录", "api listen": "API 端口",
		"hl7 listen": "HL7 端口", "readers": "读卡器", "e-voucher": "电子凭证", "platform": "医保平台",
		"clock skew": "时钟偏差", "group": "集群", "group members": "集群成员", "group quorum": "集群多数派",
		"group leader": "集群主节点", "group clocks": "集群时钟", "etcd quota": "etcd 配额", "etcd TLS": "etcd TLS",
	}
	namePrefixZh = map[string]string{"reader ": "读卡器 ", "scanner ": "扫码器 "}
)

// checkNameZh is a check's name in Chinese (the English one when it has none).
func checkNameZh(name string) string {
	if zh, ok := namesZh[name]; ok {
		return zh
	}
	for en, zh := range namePrefixZh {
		if rest, ok := strings.CutPrefix(name, en); ok {
			return zh + rest
		}
	}
	return name
}

// pad fills s with spaces to n terminal columns (a Chinese character takes two).
func pad(s string, n int) string {
	w := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			w += 2
		default:
			w++
		}
	}
	if w >= n {
		return s + " "
	}
	return s + strings.Repeat(" ", n-w)
}

// oneLine keeps a detail on its line: an error message may carry newlines.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// doctor is one run of Run: its options with defaults and the checks so far.
type doctor struct {
	o      Options
	log    *slog.Logger
	checks []Check

	agentProbed bool
	agentErr    error // nil: a settle-agent answered /healthz at [api] listen
	// agentHoldsStore: the store is locked and a settle-agent answers at [api]
	// listen, so it is the agent of this configuration, running: it holds the
	// ports and the readers, and doctor asks it rather than touching them.
	agentHoldsStore bool
}

func newDoctor(o Options) *doctor {
	if o.ConfigPath == "" {
		o.ConfigPath = config.DefaultPath()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StoreFile == "" {
		o.StoreFile = DefaultStoreFile
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.FreeWarnBytes == 0 {
		o.FreeWarnBytes = DefaultFreeWarnBytes
	}
	if o.FreeFailBytes == 0 {
		o.FreeFailBytes = DefaultFreeFailBytes
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &doctor{o: o, log: log}
}

// add appends a check and returns it, so that its Chinese text can be given
// where it is made: d.fail(name, en, fixEn).zh(zh, fixZh).
func (d *doctor) add(name, status, detail, fix string) *Check {
	d.checks = append(d.checks, Check{Name: name, Status: status, Detail: detail, Fix: fix})
	d.log.Info("doctor check", "check", name, "status", status, "detail", detail)
	return &d.checks[len(d.checks)-1]
}

func (d *doctor) ok(name, detail string) *Check        { return d.add(name, CheckOK, detail, "") }
func (d *doctor) warn(name, detail, fix string) *Check { return d.add(name, CheckWarn, detail, fix) }
func (d *doctor) fail(name, detail, fix string) *Check { return d.add(name, CheckFail, detail, fix) }

// configuration loads (or validates) the configuration and returns what the
// other checks go on with: the configuration as far as it could be read, or the
// defaults when the file could not be read at all.
func (d *doctor) configuration(cfg *config.Config) *config.Config {
	const name = "configuration"
	path := d.o.ConfigPath
	var err error
	if cfg == nil {
		cfg, err = config.Load(path, d.o.Getenv)
	} else {
		path = cfg.Path
		err = cfg.Validate()
	}
	var verr *config.ValidationError
	switch {
	case cfg == nil:
		d.fail(name, fmt.Sprintf("cannot read %s: %v; going on with the defaults and SETTLE_AGENT_* variables", path, unwrapPathErr(err)),
			fmt.Sprintf("write one with 'settle-agent config example > %s', edit it, or pass --config FILE", path)).
			zh(fmt.Sprintf("无法读取 %s：%v；以下按默认值和 SETTLE_AGENT_* 环境变量继续检查", path, unwrapPathErr(err)),
				fmt.Sprintf("用 'settle-agent config example > %s' 生成一份并修改，或用 --config FILE 指定配置文件", path))
		// An empty document still takes the environment's overrides; its own
		// problems (a hospital code is required, ...) are not this file's.
		cfg, _ = config.Parse(nil, path, d.o.Getenv)
		if cfg == nil {
			cfg = config.Default()
		}
		cfg.Path = path
		return cfg
	case errors.As(err, &verr):
		n := len(verr.Problems)
		d.fail(name, fmt.Sprintf("%s: %d problem%s (listed below); going on with what could be read", path, n, plural(n)),
			fmt.Sprintf("fix each, then 'settle-agent config check %s'", path)).
			zh(fmt.Sprintf("%s：%d 处问题（见下）；以下按能读出的部分继续检查", path, n),
				fmt.Sprintf("逐条改正后运行 'settle-agent config check %s'", path))
		for _, line := range verr.Lines() {
			d.fail(name, line, "")
		}
	case err != nil:
		d.fail(name, fmt.Sprintf("%s: %v", path, err), fmt.Sprintf("fix it, then 'settle-agent config check %s'", path)).
			zh(fmt.Sprintf("配置 %s 有误：%v", path, err), fmt.Sprintf("改正后运行 'settle-agent config check %s'", path))
	default:
		d.ok(name, fmt.Sprintf("%s: %d window%s, platform %s, api %s, store %s",
			displayPath(path), len(cfg.Windows), plural(len(cfg.Windows)), cfg.Platform.BaseURL, cfg.API.Listen, cfg.Store.Dir)).
			zh(fmt.Sprintf("%s：%d 个窗口，医保平台 %s，API %s，数据目录 %s",
				displayPathZh(path), len(cfg.Windows), cfg.Platform.BaseURL, cfg.API.Listen, cfg.Store.Dir), "")
	}
	if path != "" {
		for _, w := range config.PermissionWarnings(path) {
			d.warn(name, w, "")
		}
	}
	return cfg
}

func displayPath(p string) string {
	if p == "" {
		return "(configuration in memory)"
	}
	return p
}

func displayPathZh(p string) string {
	if p == "" {
		return "（内存中的配置）"
	}
	return p
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// unwrapPathErr is a read error without "read configuration: open PATH:" repeated.
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
